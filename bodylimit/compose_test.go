package bodylimit_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/bodylimit"
	"github.com/covetgo/covet/timeout"
)

// With the timeout stage inside the cap, the deadline answers from the
// timer's goroutine while the handler is still reading the body on its own:
// the cap's bookkeeping must not race (run with -race). In a bubble the
// paces and the deadline are exact, and several clients write at the very
// instant the deadline fires.
func TestInsideTimeoutNoRace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testInsideTimeoutNoRace)
}

func testInsideTimeoutNoRace(t *testing.T) {
	limit, err := bodylimit.New(bodylimit.Options{MaxBytes: 30})
	if err != nil {
		t.Fatal(err)
	}
	deadline, err := timeout.New(timeout.Options{Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := limit.Handler(deadline.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
	})))
	for i := range 60 {
		// Clients of different paces cross the cap at different moments,
		// some of them right at the deadline.
		pace := time.Duration(i%30+10) * 200 * time.Microsecond
		pr, pw := io.Pipe()
		go func() {
			for range 10 {
				if _, err := pw.Write([]byte("0123456789")); err != nil {
					return
				}
				time.Sleep(pace)
			}
			_ = pw.Close()
		}()
		req := httptest.NewRequest(http.MethodPost, "/", pr)
		req.ContentLength = -1
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		_ = pr.Close()
		// 408: the deadline found the handler waiting for the body.
		switch rec.Code {
		case http.StatusRequestEntityTooLarge, http.StatusRequestTimeout, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d, want 413, 408 or 503", rec.Code)
		}
	}
}
