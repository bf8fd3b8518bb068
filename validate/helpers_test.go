package validate

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-playground/validator/v10"

	"github.com/covetgo/covet/errs"
)

// problem is the part of a problem+json response the tests look at.
type problem struct {
	Status  int               `json:"status"`
	Code    string            `json:"code"`
	Detail  string            `json:"detail"`
	Errors  []errs.FieldError `json:"errors"`
	Context map[string]any    `json:"context"`
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

var slugRule = Rule{
	Tag:     "slug",
	Func:    func(fl validator.FieldLevel) bool { return slugRE.MatchString(fl.Field().String()) },
	Message: "{field} must be a slug (lowercase letters, digits and dashes)",
}

func newTestValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := New(Options{Rules: []Rule{slugRule}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// serve runs h on a request and decodes the problem, if any.
func serve(t testing.TB, h http.Handler, r *http.Request) (*httptest.ResponseRecorder, problem) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var p problem
	if w.Code >= 400 {
		if ct := w.Header().Get("Content-Type"); ct != errs.ContentType {
			t.Fatalf("status %d with Content-Type %q, body %s", w.Code, ct, w.Body)
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			t.Fatalf("problem body %q: %v", w.Body, err)
		}
	}
	return w, p
}

func jsonRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// unsized hides the length of a body, as a chunked upload would.
type unsized struct{ io.Reader }

func (unsized) Close() error { return nil }

// findField returns the field error for field, or fails.
func findField(t *testing.T, p problem, field string) errs.FieldError {
	t.Helper()
	for _, f := range p.Errors {
		if f.Field == field {
			return f
		}
	}
	t.Fatalf("no field error for %q in %+v", field, p.Errors)
	return errs.FieldError{}
}

func contextWithChi(r *http.Request, rctx *chi.Context) context.Context {
	return context.WithValue(r.Context(), chi.RouteCtxKey, rctx)
}
