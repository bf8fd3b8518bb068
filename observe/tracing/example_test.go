package tracing_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/propagation"

	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/observe/tracing"
)

func Example() {
	// A real program passes an SDK tracer provider (or sets the global one
	// with otel.SetTracerProvider); this one records spans for the example.
	provider := &recorder{}
	t, err := tracing.New(tracing.Options{
		TracerProvider: provider,
		Propagators:    propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Use(t.Handler, observe.RequestID)
	r.Get("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "note")
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/notes/42", nil))

	span := provider.ended()[0]
	fmt.Println(span.name)
	fmt.Println(w.Header().Get("X-Request-ID") == span.sc.TraceID().String())
	// Output:
	// GET /notes/{id}
	// true
}
