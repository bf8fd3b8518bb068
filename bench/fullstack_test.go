package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

func stackRequest(b *testing.B) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/notes", nil)
	r.RemoteAddr = "203.0.113.7:40000"
	r.Header.Set("Origin", StackOrigin)
	r.Header.Set("Authorization", "Bearer "+StackToken())
	return r
}

// runStack serves the request with a fresh header map each time, as
// net/http does, and checks the stack let it through.
func runStack(b *testing.B, h http.Handler) {
	r := stackRequest(b)
	w := &statusWriter{h: make(http.Header, 16)}
	h.ServeHTTP(w, r)
	if w.status != http.StatusOK {
		b.Fatalf("the stack answered %d", w.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := accessLogCPU()
	n := 0
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
		n++
	}
	// CPU time per request (all threads, GC included): on a shared machine
	// it stays comparable between runs when wall time does not.
	b.ReportMetric(float64(accessLogCPU()-cpu0)/float64(n), "cpu-ns/op")
}

type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.h }
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *statusWriter) WriteHeader(s int) { w.status = s }

func covet(b *testing.B, cache bool) http.Handler {
	h, closeFn, err := CovetStack(cache, LogLines)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = closeFn() })
	return h
}

func BenchmarkFullStack_CovetCached(b *testing.B)   { runStack(b, covet(b, true)) }
func BenchmarkFullStack_CovetUncached(b *testing.B) { runStack(b, covet(b, false)) }
func BenchmarkFullStack_Peers(b *testing.B)         { runStack(b, PeerStack(io.Discard)) }

// The cached stack with the tracing stage outermost: with no tracer
// provider set (the global default) and with the API's no-op provider.
// BenchmarkFullStack_CovetCached is the same stack with tracing off.
func BenchmarkFullStack_CovetCachedTraced_NoProvider(b *testing.B) {
	runStack(b, traced(b, covet(b, true), nil))
}

func BenchmarkFullStack_CovetCachedTraced_Noop(b *testing.B) {
	runStack(b, traced(b, covet(b, true), tracenoop.NewTracerProvider()))
}

func traced(b *testing.B, h http.Handler, tp trace.TracerProvider) http.Handler {
	h, err := TracedStack(h, tp)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// runStackParallel is runStack on every P at once, as a server under load
// runs it: shared state (the rate limiter's bucket, the token cache) is
// contended as it would be.
func runStackParallel(b *testing.B, h http.Handler) {
	r := stackRequest(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &statusWriter{h: make(http.Header, 16)}
		for pb.Next() {
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, r)
		}
	})
}

func BenchmarkFullStackParallel_CovetCached(b *testing.B) { runStackParallel(b, covet(b, true)) }
func BenchmarkFullStackParallel_Peers(b *testing.B)       { runStackParallel(b, PeerStack(io.Discard)) }

// BenchmarkFullStack_Paired reports the covet/peer time ratios of the two
// full stacks measured in alternating blocks (see pairTimer), so a busy
// machine moves both sides of a ratio alike.
func BenchmarkFullStack_Paired(b *testing.B) {
	peers := PeerStack(io.Discard)
	for _, cache := range []bool{true, false} {
		name, label := "cached-vs-peers", "covet-cached"
		if !cache {
			name, label = "uncached-vs-peers", "covet-uncached"
		}
		b.Run(name, func(b *testing.B) {
			h := covet(b, cache)
			r := stackRequest(b)
			w := &statusWriter{h: make(http.Header, 16)}
			serve := func(h http.Handler) func() {
				return func() {
					clear(w.h)
					w.status = 0
					h.ServeHTTP(w, r)
					if w.status != http.StatusOK {
						b.Fatalf("the stack answered %d", w.status)
					}
				}
			}
			pairTimer(b, 16, [2]string{label, "peers"}, [2]func(){serve(h), serve(peers)})
		})
	}
}
