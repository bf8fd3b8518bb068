package bodylimit_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/bodylimit"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/validate"
)

func newStage(t *testing.T, max int64) *bodylimit.Stage {
	t.Helper()
	s, err := bodylimit.New(bodylimit.Options{MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type problem struct {
	Status        int    `json:"status"`
	Code          string `json:"code"`
	CorrelationID string `json:"correlation_id"`
	Context       struct {
		MaxBytes *int64 `json:"max_bytes"`
	} `json:"context"`
}

func checkTooLarge(t *testing.T, code int, header http.Header, body []byte, max int64) {
	t.Helper()
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413 (body %q)", code, body)
	}
	if ct := header.Get("Content-Type"); ct != errs.ContentType {
		t.Fatalf("Content-Type %q", ct)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not a problem document: %v: %q", err, body)
	}
	if p.Code != "payload_too_large" || p.Status != 413 {
		t.Fatalf("problem %+v", p)
	}
	// The stage's own answer names the cap; a handler's own 413 may not.
	if p.Context.MaxBytes != nil && *p.Context.MaxBytes != max {
		t.Fatalf("max_bytes %d, want %d", *p.Context.MaxBytes, max)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := bodylimit.New(bodylimit.Options{MaxBytes: -1}); errs.KindOf(err) != errs.KindConfiguration {
		t.Fatalf("negative cap: %v", err)
	}
	if got := newStage(t, 0).MaxBytes(); got != bodylimit.DefaultMaxBytes {
		t.Fatalf("zero MaxBytes gave %d", got)
	}
}

// countingReader records whether anything read the body.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func TestDeclaredLengthOverCapRefusedBeforeReading(t *testing.T) {
	t.Parallel()
	s := newStage(t, 10)
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 11))}
	req := httptest.NewRequest("POST", "/", body)
	req.ContentLength = 11
	called := false
	rec := httptest.NewRecorder()
	observe.RequestID(s.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))).ServeHTTP(rec, req)
	checkTooLarge(t, rec.Code, rec.Header(), rec.Body.Bytes(), 10)
	if !strings.Contains(rec.Body.String(), `"max_bytes":10`) {
		t.Fatalf("the refusal does not name the cap: %s", rec.Body)
	}
	if called || body.read != 0 {
		t.Fatalf("handler called %v, %d body bytes read", called, body.read)
	}
	if rec.Header().Get("X-Request-ID") == "" {
		t.Fatal("the outer stage's header was lost")
	}
}

func TestWithinCapPassesUntouched(t *testing.T) {
	t.Parallel()
	s := newStage(t, 10)
	for _, n := range []int{0, 1, 10} {
		payload := strings.Repeat("y", n)
		srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Errorf("read: %v", err)
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(b)
		})))
		for _, chunked := range []bool{false, true} {
			var rd io.Reader = strings.NewReader(payload)
			if chunked {
				rd = io.MultiReader(rd) // hides the length: chunked encoding
			}
			resp, err := http.Post(srv.URL, "text/plain", rd)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated || string(got) != payload {
				t.Fatalf("n=%d chunked=%v: %d %q", n, chunked, resp.StatusCode, got)
			}
		}
		srv.Close()
	}
}

// Chunked bodies (no Content-Length) over the cap, read in every way a
// handler might: the client always gets the 413 problem.
func TestChunkedOverCapAlways413(t *testing.T) {
	t.Parallel()
	type note struct {
		Text string `json:"text"`
	}
	handlers := map[string]http.HandlerFunc{
		"reads and answers 400 itself": func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusOK)
		},
		"reads and passes the error to errs": func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				errs.Write(w, r, err)
			}
		},
		"reads, ignores the error, writes 200": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			_, _ = w.Write([]byte("accepted"))
		},
		"reads, ignores the error, writes nothing": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
		},
		"decodes through validate": func(w http.ResponseWriter, r *http.Request) {
			if _, err := validate.JSON[note](validate.Default(), w, r); err != nil {
				errs.Write(w, r, err)
				return
			}
			w.WriteHeader(http.StatusOK)
		},
	}
	s := newStage(t, 64)
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(s.Handler(h))
			defer srv.Close()
			body := `{"text":"` + strings.Repeat("z", 200) + `"}`
			req, _ := http.NewRequest("POST", srv.URL, io.MultiReader(strings.NewReader(body)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if len(resp.TransferEncoding) == 0 && req.ContentLength > 0 {
				t.Fatal("the request was not chunked")
			}
			got, _ := io.ReadAll(resp.Body)
			checkTooLarge(t, resp.StatusCode, resp.Header, got, 64)
		})
	}
}

// A handler that started its response before reading (an echo stream)
// keeps it: the stage never rewrites a response already on the wire.
func TestStartedResponseIsLeftAlone(t *testing.T) {
	t.Parallel()
	s := newStage(t, 4)
	var readErr error
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/", strings.NewReader("0123456789"))
	req.ContentLength = -1
	s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, readErr = io.ReadAll(r.Body)
		_, _ = w.Write([]byte("stream end"))
	})).ServeHTTP(rec, req)
	var mbe *http.MaxBytesError
	if !errors.As(readErr, &mbe) || mbe.Limit != 4 {
		t.Fatalf("read error %v, want *http.MaxBytesError with limit 4", readErr)
	}
	if rec.Code != http.StatusAccepted || rec.Body.String() != "stream end" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
}

// A request made by hand whose declared length understates its body is
// still cut at the cap.
func TestUnderstatedLengthStillCapped(t *testing.T) {
	t.Parallel()
	s := newStage(t, 4)
	req := httptest.NewRequest("POST", "/", strings.NewReader("0123456789"))
	req.ContentLength = 3
	var n int
	var readErr error
	s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b []byte
		b, readErr = io.ReadAll(r.Body)
		n = len(b)
	})).ServeHTTP(httptest.NewRecorder(), req)
	if n > 4 || readErr == nil {
		t.Fatalf("read %d bytes, err %v", n, readErr)
	}
}

func TestFlushAndResponseControllerSeeThrough(t *testing.T) {
	t.Parallel()
	s := newStage(t, 1<<10)
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_, _ = io.ReadAll(r.Body)
		_, _ = w.Write([]byte("a"))
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex through the stage: %v", err)
		}
	})))
	defer srv.Close()
	resp, err := http.Post(srv.URL, "text/plain", io.MultiReader(strings.NewReader("small")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "a" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}

// validate, reading through the stage's smaller cap, names the cap that was
// hit, not its own larger default.
func TestValidateNamesTheStagesCap(t *testing.T) {
	t.Parallel()
	type note struct {
		Text string `json:"text"`
	}
	s := newStage(t, 64)
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := validate.JSON[note](validate.Default(), w, r); err != nil {
			errs.Write(w, r, err)
		}
	})))
	defer srv.Close()
	body := `{"text":"` + strings.Repeat("z", 200) + `"}`
	resp, err := http.Post(srv.URL, "application/json", io.MultiReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(got), "larger than 64 bytes") {
		t.Fatalf("%d %s", resp.StatusCode, got)
	}
}
