package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/covetgo/covet/authn"
	gojwt "github.com/golang-jwt/jwt/v5"
)

func FuzzVerify(f *testing.F) {
	k := keys(f)
	v := newTestVerifier(f, nil)
	valid := sign(f, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), goodClaims())
	f.Add(valid)
	f.Add(sign(f, gojwt.SigningMethodHS256, k.hmac, hdr("kid", "hs1"), goodClaims()))
	f.Add(b64(`{"alg":"none"}`) + "." + b64(`{"sub":"x"}`) + ".")
	f.Add(b64(`{"alg":"HS256","kid":"hs1","typ":"at+jwt"}`) + "." + b64(`{"exp":1,"exp":2}`) + ".sig")
	f.Add("a.b.c")
	f.Add(strings.Repeat(".", 100))
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(context.Background(), tok)
		if err == nil {
			// Only a correctly signed token can pass; the fuzzer cannot
			// forge one, so anything accepted must be the seed itself.
			if p.Subject != "user-1" {
				t.Fatalf("accepted %q as %+v", tok, p)
			}
			return
		}
		if !errors.Is(err, authn.ErrInvalidToken) || authn.Reason(err) == "" {
			t.Fatalf("error %v (reason %q)", err, authn.Reason(err))
		}
	})
}

// FuzzParseClaims holds the claims parser to encoding/json: it accepts
// exactly the JSON objects json.Valid accepts, and never accepts one in
// which encoding/json's tokenizer sees a name twice in any letter case,
// nor calls one without such a name a duplicate.
func FuzzParseClaims(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":2}`, `{"a":1,"a":2}`, `{"\u0061":1,"a":2}`, `{"a":{"a":1},"b":[1,"]"]}`, `{}`, `{"exp":"1"}`, `{ "x" : [ {"y":"\"}"} ] , "x":0}`,
		`{"iss":"https://auth.test","sub":"u","aud":["api","x"],"exp":1e3,"nbf":-1,"iat":1.5,"scope":"a b","roles":["r"],"client_id":"c","sid":"s"}`, `{"sid":1}`, `{"a":1,}`, `{"a":01}`, `{"a":"\x"}`, `{"a":tru}`, `{"a":1} x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkPayload(b)
		if !json.Valid(b) {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q", b)
			}
			return
		}
		names, ok := topLevelNames(b)
		if !ok || nesting(b) > maxJSONDepth {
			return // not an object, or deeper than a token may be
		}
		if errors.Is(err, errJSON) {
			t.Fatalf("valid JSON %q refused as malformed", b)
		}
		// encoding/json matches names to fields ignoring case, so names
		// equal under Unicode case folding are the same claim.
		dup := false
		for i := range names {
			for _, prev := range names[:i] {
				dup = dup || strings.EqualFold(prev, names[i])
			}
		}
		// A duplicate must be refused (a member before it may already have
		// been refused for its value); no other object as a duplicate.
		if dup && err == nil || !dup && errors.Is(err, errDuplicateClaim) {
			t.Fatalf("names %q: duplicate=%v but parseClaims = %v", names, dup, err)
		}
	})
}

// FuzzScanValue holds the value scanner to json.Valid.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{`1`, `-0.5e+7`, `"a\u00e9\n"`, `[1,[2,{"a":null}]]`, `{"a":true,"b":false}`, `01`, `1.`, `"\u12"`, "\"\x01\"", `[1,]`, `{"a" 1}`, ` [] `, `nul`, `-`, `1e`, `{"a":1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end := scanValue(b, skipWS(b, 0), 0)
		ours := end >= 0 && skipWS(b, end) == len(b)
		if nesting(b) > maxJSONDepth {
			if ours {
				t.Fatalf("accepted %q, nested deeper than %d", b, maxJSONDepth)
			}
			return
		}
		if ours != json.Valid(b) {
			t.Fatalf("%q: scanValue says %v, json.Valid %v", b, ours, json.Valid(b))
		}
	})
}

// nesting returns an upper bound of b's nesting depth: every bracket,
// quoted or not, counts.
func nesting(b []byte) int {
	return bytes.Count(b, []byte("[")) + bytes.Count(b, []byte("{"))
}

// topLevelNames lists the member names of the JSON object b with
// encoding/json's tokenizer, the oracle for parseClaims.
func topLevelNames(b []byte) ([]string, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, false
		}
	}
	return names, true
}

func FuzzParseJWKSet(f *testing.F) {
	k := keys(f)
	j, _ := PublicJWK(Key{ID: "e", Algorithm: "ES256", Key: &k.ec.PublicKey})
	f.Add([]byte(`{"keys":[` + mustJSON(j) + `]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AA","kid":"x"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseJWKSet(b)
		if err != nil {
			return
		}
		for id, key := range keys {
			if id == "" || key.ID != id || checkKey(key) != nil {
				t.Fatalf("unusable key accepted: %+v", key)
			}
		}
	})
}
