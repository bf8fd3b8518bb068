package errs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/covetgo/covet/observe"
)

// renderer returns a Renderer for o, failing the test if o is refused.
func renderer(t testing.TB, o Options) *Renderer {
	t.Helper()
	rd, err := NewRenderer(o)
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func decode(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body.String())
	}
	return m
}

func reqWithID(method, target, id string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	return r.WithContext(observe.WithRequestID(r.Context(), id))
}

func TestKindsAndIs(t *testing.T) {
	t.Parallel()
	base := New(KindRateLimit, "", "Slow down.")
	wrapped := fmt.Errorf("stage: %w", base.With("key", "v"))
	if !errors.Is(wrapped, KindRateLimit) {
		t.Error("errors.Is on the kind failed through wrapping")
	}
	if errors.Is(wrapped, KindNotFound) {
		t.Error("errors.Is matched the wrong kind")
	}
	if !errors.Is(wrapped, base) {
		t.Error("errors.Is on the sentinel failed after With")
	}
	if KindOf(wrapped) != KindRateLimit || From(wrapped).Code() != "rate_limited" || From(wrapped).Status() != 429 {
		t.Errorf("KindOf/Code/Status wrong: %v %v %v", KindOf(wrapped), From(wrapped).Code(), From(wrapped).Status())
	}
	var e *Error
	if !errors.As(wrapped, &e) || e.Message() != "Slow down." {
		t.Error("errors.As failed")
	}
	cause := io.ErrUnexpectedEOF
	w := Wrap(cause, KindBadRequest, "bad_body", "Bad body.")
	if !errors.Is(w, io.ErrUnexpectedEOF) || !errors.Is(w, KindBadRequest) {
		t.Error("Wrap lost the cause or the kind")
	}
	if Wrap(nil, KindBadRequest, "", "") != nil {
		t.Error("Wrap(nil) must be nil")
	}
}

func TestWellKnownErrorsAndConfigf(t *testing.T) {
	t.Parallel()
	if KindOf(context.DeadlineExceeded) != KindTimeout || KindOf(&http.MaxBytesError{Limit: 1}) != KindPayloadTooLarge || KindOf(errors.New("x")) != KindInternal {
		t.Error("well-known errors mapped wrongly")
	}
	if Kind(200).Status() != 500 {
		t.Error("unknown kind must be internal")
	}
	if !errors.Is(Configf("bad %s", "x"), KindConfiguration) {
		t.Error("Configf is not a configuration error")
	}
	cfg := Configf("pkg: Options.Store: %w", io.ErrClosedPipe)
	if !errors.Is(cfg, io.ErrClosedPipe) || cfg.Error() != "pkg: Options.Store: io: read/write on closed pipe" {
		t.Errorf("Configf with %%w: %q", cfg.Error())
	}
}

func TestWithCopies(t *testing.T) {
	t.Parallel()
	base := New(KindValidation, "", "")
	a := base.With("a", 1).WithPublic("p", 1).WithHeader("X-A", "1").WithFields(FieldError{Field: "f"}).WithStatus(400)
	if len(base.Context()) != 0 || len(base.Public()) != 0 || base.Header() != nil || len(base.Fields()) != 0 || base.Status() != 422 {
		t.Fatal("With methods modified the receiver")
	}
	if a.Status() != 400 || a.Header().Get("X-A") != "1" || len(a.Fields()) != 1 {
		t.Fatal("With methods lost values")
	}
	if base.WithStatus(200).Status() != 422 {
		t.Fatal("a non-error status must be ignored")
	}
}

