package httpx

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"
)

// hookRecorder records the codes BeforeStart saw and answers with err.
type hookRecorder struct {
	codes []int
	err   error
}

func (h *hookRecorder) BeforeStart(w http.ResponseWriter, code int) error {
	h.codes = append(h.codes, code)
	w.Header().Set("X-Hook", "ran")
	if h.err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "hook answer")
	}
	return h.err
}

// codesRecorder records every status written to it and the body.
type codesRecorder struct {
	header http.Header
	codes  []int
	body   strings.Builder
}

func (c *codesRecorder) Header() http.Header {
	if c.header == nil {
		c.header = make(http.Header)
	}
	return c.header
}

func (c *codesRecorder) WriteHeader(code int)        { c.codes = append(c.codes, code) }
func (c *codesRecorder) Write(p []byte) (int, error) { return c.body.Write(p) }

func TestWriterStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter)
		status  int   // Writer.Status
		wire    []int // the codes passed on
		bytes   int64
		started bool
	}{
		{"nothing written", func(http.ResponseWriter) {}, 0, nil, 0, false},
		{"write defaults to 200", func(w http.ResponseWriter) { _, _ = w.Write([]byte("hello")) }, 200, nil, 5, true},
		{"write string", func(w http.ResponseWriter) { _, _ = io.WriteString(w, "hey") }, 200, nil, 3, true},
		{"explicit status", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot) }, 418, []int{418}, 0, true},
		{"double WriteHeader keeps the first", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, 201, []int{201, 500}, 0, true},
		{"1xx is not the status", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusProcessing)
			_, _ = w.Write([]byte("x"))
		}, 200, []int{103, 102}, 1, true},
		{"1xx alone does not start", func(w http.ResponseWriter) { w.WriteHeader(http.StatusEarlyHints) }, 0, []int{103}, 0, false},
		{"101 starts", func(w http.ResponseWriter) { w.WriteHeader(http.StatusSwitchingProtocols) }, 101, []int{101}, 0, true},
		{"flush defaults to 200", func(w http.ResponseWriter) { w.(http.Flusher).Flush() }, 200, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &codesRecorder{}
			w := Acquire(rec, nil)
			defer w.Release()
			tt.handler(w)
			if w.Status() != tt.status || w.Bytes() != tt.bytes || w.Started() != tt.started {
				t.Errorf("Status, Bytes, Started = %d, %d, %v; want %d, %d, %v",
					w.Status(), w.Bytes(), w.Started(), tt.status, tt.bytes, tt.started)
			}
			if !slices.Equal(rec.codes, tt.wire) {
				t.Errorf("codes passed on %v, want %v", rec.codes, tt.wire)
			}
		})
	}
}

func TestWriterInformationalReachesClient(t *testing.T) {
	t.Parallel()
	var got []int
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := Acquire(rw, nil)
		defer w.Release()
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req = req.WithContext(withGot1xx(req, &got))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || len(got) != 1 || got[0] != http.StatusEarlyHints {
		t.Fatalf("final %d, informational %v; want 204 after one 103", resp.StatusCode, got)
	}
}

// withGot1xx returns r's context with a trace that appends each
// informational status the client receives to got.
func withGot1xx(r *http.Request, got *[]int) context.Context {
	return httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
			*got = append(*got, code)
			return nil
		},
	})
}

// readFromRecorder is a ResponseRecorder whose ReadFrom is counted.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	calls int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.calls++
	return io.Copy(struct{ io.Writer }{r.ResponseRecorder}, src)
}

func TestWriterReadFrom(t *testing.T) {
	t.Parallel()
	t.Run("wrapped writer's ReadFrom", func(t *testing.T) {
		t.Parallel()
		rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
		w := Acquire(rec, nil)
		defer w.Release()
		// A reader without WriteTo, so io.Copy goes through the Writer's ReadFrom.
		n, err := io.Copy(w, struct{ io.Reader }{strings.NewReader("0123456789")})
		if err != nil || n != 10 || w.Bytes() != 10 || w.Status() != 200 {
			t.Fatalf("io.Copy = %d, %v; Bytes %d, Status %d", n, err, w.Bytes(), w.Status())
		}
		if rec.calls != 1 || rec.Body.String() != "0123456789" {
			t.Fatalf("ReadFrom calls %d, body %q", rec.calls, rec.Body)
		}
	})
	t.Run("wrapped writer without ReadFrom", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		w := Acquire(struct{ http.ResponseWriter }{rec}, nil)
		defer w.Release()
		n, err := io.Copy(w, strings.NewReader("abc"))
		if err != nil || n != 3 || w.Bytes() != 3 || rec.Body.String() != "abc" {
			t.Fatalf("io.Copy = %d, %v; Bytes %d, body %q", n, err, w.Bytes(), rec.Body)
		}
	})
}

