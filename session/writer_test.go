package session

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/errs"
)

// TestDevelopmentHoldReleasesOnFlush: in Development the response is held
// until the handler returns, except that a flush sends what is held (the
// handler wants its client to see it now); writes after it go straight
// through, and ReadFrom is held like Write.
func TestDevelopmentHoldReleasesOnFlush(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	var flushedBody string
	var rec *httptest.ResponseRecorder
	h := testRenderer(t, errs.Development, nil).Handler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r).Set("a", 1)
		w.Header().Set("X-Kind", "stream")
		_, _ = io.Copy(w, struct{ io.Reader }{strings.NewReader("held,")})
		if rec.Body.Len() != 0 {
			t.Errorf("body sent before the flush: %q", rec.Body)
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		flushedBody = rec.Body.String()
		_, _ = io.WriteString(w, "after")
	})))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if flushedBody != "held," || !rec.Flushed {
		t.Fatalf("at the flush the client had %q (flushed %v), want the held part", flushedBody, rec.Flushed)
	}
	if rec.Code != http.StatusOK || rec.Body.String() != "held,after" || rec.Header().Get("X-Kind") != "stream" ||
		setCookieHeader(rec, m.CookieName()) == "" {
		t.Fatalf("response %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}