func TestWriteShape(t *testing.T) {
	t.Parallel()
	rd := renderer(t, Options{Mode: Production, Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Length", "99")
	rec.Header().Set("Content-Encoding", "gzip")
	err := New(KindRateLimit, "", "Too many requests.").WithHeader("Retry-After", "7")
	rd.Write(rec, reqWithID("GET", "/api/notes?x=1", "req-1"), err)
	if rec.Code != 429 {
		t.Fatalf("status %d", rec.Code)
	}
	h := rec.Header()
	if h.Get("Content-Type") != "application/problem+json" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" || h.Get("Retry-After") != "7" {
		t.Fatalf("headers %v", h)
	}
	if h.Get("Content-Length") != "" || h.Get("Content-Encoding") != "" {
		t.Fatalf("stale representation headers kept: %v", h)
	}
	m := decode(t, rec)
	want := map[string]any{"type": "about:blank", "title": "Too Many Requests", "status": float64(429), "detail": "Too many requests.", "instance": "/api/notes", "code": "rate_limited", "correlation_id": "req-1"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

func TestWriteValidationFields(t *testing.T) {
	t.Parallel()
	rd := renderer(t, Options{Mode: Production, TypeBase: "https://errors.example.com/"})
	rec := httptest.NewRecorder()
	rd.Write(rec, httptest.NewRequest("POST", "/x", nil), New(KindValidation, "", "Invalid body.").WithFields(
		FieldError{Field: "items[2].name", Pointer: "/items/2/name", Rule: "max", Param: "64", Message: "must be at most 64 characters"}))
	m := decode(t, rec)
	if rec.Code != 422 || m["type"] != "https://errors.example.com/validation_failed" {
		t.Fatalf("code %d type %v", rec.Code, m["type"])
	}
	fields, _ := m["errors"].([]any)
	if len(fields) != 1 {
		t.Fatalf("errors: %v", m["errors"])
	}
	f := fields[0].(map[string]any)
	if f["field"] != "items[2].name" || f["pointer"] != "/items/2/name" || f["rule"] != "max" || f["param"] != "64" || f["message"] == "" {
		t.Fatalf("field %v", f)
	}
}

func TestWriteModes(t *testing.T) {
	t.Parallel()
	cause := errors.New("pq: connection refused for password=hunter2 at /home/me/app/db.go")
	err := Wrap(cause, KindDatabase, "", "Could not load the note.").With("query_id", 7).With("password", "hunter2").WithPublic("note_id", 3)
	notFound := New(KindNotFound, "note_not_found", "No such note.").With("owner", "alice")

	tests := []struct {
		mode       Mode
		err        error
		status     int
		detail     string // substring
		hasContext bool
		hasStack   bool
		maxFrames  int
		forbidden  []string
	}{
		{Production, err, 500, genericDetail, true, false, 0, []string{"hunter2", "query_id", "connection refused", "/home/"}},
		{Production, errors.New("raw failure with secret"), 500, genericDetail, false, false, 0, []string{"raw failure", "secret"}},
		{Production, notFound, 404, "No such note.", false, false, 0, []string{"alice"}},
		{Staging, err, 500, "connection refused", true, true, stagingFrames, []string{"hunter2"}},
		{Staging, notFound, 404, "No such note.", true, false, 0, nil},
		{Development, err, 500, "connection refused", true, true, 0, []string{"hunter2"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.mode, tt.status), func(t *testing.T) {
			t.Parallel()
			rd := renderer(t, Options{Mode: tt.mode, Logger: slog.New(slog.DiscardHandler)})
			rec := httptest.NewRecorder()
			rd.Write(rec, reqWithID("GET", "/notes/3", "rid"), tt.err)
			body := rec.Body.String()
			if rec.Code != tt.status {
				t.Fatalf("status %d", rec.Code)
			}
			m := decode(t, rec)
			if d, _ := m["detail"].(string); !strings.Contains(d, tt.detail) {
				t.Errorf("detail %q lacks %q", d, tt.detail)
			}
			_, hasCtx := m["context"]
			if hasCtx != tt.hasContext {
				t.Errorf("context present = %v: %s", hasCtx, body)
			}
			stack, hasStack := m["stack"].([]any)
			if hasStack != tt.hasStack {
				t.Errorf("stack present = %v", hasStack)
			}
			checkStack(t, stack, tt.maxFrames)
			for _, s := range tt.forbidden {
				if strings.Contains(body, s) {
					t.Errorf("body reveals %q: %s", s, body)
				}
			}
			if tt.mode == Production && tt.hasContext {
				ctx := m["context"].(map[string]any)
				if len(ctx) != 1 || ctx["note_id"] != float64(3) {
					t.Errorf("production context must hold only public values: %v", ctx)
				}
			}
		})
	}
}

// checkStack checks a rendered stack: at most maxFrames frames (0: any
// number), each file named by import path, never by a machine path.
func checkStack(t *testing.T, stack []any, maxFrames int) {
	t.Helper()
	if maxFrames > 0 && len(stack) > maxFrames {
		t.Errorf("%d frames, want at most %d", len(stack), maxFrames)
	}
	for _, f := range stack {
		file := f.(map[string]any)["file"].(string)
		if strings.HasPrefix(file, "/") || strings.Contains(file, "pkg/mod") {
			t.Errorf("absolute or module-cache path in stack: %s", file)
		}
	}
}

func TestWriteLogsAndAudits(t *testing.T) {
	t.Parallel()
	var logs, audit bytes.Buffer
	rd := renderer(t, Options{
		Logger:      slog.New(slog.NewJSONHandler(&logs, nil)),
		AuditLogger: slog.New(slog.NewJSONHandler(&audit, nil)),
	})
	rd.Write(httptest.NewRecorder(), reqWithID("GET", "/", "rid-9"), Wrap(errors.New("disk full; token="+jwt), KindInternal, "", ""))
	if !strings.Contains(logs.String(), "rid-9") || !strings.Contains(logs.String(), "disk full") || strings.Contains(logs.String(), jwt) {
		t.Errorf("5xx log: %s", logs.String())
	}
	logs.Reset()
	rd.Write(httptest.NewRecorder(), reqWithID("GET", "/", "rid-503"), New(KindServiceUnavailable, "", "Try later."))
	if !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("503 should log at Warn: %s", logs.String())
	}
	rd.Write(httptest.NewRecorder(), reqWithID("GET", "/", "rid-10"), New(KindAuthentication, "invalid_token", "Invalid token."))
	if !strings.Contains(audit.String(), "invalid_token") || !strings.Contains(audit.String(), "rid-10") {
		t.Errorf("audit log: %s", audit.String())
	}
	// A refusal the stage already recorded is not recorded again, and is
	// still the same error.
	audited := New(KindAuthorization, "forbidden", "No.").WithAudited()
	if !errors.Is(audited, New(KindAuthorization, "forbidden", "")) {
		t.Error("WithAudited changed what the error is")
	}
	w := httptest.NewRecorder()
	rd.Write(w, reqWithID("GET", "/", "rid-12"), audited)
	if strings.Contains(audit.String(), "rid-12") || w.Code != http.StatusForbidden {
		t.Errorf("an audited error was recorded again (status %d): %s", w.Code, audit.String())
	}
	rd.Audit(observe.WithRequestID(context.Background(), "rid-11"), "login", slog.String("user", "bob"), slog.String("password", "hunter2"))
	if !strings.Contains(audit.String(), "rid-11") || strings.Contains(audit.String(), "hunter2") {
		t.Errorf("Audit: %s", audit.String())
	}
	if !rd.AuditEnabled() || !AuditEnabled() {
		t.Error("AuditEnabled false with a logger")
	}
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Mode{"": Production, "production": Production, "DEV": Development, "staging": Staging, " development ": Development} {
		got, err := ParseMode(in)
		if err != nil || got != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseMode("prod-ish"); !errors.Is(err, KindConfiguration) {
		t.Errorf("unknown mode: %v", err)
	}
	if Mode(0).String() != "production" || Development.String() != "development" || Staging.String() != "staging" {
		t.Error("Mode.String")
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rd := renderer(t, Options{Mode: Production, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	h := rd.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		panic("password=hunter2 boom")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, reqWithID("GET", "/x", "rid-p"))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != ContentType {
		t.Fatalf("status %d type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	m := decode(t, rec)
	if m["code"] != "panic" || m["correlation_id"] != "rid-p" || m["detail"] != genericDetail {
		t.Fatalf("body %v", m)
	}
	if n := strings.Count(logs.String(), "panic recovered"); n != 1 {
		t.Fatalf("logged %d times: %s", n, logs.String())
	}
	if strings.Contains(logs.String(), "request failed") {
		t.Error("the panic was logged twice")
	}
}

func TestRecoverAfterPartialWrite(t *testing.T) {
	t.Parallel()
	rd := renderer(t, Options{Logger: slog.New(slog.DiscardHandler)})
	h := rd.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("partial"))
		panic("late")
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err == nil {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil {
			t.Fatalf("a started response must be aborted, got a complete body %q", body)
		}
		if strings.Contains(string(body), "problem") || strings.Contains(string(body), "correlation_id") {
			t.Fatalf("a second response was written: %q", body)
		}
	}
	// Direct call: the stage re-panics with ErrAbortHandler.
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want ErrAbortHandler", v)
			}
		}()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	}()
	if rec.Body.String() != "partial" {
		t.Fatalf("body %q", rec.Body.String())
	}
}

func TestRecoverAbortHandler(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rd := renderer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	for _, v := range []any{http.ErrAbortHandler, fmt.Errorf("wrapped: %w", http.ErrAbortHandler)} {
		h := rd.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(v) }))
		func() {
			defer func() {
				if got := recover(); got != v {
					t.Fatalf("recovered %v, want %v", got, v)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}()
	}
	if logs.Len() != 0 {
		t.Fatalf("ErrAbortHandler was logged: %s", logs.String())
	}
}

func TestRecoverPassesThrough(t *testing.T) {
	t.Parallel()
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.Copy(w, strings.NewReader("hello"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 201 || rec.Body.String() != "hello" {
		t.Fatalf("%d %q", rec.Code, rec.Body.String())
	}
}

// hijackRecorder is a ResponseRecorder that can also be hijacked.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	return nil, nil, nil
}

func TestTrackerInterfaces(t *testing.T) {
	t.Parallel()
	inner := &hijackRecorder{ResponseRecorder: httptest.NewRecorder()}
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush through the wrapper: %v", err)
		}
		if _, _, err := rc.Hijack(); err != nil {
			t.Errorf("Hijack through the wrapper: %v", err)
		}
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("wrapper hides io.ReaderFrom")
		}
		if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok || u.Unwrap() != inner {
			t.Error("Unwrap does not return the original writer")
		}
	}))
	h.ServeHTTP(inner, httptest.NewRequest("GET", "/", nil))
	if !inner.hijacked || !inner.Flushed {
		t.Fatalf("hijacked=%v flushed=%v", inner.hijacked, inner.Flushed)
	}
}

