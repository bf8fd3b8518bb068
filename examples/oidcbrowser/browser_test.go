package oidcbrowser

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/covetgo/covet/examples/internal/headless"
	"github.com/covetgo/covet/internal/redirect/redirecttest"
	"github.com/covetgo/covet/observe/tracing"
)

// TestOIDCReturnToBrowser lets headless Chromium follow an application's
// redirect to each distinct Location the OIDC login answers with, in
// batches of iframes: each frame must end on the application's origin (a
// frame that went elsewhere is cross-origin, and reading its location
// throws). Every other host name resolves to a second server that counts
// its visitors.
func TestOIDCReturnToBrowser(t *testing.T) {
	exe := headless.Chromium(t)
	raw, err := os.ReadFile("../../authn/oidc/testdata/oidc_return_locations.json")
	if err != nil {
		t.Fatal(err)
	}
	var pinned []struct {
		From     string `json:"from"`
		Location string `json:"location"`
	}
	if err := json.Unmarshal(raw, &pinned); err != nil {
		t.Fatal(err)
	}
	if len(pinned) < 2 {
		t.Fatalf("only %d pinned locations", len(pinned))
	}
	var rets, from []string
	for _, p := range pinned {
		rets, from = append(rets, p.Location), append(from, p.From)
	}

	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	evilLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var evilHits atomic.Int32
	evil := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Host, redirecttest.EvilHost) {
			evilHits.Add(1)
		}
		_, _ = w.Write([]byte("<!doctype html><title>evil</title>"))
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = evil.Serve(evilLn) }()
	t.Cleanup(func() { _ = evil.Close() })

	// The application: /cb?i=N redirects to where the login that started
	// with corpus[N] as its return path says to go, as an application
	// would after Callback.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cb", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.URL.Query().Get("i"))
		if err != nil || i < 0 || i >= len(rets) {
			http.Error(w, "bad index", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, rets[i], http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>app</title>"))
	})
	// The application runs with tracing on, as a deployment would.
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	traced, err := tracing.New(tracing.Options{TracerProvider: tp, Propagators: propagation.TraceContext{}})
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{Handler: traced.Handler(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = app.Serve(appLn) }()
	t.Cleanup(func() { _ = app.Close() })

	_, appPort, _ := net.SplitHostPort(appLn.Addr().String())
	appOrigin := "http://app.test:" + appPort
	opts := headless.Options(t, exe,
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP app.test "+appLn.Addr().String()+", MAP * "+evilLn.Addr().String()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	defer cancelTimeout()
	if err := chromedp.Do(ctx, chromedp.Navigate(appOrigin+"/")); err != nil {
		t.Fatalf("start the browser: %v", err)
	}

	// frames loads /cb?i=from..to-1 in iframes and returns, per frame,
	// its final URL, or "cross-origin" when the frame left the origin.
	const frames = `(async (from, to) => {
  const loads = [];
  const els = [];
  for (let i = from; i < to; i++) {
    const f = document.createElement("iframe");
    loads.push(new Promise(res => { f.onload = res; setTimeout(res, 20000); }));
    f.src = "/cb?i=" + i;
    document.body.appendChild(f);
    els.push(f);
  }
  await Promise.all(loads);
  const out = els.map(f => { try { return f.contentWindow.location.href; } catch (e) { return "cross-origin"; } });
  els.forEach(f => f.remove());
  return out;
})`
	const batch = 100
	for lo := 0; lo < len(rets); lo += batch {
		hi := min(lo+batch, len(rets))
		locs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](frames+"("+strconv.Itoa(lo)+","+strconv.Itoa(hi)+")",
			chromedp.EvalAwaitPromise))
		if err != nil || len(locs) != hi-lo {
			t.Fatalf("frames %d..%d: %v (%d results)", lo, hi, err, len(locs))
		}
		for k, loc := range locs {
			i := lo + k
			if !strings.HasPrefix(loc, appOrigin+"/") {
				t.Errorf("return path %q (Location %q): the browser ended on %q", from[i], rets[i], loc)
			}
		}
	}
	if n := evilHits.Load(); n != 0 {
		t.Errorf("%s received %d visits", redirecttest.EvilHost, n)
	}
	callbacks := 0
	for _, s := range spans.GetSpans() {
		if s.Name == "GET /cb" {
			callbacks++
		}
	}
	if callbacks < len(rets) {
		t.Errorf("%d server spans named GET /cb, want one per return path (%d)", callbacks, len(rets))
	}
	t.Logf("%d distinct return paths followed in Chromium", len(rets))
}
