package session

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzSignedCookie feeds arbitrary session cookies to the middleware: a
// value that is not the one valid cookie must give a fresh, empty session,
// never a panic or an error status.
func FuzzSignedCookie(f *testing.F) {
	m := newTestManager(f, Options{})
	valid := newClient(f, m, app)
	valid.get("/set?v=secret")
	f.Add(valid.cookie)
	f.Add(valid.cookie[:len(valid.cookie)-1])
	f.Add("")
	f.Add(`"quoted"`)
	f.Add("MTcwMDAwMDAwMHxhYmN8ZGVm")
	h := m.Handler(http.HandlerFunc(app))
	f.Fuzz(func(t *testing.T, v string) {
		req := httptest.NewRequest(http.MethodGet, "/get", nil)
		req.Header["Cookie"] = []string{m.CookieName() + "=" + v}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for cookie %q", rec.Code, v)
		}
		if body := rec.Body.String(); body != "" && v != valid.cookie && v != `"`+valid.cookie+`"` {
			t.Fatalf("cookie %q read the session: %q", v, body)
		}
	})
}

// FuzzCookieStoreOpen feeds arbitrary envelopes to the cookie store.
func FuzzCookieStoreOpen(f *testing.F) {
	cs := newCookieStore(f, CookieStoreOptions{})
	clk := newClock()
	rec := Record{UserID: "u", Created: clk.Now(), Expires: clk.Now().Add(1e9), LastSeen: clk.Now(), Values: mapRaw{"a": []byte(`"b"`)}}
	sealed, err := cs.seal("c", &rec)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(sealed[:40])
	f.Add("AQAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		got, err := cs.open("c", v)
		if err != nil {
			return
		}
		// Only envelopes this store sealed open (the seed may come from
		// another fuzz worker, sealed with another nonce): anything that
		// opens must carry exactly the sealed record.
		if got.UserID != "u" || string(got.Values["a"]) != `"b"` || len(got.Values) != 1 {
			t.Fatalf("forged envelope %q opened: %+v", v, got)
		}
	})
}

// FuzzRecord feeds arbitrary bytes to the record decoder stores use.
func FuzzRecord(f *testing.F) {
	f.Add([]byte(`{"u":"x","c":1,"e":2,"l":1,"v":{"a":1,"b":"s"}}`))
	f.Add([]byte(`{"c":5,"e":4}`))
	f.Add([]byte(`{"c":1,"e":2,"v":{"a":}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Record
		if r.UnmarshalBinary(b) != nil {
			return
		}
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		var r2 Record
		if err := r2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v (%s)", err, again)
		}
		if r2.UserID != r.UserID || !r2.Created.Equal(r.Created) || len(r2.Values) != len(r.Values) {
			t.Fatalf("round trip changed the record: %+v vs %+v", r, r2)
		}
	})
}

// FuzzCSRFToken checks that only real masked tokens of the session pass.
func FuzzCSRFToken(f *testing.F) {
	m := newTestManager(f, Options{})
	s := &Session{m: m, r: httptest.NewRequest("GET", "/", nil), ctx: context.Background()}
	tok, err := s.CSRFToken()
	if err != nil {
		f.Fatal(err)
	}
	secret := s.csrfSecret()
	f.Add(tok)
	f.Add(tok[:10])
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		if !s.checkCSRF(v) {
			return
		}
		raw := make([]byte, 64)
		n, _ := decodeToken(v, raw)
		if n != 64 {
			t.Fatalf("token %q of the wrong size passed", v)
		}
		for i := range 32 {
			if raw[i]^raw[32+i] != secret[i] {
				t.Fatalf("token %q does not unmask to the secret but passed", v)
			}
		}
	})
}

// FuzzCookieHeader checks the allocation-free Cookie header scan against
// net/http's parser.
func FuzzCookieHeader(f *testing.F) {
	f.Add("a=1; __Host-session=abc; b=2")
	f.Add("__Host-session=\"q\"")
	f.Add(";;__Host-session=;")
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["Cookie"] = []string{header}
		got, ok := cookieValue(req, DefaultCookieName)
		if !ok {
			return
		}
		if got == "" || len(got) > maxCookieValue || !bytes.Contains([]byte(header), []byte(got)) {
			t.Fatalf("cookieValue(%q) = %q", header, got)
		}
	})
}

// FuzzGetString checks the fast path of Get[string] against encoding/json.
func FuzzGetString(f *testing.F) {
	f.Add([]byte(`"plain"`))
	f.Add([]byte(`"esc\"aped"`))
	f.Add([]byte(`"\u00e9"`))
	f.Add([]byte(`12`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := convert[string](json.RawMessage(raw))
		var want string
		err := json.Unmarshal(raw, &want)
		if ok != (err == nil) || (ok && got != want) {
			t.Fatalf("Get[string](%q) = %q, %v; encoding/json: %q, %v", raw, got, ok, want, err)
		}
	})
}
