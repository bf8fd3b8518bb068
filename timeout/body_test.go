package timeout_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSlowBodyIs408: a handler still waiting for the request body at the
// deadline is waiting for the client, so the answer is 408, a client
// error, and not the 503 of a handler that took too long itself.
func TestSlowBodyIs408(t *testing.T) {
	t.Parallel()
	s := newStage(t, 100*time.Millisecond)
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
	})))
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 100 bytes announced, one sent, then silence.
	if _, err := c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", res.StatusCode)
	}
	if p := decodeProblem(t, body); p.Code != "request_body_timeout" {
		t.Fatalf("problem %+v", p)
	}
	if !res.Close {
		t.Error("the 408 keeps the connection open")
	}
}
