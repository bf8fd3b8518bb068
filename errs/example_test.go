package errs_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
)

// A handler that returns errors, mounted behind RequestID and Recover.
func Example() {
	var notFound = errs.New(errs.KindNotFound, "note_not_found", "No note has this ID.")
	notes := errs.Handle(func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Query().Get("id") != "1" {
			return notFound.WithPublic("id", r.URL.Query().Get("id"))
		}
		_, err := w.Write([]byte("note 1"))
		return err
	})
	// The gateway (192.0.2.0/24) sets X-Request-ID; the stage keeps it.
	ids, err := observe.NewRequestID(observe.RequestIDOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if err != nil {
		panic(err)
	}
	h := ids.Handler(errs.Recover(notes))

	req := httptest.NewRequest(http.MethodGet, "/notes?id=7", nil)
	req.Header.Set("X-Request-ID", "req-42")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Body.String())
	// Output:
	// 404 application/problem+json
	// {"type":"about:blank","title":"Not Found","status":404,"detail":"No note has this ID.","instance":"/notes","code":"note_not_found","correlation_id":"req-42","context":{"id":"7"}}
}

// Handle returns an http.HandlerFunc, so an error-returning handler goes
// straight into chi's r.Get and r.Post, and into http.ServeMux.HandleFunc.
func ExampleHandle() {
	getNote := func(w http.ResponseWriter, r *http.Request) error {
		return errs.New(errs.KindNotFound, "note_not_found", "No note has this ID.")
	}

	r := chi.NewRouter()
	r.Get("/notes/{id}", errs.Handle(getNote))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /notes/{id}", errs.Handle(getNote))

	for _, h := range []http.Handler{r, mux} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/notes/7", nil))
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 404 application/problem+json
	// 404 application/problem+json
}

// Each application builds its own Renderer and mounts it with Handler: the
// handlers below it render in its mode and log to its loggers, whatever the
// package default is.
func ExampleRenderer_Handler() {
	rd, err := errs.NewRenderer(errs.Options{Mode: errs.Development, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	h := rd.Handler(errs.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return errs.New(errs.KindNotFound, "note_not_found", "No note has this ID.").With("id", 7)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/notes/7", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 404 {"type":"about:blank","title":"Not Found","status":404,"detail":"No note has this ID.","instance":"/notes/7","code":"note_not_found","context":{"id":7}}
}

// A stage that saves state as the response starts replaces the handler's
// answer when the save fails: the cookie and redirect meant for that answer
// do not go out with the problem, the outer stages' headers do.
func ExampleReplace() {
	save := func() error {
		return errs.New(errs.KindServiceUnavailable, "store_unavailable", "The store is unavailable.")
	}
	handler := func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "step", Value: "2"})
		w.Header().Set("Location", "/wizard/2")
		if err := save(); err != nil {
			errs.Replace(w, r, err)
			return
		}
		w.WriteHeader(http.StatusSeeOther)
	}
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Content-Type-Options", "nosniff") // an outer stage's
	handler(rec, httptest.NewRequest(http.MethodPost, "/wizard/1", nil))
	fmt.Println(rec.Code, rec.Header().Get("Set-Cookie") == "", rec.Header().Get("Location") == "", rec.Header().Get("X-Content-Type-Options"))
	// Output: 503 true true nosniff
}
