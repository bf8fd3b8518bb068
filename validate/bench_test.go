package validate

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-json-experiment/json"
)

type benchSignup struct {
	Name    string  `json:"name" validate:"required,min=2,max=64"`
	Email   string  `json:"email" validate:"required,email"`
	Age     int     `json:"age" validate:"gte=0,lte=150"`
	Country string  `json:"country" validate:"required,len=2"`
	Active  bool    `json:"active"`
	Score   float64 `json:"score" validate:"gte=0,lte=100"`
}

var benchBody = []byte(`{"name":"Ada Lovelace","email":"ada@example.com","age":36,"country":"GB","active":true,"score":97.5}`)

// reusableBody is a request body that can be rewound without allocating.
type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

func benchRequest(body []byte) (*http.Request, *reusableBody) {
	rb := &reusableBody{}
	rb.Reset(body)
	r := httptest.NewRequest(http.MethodPost, "/signup", nil)
	r.Header.Set("Content-Type", "application/json")
	r.Body = rb
	r.ContentLength = int64(len(body))
	return r, rb
}

func BenchmarkBodyBind(b *testing.B) {
	bb, err := NewBody[benchSignup](nil, BodyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r, rb := benchRequest(benchBody)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(benchBody)
		if _, err := bb.Bind(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBodyHandler(b *testing.B) {
	bb, err := NewBody[benchSignup](nil, BodyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h := bb.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r, rb := benchRequest(benchBody)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(benchBody)
		h.ServeHTTP(w, r)
	}
}

func BenchmarkBodyInvalid(b *testing.B) {
	bb, err := NewBody[benchSignup](nil, BodyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"name":"A","email":"nope","age":-1,"country":"GBR","active":true,"score":101}`)
	r, rb := benchRequest(body)
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(body)
		if _, err := bb.Bind(nil, r); err == nil {
			b.Fatal("accepted an invalid body")
		}
	}
}

type benchList struct {
	Limit int      `query:"limit" validate:"omitempty,min=1,max=100"`
	Sort  string   `query:"sort" validate:"omitempty,oneof=created_at -created_at"`
	Tags  []string `query:"tag" validate:"max=5"`
}

func BenchmarkQueryBind(b *testing.B) {
	q, err := NewQuery[benchList](nil, QueryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/notes?limit=10&sort=-created_at&tag=go&tag=web", nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Bind(r); err != nil {
			b.Fatal(err)
		}
	}
}

type benchPath struct {
	Org string `path:"org" validate:"required"`
	ID  int64  `path:"id" validate:"gt=0"`
}

func BenchmarkPathBind(b *testing.B) {
	p, err := NewPath[benchPath](nil, PathOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/orgs/acme/notes/42", nil)
	r.SetPathValue("org", "acme")
	r.SetPathValue("id", "42")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Bind(r); err != nil {
			b.Fatal(err)
		}
	}
}

type benchPlain struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	Age     int     `json:"age"`
	Country string  `json:"country"`
	Active  bool    `json:"active"`
	Score   float64 `json:"score"`
}

// BenchmarkDecodeStrict times the strict decoder alone on a type that
// bounds its own shape: media type, cap, unknown members refused.
func BenchmarkDecodeStrict(b *testing.B) {
	r, rb := benchRequest(benchBody)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(benchBody)
		var s benchPlain
		if err := decodeJSON(w, r, &s, &limits{maxBytes: DefaultMaxBytes, maxDepth: DefaultMaxDepth, maxElems: DefaultMaxElements, wantObject: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeLenient is the same decoder with no checks of its own,
// the floor BenchmarkDecodeStrict compares with.
func BenchmarkDecodeLenient(b *testing.B) {
	r, rb := benchRequest(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(benchBody)
		var s benchPlain
		if err := json.UnmarshalRead(r.Body, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeStrictScan forces the depth and element scan that types
// with slices, maps or interfaces need.
func BenchmarkDecodeStrictScan(b *testing.B) {
	r, rb := benchRequest(benchBody)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(benchBody)
		var s benchPlain
		if err := decodeJSON(w, r, &s, &limits{maxBytes: DefaultMaxBytes, maxDepth: DefaultMaxDepth, maxElems: DefaultMaxElements, scan: true, wantObject: true}); err != nil {
			b.Fatal(err)
		}
	}
}
