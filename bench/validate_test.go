package bench

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-playground/validator/v10"

	"github.com/covetgo/covet/validate"
)

// validateSignup is the 6-field body both sides decode and check.
type validateSignup struct {
	Name    string  `json:"name" validate:"required,min=2,max=64"`
	Email   string  `json:"email" validate:"required,email"`
	Age     int     `json:"age" validate:"gte=0,lte=150"`
	Country string  `json:"country" validate:"required,len=2"`
	Active  bool    `json:"active"`
	Score   float64 `json:"score" validate:"gte=0,lte=100"`
}

var validateBody = []byte(`{"name":"Ada Lovelace","email":"ada@example.com","age":36,"country":"GB","active":true,"score":97.5}`)

// validateReqBody is a request body rewound between iterations without
// allocating, so both sides pay the same harness cost.
type validateReqBody struct{ bytes.Reader }

func (*validateReqBody) Close() error { return nil }

func validateRequest() (*http.Request, *validateReqBody) {
	rb := &validateReqBody{}
	rb.Reset(validateBody)
	r := httptest.NewRequest(http.MethodPost, "/signup", nil)
	r.Header.Set("Content-Type", "application/json")
	r.Body = rb
	r.ContentLength = int64(len(validateBody))
	return r, rb
}

// BenchmarkValidate_HandDecoder is the baseline: encoding/json's Decoder
// and validator.Struct called by hand, no limits and no strictness.
func BenchmarkValidate_HandDecoder(b *testing.B) {
	v := validator.New(validator.WithRequiredStructEnabled())
	r, rb := validateRequest()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(validateBody)
		var s validateSignup
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			b.Fatal(err)
		}
		if err := v.Struct(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate_HandDecoderStrict adds what encoding/json can do for
// strictness by hand: a size cap, unknown fields refused, trailing data
// checked. It still accepts duplicate names and invalid UTF-8.
func BenchmarkValidate_HandDecoderStrict(b *testing.B) {
	v := validator.New(validator.WithRequiredStructEnabled())
	r, rb := validateRequest()
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(validateBody)
		var s validateSignup
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			b.Fatal(err)
		}
		if dec.More() {
			b.Fatal("trailing data")
		}
		if err := v.Struct(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate_Bind is validate.Body.Bind: media type check, 1 MiB
// cap, strict json v2 decoding with a depth limit, validation.
func BenchmarkValidate_Bind(b *testing.B) { benchBind[validateSignup](b) }

// benchBind times validate.Body[T].Bind on validateBody.
func benchBind[T any](b *testing.B) {
	body, err := validate.NewBody[T](nil, validate.BodyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	r, rb := validateRequest()
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(validateBody)
		if _, err := body.Bind(w, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate_Handler is the middleware form: Bind plus storing the
// value in the request context.
func BenchmarkValidate_Handler(b *testing.B) {
	body, err := validate.NewBody[validateSignup](nil, validate.BodyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	h := body.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r, rb := validateRequest()
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(validateBody)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkValidate_HandJSONv2 is the same hand-written pair on
// go-json-experiment/json with default (lenient about unknown members)
// options: the floor validate.Body's strictness adds to.
func BenchmarkValidate_HandJSONv2(b *testing.B) {
	v := validator.New(validator.WithRequiredStructEnabled())
	r, rb := validateRequest()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(validateBody)
		var s validateSignup
		if err := jsonv2.UnmarshalRead(r.Body, &s); err != nil {
			b.Fatal(err)
		}
		if err := v.Struct(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// validatePlain is validateSignup without rules, to time decoding alone.
type validatePlain struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	Age     int     `json:"age"`
	Country string  `json:"country"`
	Active  bool    `json:"active"`
	Score   float64 `json:"score"`
}

// BenchmarkValidate_DecodeOnlyStdlib times encoding/json's Decoder alone.
func BenchmarkValidate_DecodeOnlyStdlib(b *testing.B) {
	r, rb := validateRequest()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(validateBody)
		var s validatePlain
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate_DecodeOnlyJSONv2 times go-json-experiment/json alone.
func BenchmarkValidate_DecodeOnlyJSONv2(b *testing.B) {
	r, rb := validateRequest()
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(validateBody)
		var s validatePlain
		if err := jsonv2.UnmarshalRead(r.Body, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate_DecodeOnlyBind times validate.Body on a type without
// rules: media type, cap, strict decoding, depth scan, and validator/v10
// walking six fields that have nothing to check.
func BenchmarkValidate_DecodeOnlyBind(b *testing.B) { benchBind[validatePlain](b) }