func TestHandle(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rd := renderer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	h := rd.Handle(func(w http.ResponseWriter, r *http.Request) error {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("ok"))
			return nil
		case "/missing":
			return New(KindNotFound, "", "Nothing here.")
		case "/late":
			_, _ = w.Write([]byte("half"))
			return errors.New("failed after writing")
		}
		return errors.New("plain")
	})
	for path, want := range map[string]int{"/ok": 200, "/missing": 404, "/plain": 500, "/late": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
	if !strings.Contains(logs.String(), "after the response started") {
		t.Errorf("late error not logged: %s", logs.String())
	}
}

func FuzzProblem(f *testing.F) {
	f.Add("key", "value", int64(1), 1.5, "/path", uint8(0), uint8(0))
	f.Add("password", jwt, int64(4111111111111111), 0.25, "/%zz", uint8(15), uint8(2))
	f.Add("\xff", "\x00<script>", int64(-1), 1e308, "/\u2028", uint8(200), uint8(1))
	f.Fuzz(func(t *testing.T, key, val string, n int64, fl float64, path string, kind, mode uint8) {
		rd := renderer(t, Options{Mode: Mode(mode % 3), Logger: slog.New(slog.DiscardHandler)})
		e := New(Kind(kind), val, val).With(key, val).With(key+"n", n).With(key+"f", fl).
			With("nested", map[string]any{key: []any{val, n, fl, map[string]any{val: key}}}).
			WithPublic(key, val).WithFields(FieldError{Field: key, Message: val})
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = path
		rec := httptest.NewRecorder()
		rd.Write(rec, r, e)
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("invalid JSON: %q", rec.Body.String())
		}
		if rec.Code < 400 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	rd := renderer(b, Options{Logger: slog.New(slog.DiscardHandler)})
	e := New(KindRateLimit, "", "Too many requests.").WithHeader("Retry-After", "3")
	r := reqWithID("GET", "/api/notes", "0123456789abcdef0123456789abcdef")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		rd.Write(w, r, e)
	}
}

