package validate

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/errs"
)

// FuzzBody feeds arbitrary bytes and Content-Types to the body binder: the
// answer must always be a success or a 4xx problem, never a panic or a 5xx.
func FuzzBody(f *testing.F) {
	for _, s := range []string{
		goodOrder, `{}`, `null`, `[]`, `{"age":-1}`, `{"items":[{"name":"a","qty":1e999}]}`,
		`{"customer":"a","customer":"b"}`, "{\"note\":\"\xff\"}", `{"extra":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		`{"tags":{"a/~":"b"}}`, `{"address":{"zip":"1"}} {}`, `{"extra":{"\u0000":"\ud800"}}`, `"\`,
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`[{"street":"s","zip":"12345"}]`), "application/json")
	f.Add([]byte(`[{"street":[[[[]]]]}]`), "application/json")
	f.Add([]byte(goodOrder), "text/plain")
	f.Add([]byte(goodOrder), "application/x+json; charset=\"utf-8\"")
	v, err := New(Options{Rules: []Rule{slugRule}})
	if err != nil {
		f.Fatal(err)
	}
	b, err := NewBody[createOrder](v, BodyOptions{MaxBytes: 4096, MaxDepth: 16})
	if err != nil {
		f.Fatal(err)
	}
	// createOrder has an any field, so its bodies get the depth scan;
	// []address is bounded by its shape and decodes without it.
	bounded, err := NewBody[[]address](v, BodyOptions{MaxBytes: 4096, MaxDepth: 16})
	if err != nil {
		f.Fatal(err)
	}
	handlers := []http.Handler{orderHandler(b), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := bounded.Bind(w, r); err != nil {
			errs.Write(w, r, err)
		}
	})}
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		for _, h := range handlers {
			r := httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(body))
			r.Header.Set("Content-Type", ct)
			if len(body)%2 == 1 {
				r.ContentLength = -1
				r.Body = unsized{bytes.NewReader(body)}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 || (w.Code >= 300 && w.Code < 400) {
				t.Fatalf("status %d for %q (%s): %s", w.Code, body, ct, w.Body)
			}
			if w.Code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
				t.Fatalf("status %d without problem+json", w.Code)
			}
		}
	})
}

// FuzzQuery does the same for the query binder.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"limit=10&sort=-created_at", "tag=a&tag=bb", "since=2026-01-02T03:04:05Z", "%zz", "a;b", "page=%ff", "score=1e309"} {
		f.Add(s)
	}
	q, err := NewQuery[listQuery](nil, QueryOptions{})
	if err != nil {
		f.Fatal(err)
	}
	h := queryHandler(q)
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.RawQuery = raw
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, raw, w.Body)
		}
	})
}