func TestWriterResponseController(t *testing.T) {
	t.Parallel()
	type result struct {
		flushErr, deadlineErr, hijackErr error
		status                           int
		hijacked                         bool
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w := Acquire(rw, nil)
		defer w.Release()
		rc := http.NewResponseController(w)
		var res result
		res.deadlineErr = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		if r.URL.Path == "/hijack" {
			conn, brw, err := rc.Hijack()
			res.hijackErr, res.hijacked, res.status = err, w.Hijacked(), w.Status()
			if err == nil {
				_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
				_ = brw.Flush()
				_ = conn.Close()
			}
			results <- res
			return
		}
		_, _ = io.WriteString(w, "part")
		res.flushErr = rc.Flush()
		res.status = w.Status()
		results <- res
	}))
	defer srv.Close()

	for _, path := range []string{"/flush", "/hijack"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		res := <-results
		if res.deadlineErr != nil {
			t.Errorf("%s: SetWriteDeadline through the Writer: %v", path, res.deadlineErr)
		}
		switch path {
		case "/flush":
			if res.flushErr != nil || res.status != 200 || string(body) != "part" {
				t.Errorf("flush: err %v, status %d, body %q", res.flushErr, res.status, body)
			}
		case "/hijack":
			if res.hijackErr != nil || !res.hijacked || res.status != 0 || string(body) != "hi" {
				t.Errorf("hijack: err %v, hijacked %v, status %d, body %q", res.hijackErr, res.hijacked, res.status, body)
			}
		}
	}
}

var errReplaced = errors.New("replaced by the hook")

func TestWriterHook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(w *Writer) error
		code    int
	}{
		{"WriteHeader", func(w *Writer) error { w.WriteHeader(http.StatusAccepted); return nil }, 202},
		{"Write", func(w *Writer) error { _, err := w.Write([]byte("x")); return err }, 200},
		{"ReadFrom", func(w *Writer) error { _, err := w.ReadFrom(strings.NewReader("x")); return err }, 200},
		{"Flush", func(w *Writer) error { return w.FlushError() }, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/passes", func(t *testing.T) {
			t.Parallel()
			h := &hookRecorder{}
			rec := httptest.NewRecorder()
			var w Writer
			w.Reset(rec, h)
			if err := tt.handler(&w); err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write([]byte("y"))
			w.WriteHeader(http.StatusTeapot)
			if len(h.codes) != 1 || h.codes[0] != tt.code {
				t.Fatalf("hook saw %v, want [%d] once", h.codes, tt.code)
			}
			if rec.Code != tt.code || rec.Header().Get("X-Hook") != "ran" || w.Replaced() != nil {
				t.Fatalf("code %d, X-Hook %q, Replaced %v", rec.Code, rec.Header().Get("X-Hook"), w.Replaced())
			}
		})
		t.Run(tt.name+"/replaced", func(t *testing.T) {
			t.Parallel()
			h := &hookRecorder{err: errReplaced}
			rec := httptest.NewRecorder()
			var w Writer
			w.Reset(rec, h)
			err := tt.handler(&w)
			if tt.name != "WriteHeader" && !errors.Is(err, errReplaced) {
				t.Fatalf("handler's first write: %v, want the hook's error", err)
			}
			if _, err := w.Write([]byte("more")); !errors.Is(err, errReplaced) {
				t.Fatalf("later Write: %v", err)
			}
			w.WriteHeader(http.StatusOK)
			if _, _, err := w.Hijack(); !errors.Is(err, errReplaced) {
				t.Fatalf("Hijack after replacement: %v", err)
			}
			if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "hook answer" {
				t.Fatalf("client got %d %q, want the hook's answer only", rec.Code, rec.Body)
			}
			if !w.Started() || w.Status() != 0 || w.Bytes() != 0 || len(h.codes) != 1 {
				t.Fatalf("Started %v, Status %d, Bytes %d, hook calls %d", w.Started(), w.Status(), w.Bytes(), len(h.codes))
			}
		})
	}
}

