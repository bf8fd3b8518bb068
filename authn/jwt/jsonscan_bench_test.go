package jwt

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/go-json-experiment/json/jsontext"
	gojwt "github.com/golang-jwt/jwt/v5"
)

// claimsWithJSONText reads a payload as parseClaims does, but through
// go-json-experiment's jsontext decoder (which refuses exact duplicate
// names itself; letter-case duplicates still need the folded set). It
// exists to price the hand-written scanner: see BenchmarkPayloadScan.
func claimsWithJSONText(b []byte, c *authn.Claims, dates *[3]gojwt.NumericDate) error {
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsontext.AllowInvalidUTF8(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return errJSON
	}
	seen := make(map[string]struct{}, 16)
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String() // before the next read voids tok
		folded := foldName([]byte(name))
		if _, dup := seen[folded]; dup {
			return errDuplicateClaim
		}
		seen[folded] = struct{}{}
		val, err := dec.ReadValue()
		if err != nil {
			return err
		}
		// The same claim decoding as the scanner's, so only the reading
		// differs.
		err = setClaim(c, dates, []byte(name), val)
		if err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return errJSON
	}
	return nil
}

// BenchmarkPayloadScan prices the hand-written scanner against jsontext on
// a typical access token's payload; compare both with BenchmarkVerify's
// cold rows to see what share of a verification the difference is.
func BenchmarkPayloadScan(b *testing.B) {
	payload := []byte(`{"iss":"https://auth.test","sub":"user-1","aud":["api"],"exp":1900000000,"iat":1700000000,"roles":["editor","reader"],"scope":"notes:read notes:write","jti":"a1b2c3"}`)
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c authn.Claims
			var d [3]gojwt.NumericDate
			if err := parseClaims(payload, &c, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsontext", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c authn.Claims
			var d [3]gojwt.NumericDate
			if err := claimsWithJSONText(payload, &c, &d); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPayloadScanShare runs a cold HS256 verification, the scanner and
// the jsontext reader on the same token in alternating blocks, and reports
// each one's median time and the share of the verification that replacing
// the scanner with jsontext would add ("jsontext-extra/verify"). Medians of
// back-to-back blocks keep a loaded machine from deciding the result.
func BenchmarkPayloadScanShare(b *testing.B) {
	k := keys(b)
	v := newTestVerifier(b, func(o *VerifierOptions) { o.Now = time.Now; o.Type = "" })
	c := goodClaims()
	c["iat"], c["exp"] = time.Now().Unix(), time.Now().Add(time.Hour).Unix()
	tok := sign(b, gojwt.SigningMethodHS256, k.hmac, map[string]any{"kid": "hs1", "typ": "JWT"}, c)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ops := [3]func(){
		func() {
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			var c authn.Claims
			var d [3]gojwt.NumericDate
			if err := parseClaims(payload, &c, &d); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			var c authn.Claims
			var d [3]gojwt.NumericDate
			if err := claimsWithJSONText(payload, &c, &d); err != nil {
				b.Fatal(err)
			}
		},
	}
	const block = 8
	var times [3][]time.Duration
	b.ReportAllocs()
	for b.Loop() {
		for i, op := range ops {
			start := time.Now()
			for range block {
				op()
			}
			times[i] = append(times[i], time.Since(start))
		}
	}
	var med [3]float64
	for i := range times {
		slices.Sort(times[i])
		med[i] = float64(times[i][len(times[i])/2].Nanoseconds()) / block
	}
	b.ReportMetric(med[0], "verify-ns/op")
	b.ReportMetric(med[1], "scanner-ns/op")
	b.ReportMetric(med[2], "jsontext-ns/op")
	b.ReportMetric((med[2]-med[1])/med[0], "jsontext-extra/verify")
}
