package compress_test

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/compress"
	"github.com/covetgo/covet/errs"
)

var big = strings.Repeat("compressible text, again and again. ", 200)

func newStage(t *testing.T, o compress.Options) *compress.Stage {
	t.Helper()
	s, err := compress.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get sends a request accepting gzip only and returns the response with
// its body decoded when it was compressed.
func get(t *testing.T, h http.Handler) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]compress.Options{
		"negative MinSize":   {MinSize: -1},
		"level too high":     {Level: 10},
		"negative level":     {Level: -2},
		"empty content type": {ContentTypes: []string{"text/html", " "}},
	} {
		if _, err := compress.New(o); errs.KindOf(err) != errs.KindConfiguration {
			t.Errorf("%s: err = %v, want a configuration error", name, err)
		}
	}
}

func TestWhatIsCompressed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		opts       compress.Options
		handler    http.HandlerFunc
		compressed bool
	}{
		{"large text", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, big)
		}, true},
		{"a font", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "font/woff2")
			_, _ = io.WriteString(w, big)
		}, false},
		{"an SVG image", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/svg+xml")
			_, _ = io.WriteString(w, big)
		}, true},
		{"small text", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "short")
		}, false},
		{"an image", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = io.WriteString(w, big)
		}, false},
		{"sets a cookie", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "secret"})
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, big)
		}, false},
		{"no-store", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=0, No-Store")
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, big)
		}, false},
		{"private with fields", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", `private="Set-Cookie"`)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, big)
		}, false},
		{"skipped by the handler", compress.Options{}, func(w http.ResponseWriter, r *http.Request) {
			compress.Skip(w)
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, big)
		}, false},
		{"cookie, sensitive allowed", compress.Options{CompressSensitive: true}, func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, big)
		}, true},
		{"problem response", compress.Options{MinSize: 16}, func(w http.ResponseWriter, r *http.Request) {
			errs.Write(w, r, errs.New(errs.KindNotFound, "note_missing", strings.Repeat("No such note. ", 20)))
		}, false},
		{"type outside the list", compress.Options{ContentTypes: []string{"application/json"}}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, big)
		}, false},
		{"type on the list", compress.Options{ContentTypes: []string{"application/json"}}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `"`+big+`"`)
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, newStage(t, c.opts).Handler(c.handler))
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != c.compressed {
				t.Fatalf("compressed = %v, want %v (headers %v)", got, c.compressed, resp.Header)
			}
			if resp.Header.Get("No-Gzip-Compression") != "" {
				t.Fatal("the internal marker header reached the client")
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
				t.Fatalf("Vary %q", resp.Header.Get("Vary"))
			}
			if c.compressed && body != big && body != `"`+big+`"` {
				t.Fatalf("decoded body differs (%d bytes)", len(body))
			}
		})
	}
}

func TestCompressedRequestBodyIsNotDecoded(t *testing.T) {
	t.Parallel()
	var zipped strings.Builder
	zw := gzip.NewWriter(&zipped)
	_, _ = io.WriteString(zw, big)
	_ = zw.Close()
	var got []byte
	h := newStage(t, compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
	}))
	req := httptest.NewRequest("POST", "/", strings.NewReader(zipped.String()))
	req.Header.Set("Content-Encoding", "gzip")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if string(got) != zipped.String() || req.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("the stage decoded a compressed request body")
	}
}

// Streaming over a real connection: each flushed event reaches the client
// before the handler goes on, compressed or not.
func TestFlushStreams(t *testing.T) {
	t.Parallel()
	for _, cookie := range []bool{false, true} {
		step := make(chan struct{})
		srv := httptest.NewServer(newStage(t, compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cookie {
				http.SetCookie(w, &http.Cookie{Name: "sid", Value: "x"})
			}
			w.Header().Set("Content-Type", "text/event-stream")
			rc := http.NewResponseController(w)
			for i := 0; i < 2; i++ {
				_, _ = io.WriteString(w, "data: "+strings.Repeat("e", 10)+"\n\n")
				if err := rc.Flush(); err != nil {
					t.Errorf("Flush: %v", err)
				}
				<-step
			}
		})))
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := http.DefaultClient.Do(req) // the transport asks for gzip and decodes it
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		for i := 0; i < 2; i++ {
			line, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "data: ") {
				t.Fatalf("cookie=%v event %d: %q %v", cookie, i, line, err)
			}
			_, _ = br.ReadString('\n')
			step <- struct{}{}
		}
		if cookie && resp.Uncompressed {
			t.Fatal("a response setting a cookie was compressed")
		}
		resp.Body.Close()
		srv.Close()
	}
}

// gzhttp holds the status and the first bytes back, so a cookie or a
// no-store set after the handler's first Write or WriteHeader still decides.
func TestLateSensitiveHeaders(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]http.HandlerFunc{
		"cookie after a small write": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>")
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "secret"})
			_, _ = io.WriteString(w, big)
		},
		"no-store after WriteHeader": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			w.Header().Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, big)
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, _ := get(t, newStage(t, compress.Options{}).Handler(h))
			if resp.Header.Get("Content-Encoding") != "" {
				t.Fatalf("compressed a sensitive response: %v", resp.Header)
			}
		})
	}
}