// hijackRecorder is a recorder that can be hijacked, for the hook's view
// of Hijack.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (r *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return nil, nil, nil
}

func TestWriterHijackRunsHookWith101(t *testing.T) {
	t.Parallel()
	h := &hookRecorder{}
	rec := &hijackRecorder{ResponseRecorder: httptest.NewRecorder()}
	var w Writer
	w.Reset(rec, h)
	if _, _, err := w.Hijack(); err != nil {
		t.Fatal(err)
	}
	if len(h.codes) != 1 || h.codes[0] != http.StatusSwitchingProtocols || !rec.hijacked {
		t.Fatalf("hook saw %v, hijacked %v", h.codes, rec.hijacked)
	}
	if !w.Hijacked() || !w.Started() || w.Status() != 0 {
		t.Fatalf("Hijacked %v, Started %v, Status %d", w.Hijacked(), w.Started(), w.Status())
	}

	// A refused hijack is not recorded as one.
	var w2 Writer
	w2.Reset(httptest.NewRecorder(), nil)
	if _, _, err := w2.Hijack(); err == nil || w2.Hijacked() {
		t.Fatalf("hijack of a recorder: err %v, Hijacked %v", err, w2.Hijacked())
	}
}

// A hijack the connection underneath cannot grant (HTTP/2, a recorder) is
// refused before the hook runs, even through other wrappers: the response
// has not started, and the error the handler writes next is what the hook
// and the status see.
func TestWriterRefusedHijackDoesNotStart(t *testing.T) {
	t.Parallel()
	h := &hookRecorder{}
	rec := httptest.NewRecorder()
	var outer, w Writer
	outer.Reset(rec, nil)
	w.Reset(&outer, h)
	if _, _, err := w.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Fatalf("hijack: err %v, want http.ErrNotSupported", err)
	}
	if len(h.codes) != 0 || w.Started() || outer.Started() {
		t.Fatalf("after a refused hijack: hook saw %v, started %v/%v", h.codes, w.Started(), outer.Started())
	}
	http.Error(&w, "cannot upgrade", http.StatusInternalServerError)
	if len(h.codes) != 1 || h.codes[0] != http.StatusInternalServerError {
		t.Errorf("hook saw %v, want [500]", h.codes)
	}
	if w.Status() != http.StatusInternalServerError || outer.Status() != http.StatusInternalServerError || rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d/%d, sent %d, want 500", w.Status(), outer.Status(), rec.Code)
	}
}

func TestWriterAllocations(t *testing.T) {
	rec := httptest.NewRecorder()
	body := []byte("hello")
	allocs := testing.AllocsPerRun(100, func() {
		w := Acquire(rec, nil)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		w.Flush()
		w.Release()
		rec.Body.Reset()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

func TestWriterHookSkipsInformational(t *testing.T) {
	t.Parallel()
	h := &hookRecorder{}
	rec := &codesRecorder{}
	var w Writer
	w.Reset(rec, h)
	w.WriteHeader(http.StatusEarlyHints)
	if len(h.codes) != 0 || w.Started() {
		t.Fatalf("103 ran the hook (%v) or started the response", h.codes)
	}
	_, _ = w.Write([]byte("x"))
	if !slices.Equal(h.codes, []int{200}) || !slices.Equal(rec.codes, []int{103}) {
		t.Fatalf("hook saw %v, codes passed on %v", h.codes, rec.codes)
	}
}

// TestWriterInvalidCodeRunsNoHook: net/http panics on a status outside
// 100-999, so the hook (a commit, a session save) must not run first.
func TestWriterInvalidCodeRunsNoHook(t *testing.T) {
	t.Parallel()
	for _, code := range []int{-1, 0, 99, 1000} {
		h := &hookRecorder{}
		var w Writer
		w.Reset(httptest.NewRecorder(), h)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WriteHeader(%d) did not panic", code)
				}
			}()
			w.WriteHeader(code)
		}()
		if len(h.codes) != 0 || w.Started() {
			t.Errorf("WriteHeader(%d) ran the hook (%v) or started the response", code, h.codes)
		}
	}
}