func BenchmarkRecover(b *testing.B) {
	h := Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	r := httptest.NewRequest("GET", "/", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// The path is logged through the sanitizer, as the response shows it.
func TestLoggedPathSanitized(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	rd := renderer(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	rec := httptest.NewRecorder()
	rd.Write(rec, httptest.NewRequest("GET", "/magic/"+jwt, nil), errors.New("boom"))
	if strings.Contains(logs.String(), jwt) || strings.Contains(rec.Body.String(), jwt) {
		t.Fatalf("token in the path leaked: log %s body %s", logs.String(), rec.Body.String())
	}
}

// TestInstanceIsURIReference: whatever the path holds, "instance" parses as
// a URI reference, carries only URI characters (ASCII), and keeps no secret.
func TestInstanceIsURIReference(t *testing.T) {
	t.Parallel()
	rd := renderer(t, Options{Mode: Production, Logger: slog.New(slog.DiscardHandler), Sanitizer: NewSanitizer(SanitizerOptions{MaxString: 64})})
	long := strings.Repeat("é", 100)
	tests := []struct {
		name, path string
		secret     string
	}{
		{"jwt in path", "/reset/" + jwt, "c2lnbmF0dXJl"},
		{"assignment in path", "/x/password=hunter2hunter2", "hunter2"},
		{"long non-ascii path", "/" + long, ""},
		{"long path cut inside an escape", "/" + strings.Repeat("a", 58) + "%C3%A9%C3%A9", ""},
		{"brackets and spaces", "/a%5Bb%5D/c%20d", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			rd.Write(rec, httptest.NewRequest("GET", tt.path, nil), New(KindNotFound, "", "No."))
			inst, _ := decode(t, rec)["instance"].(string)
			if inst == "" {
				t.Fatal("no instance")
			}
			if _, err := url.Parse(inst); err != nil {
				t.Fatalf("instance %q is not a URI reference: %v", inst, err)
			}
			for i := 0; i < len(inst); i++ {
				if c := inst[i]; c >= 0x80 || c <= ' ' || strings.IndexByte(`"<>[]\^`+"`{|}", c) >= 0 {
					t.Fatalf("instance %q holds %q, not a URI character", inst, c)
				}
				if inst[i] == '%' && (i+2 >= len(inst) || !isHex(inst[i+1]) || !isHex(inst[i+2])) {
					t.Fatalf("instance %q has a broken escape at %d", inst, i)
				}
			}
			if tt.secret != "" && strings.Contains(inst, tt.secret) {
				t.Fatalf("instance %q keeps the secret", inst)
			}
		})
	}
}

// TestHeaderValuesAreTheResponsesOwn writes one shared error twice and
// edits the first response's header in place: the second response, and the
// error, must be untouched.
func TestHeaderValuesAreTheResponsesOwn(t *testing.T) {
	t.Parallel()
	shared := New(KindAuthentication, "no_token", "A bearer token is required.").WithHeader("WWW-Authenticate", `Bearer realm="api"`)
	for i := range 2 {
		w := httptest.NewRecorder()
		Write(w, httptest.NewRequest(http.MethodGet, "/", nil), shared)
		v := w.Header()["Www-Authenticate"]
		if len(v) != 1 || v[0] != `Bearer realm="api"` {
			t.Fatalf("response %d: WWW-Authenticate = %q", i, v)
		}
		v[0] = "edited"
	}
}
