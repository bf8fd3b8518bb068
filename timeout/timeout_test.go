package timeout_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/timeout"
)

func newStage(t *testing.T, d time.Duration) *timeout.Stage {
	t.Helper()
	s, err := timeout.New(timeout.Options{Timeout: d})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type problem struct {
	Status        int    `json:"status"`
	Code          string `json:"code"`
	CorrelationID string `json:"correlation_id"`
}

func decodeProblem(t *testing.T, body []byte) problem {
	t.Helper()
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("body is not a problem document: %v: %q", err, body)
	}
	return p
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	if _, err := timeout.New(timeout.Options{Timeout: -time.Second}); errs.KindOf(err) != errs.KindConfiguration {
		t.Fatalf("negative timeout: err = %v, want a configuration error", err)
	}
	s := newStage(t, 0)
	var left time.Duration
	s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := r.Context().Deadline()
		if !ok {
			t.Error("no deadline on the request context")
		}
		left = time.Until(d)
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if left <= timeout.DefaultTimeout-time.Second || left > timeout.DefaultTimeout {
		t.Fatalf("zero Timeout gave a deadline %v away, want about %v", left, timeout.DefaultTimeout)
	}
}

// A handler that ignores its context: the 503 is written at the deadline,
// not when the handler returns, and the handler's later writes fail.
func TestDeadlineAnswersBeforeHandlerReturns(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newStage(t, time.Second)
		var lateErr error
		h := observe.RequestID(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Handler", "set before the deadline")
			time.Sleep(1500 * time.Millisecond) // ignores r.Context()
			_, lateErr = w.Write([]byte("too late"))
			w.WriteHeader(http.StatusTeapot)
			time.Sleep(time.Hour)
		})))
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/slow", nil))
		if took := time.Since(start); took != time.Hour+1500*time.Millisecond {
			t.Fatalf("the stage returned after %v, want when the handler returned", took)
		}
		if !errors.Is(lateErr, http.ErrHandlerTimeout) {
			t.Fatalf("write after the deadline: %v, want http.ErrHandlerTimeout", lateErr)
		}
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != errs.ContentType {
			t.Fatalf("Content-Type %q", ct)
		}
		if rec.Header().Get("X-Handler") != "" {
			t.Fatal("a header the handler set leaked into the 503")
		}
		p := decodeProblem(t, rec.Body.Bytes())
		if p.Code != "request_timeout" || p.Status != 503 || p.CorrelationID == "" {
			t.Fatalf("problem %+v", p)
		}
		if p.CorrelationID != rec.Header().Get("X-Request-ID") {
			t.Fatalf("correlation_id %q is not the request's ID %q", p.CorrelationID, rec.Header().Get("X-Request-ID"))
		}
		if strings.Contains(rec.Body.String(), "too late") {
			t.Fatal("the handler's late body reached the client")
		}
	})
}

// A handler that honours its context and reports the error itself: the
// client still sees exactly one response, the stage's.
func TestHandlerThatHonoursContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newStage(t, time.Second)
		h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			errs.Write(w, r, r.Context().Err())
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d", rec.Code)
		}
		if p := decodeProblem(t, rec.Body.Bytes()); p.Code != "request_timeout" {
			t.Fatalf("problem %+v: the handler's own answer replaced the stage's", p)
		}
	})
}

// A handler that gives up at the deadline and writes nothing must not turn
// into an empty 200, whichever of it and the deadline's callback runs first.
func TestHandlerReturnsSilentlyAtDeadline(t *testing.T) {
	t.Parallel()
	for i := 0; i < 20; i++ {
		s := newStage(t, time.Millisecond)
		rec := httptest.NewRecorder()
		s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("run %d: status %d, want 503", i, rec.Code)
		}
	}
}

// A response that started before the deadline is the handler's to finish.
func TestStartedResponseIsLeftAlone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := newStage(t, time.Second)
		var writeErr error
		h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Checksum")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("part one;"))
			<-r.Context().Done()
			_, writeErr = w.Write([]byte("part two"))
			w.Header().Set("X-Checksum", "abc")
		}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if writeErr != nil {
			t.Fatalf("write after the deadline in a started response: %v", writeErr)
		}
		if rec.Code != http.StatusCreated || rec.Body.String() != "part one;part two" {
			t.Fatalf("got %d %q", rec.Code, rec.Body)
		}
		if got := rec.Result().Trailer.Get("X-Checksum"); got != "abc" {
			t.Fatalf("trailer %q", got)
		}
	})
}

func TestFastHandlerPassesThrough(t *testing.T) {
	t.Parallel()
	s := newStage(t, time.Minute)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		code    int
		body    string
		header  string
	}{
		{"write", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Test", "1")
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, "ok")
		}, http.StatusAccepted, "ok", "1"},
		{"headers only", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Test", "2")
		}, http.StatusOK, "", "2"},
		{"io.Copy", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Test", "3")
			_, _ = io.Copy(w, strings.NewReader("copied"))
		}, http.StatusOK, "copied", "3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			s.Handler(c.handler).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != c.code || rec.Body.String() != c.body || rec.Header().Get("X-Test") != c.header {
				t.Fatalf("got %d %q X-Test=%q", rec.Code, rec.Body, rec.Header().Get("X-Test"))
			}
		})
	}
}

// When the client goes away the stage writes nothing: nobody would read it.
func TestClientGoneWritesNothing(t *testing.T) {
	t.Parallel()
	s := newStage(t, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	rec := httptest.NewRecorder()
	s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done()
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Fatalf("wrote %q after the client left", rec.Body)
	}
}

func TestPanicReachesRecover(t *testing.T) {
	t.Parallel()
	s := newStage(t, time.Minute)
	rec := httptest.NewRecorder()
	errs.Recover(s.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 from errs.Recover", rec.Code)
	}
}

// Over a real connection: streamed chunks arrive before the handler ends,
// http.ResponseController works through the stage, and the deadline leaves
// a started stream alone.
func TestStreamingOverRealConnection(t *testing.T) {
	t.Parallel()
	s := newStage(t, 200*time.Millisecond)
	next := make(chan struct{})
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the stage: %v", err)
		}
		_, _ = io.WriteString(w, "first\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush through the stage: %v", err)
		}
		<-next               // the client has read the first chunk
		<-r.Context().Done() // the deadline passes mid-stream
		_, _ = io.WriteString(w, "second\n")
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if resp.StatusCode != http.StatusOK || string(rest) != "second\n" {
		t.Fatalf("got %d, rest %q", resp.StatusCode, rest)
	}
}

// Over a real connection, a handler stuck past the deadline: the client has
// its 503 while the handler is still running.
func TestDeadlineOverRealConnection(t *testing.T) {
	t.Parallel()
	s := newStage(t, 100*time.Millisecond)
	release := make(chan struct{})
	done := make(chan error, 1)
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		_, err := w.Write([]byte("late"))
		done <- err
	})))
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	close(release) // only now may the handler go on
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if p := decodeProblem(t, body); p.Code != "request_timeout" {
		t.Fatalf("problem %+v", p)
	}
	if err := <-done; !errors.Is(err, http.ErrHandlerTimeout) {
		t.Fatalf("late write: %v", err)
	}
}

func TestHijackThroughStage(t *testing.T) {
	t.Parallel()
	s := newStage(t, time.Minute)
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = brw.Flush()
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "hijacked" {
		t.Fatalf("body %q", body)
	}
}

// Writers racing the deadline: every response is either entirely the
// handler's or entirely the 503, never a mix, and -race sees no data race.
// In a bubble the waits are exact: some handlers start writing before the
// deadline, some after it, and some at the very instant it fires.
func TestRaceAtTheDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRaceAtTheDeadline)
}

func testRaceAtTheDeadline(t *testing.T) {
	s := newStage(t, time.Millisecond)
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
		if err != nil {
			t.Error(err)
			return
		}
		w.Header().Set("X-I", "x")
		time.Sleep(wait)
		for i := 0; i < 50; i++ {
			w.Header().Set("X-I", "x")
			if _, err := io.WriteString(w, "a"); err != nil {
				return
			}
			time.Sleep(time.Microsecond)
		}
	}))
	// The first write comes before the 1ms deadline, at it, or after it.
	waits := []string{"999us", "1ms", "1001us"}
	var ok, late atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/?wait="+waits[i%len(waits)], nil))
			switch rec.Code {
			case http.StatusOK:
				ok.Add(1)
				if strings.Trim(rec.Body.String(), "a") != "" {
					t.Errorf("200 with a mixed body %q", rec.Body)
				}
			case http.StatusServiceUnavailable:
				late.Add(1)
				decodeProblem(t, rec.Body.Bytes())
			default:
				t.Errorf("status %d", rec.Code)
			}
		})
	}
	wg.Wait()
	if ok.Load() == 0 || late.Load() == 0 {
		t.Errorf("%d answers 200 and %d answers 503, want both", ok.Load(), late.Load())
	}
}
