package bodylimit_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/bodylimit"
)

// passThrough is any ResponseWriter wrapper of a stage outside; behind
// one, net/http cannot tell the handler is done with the body.
type passThrough struct{ http.ResponseWriter }

// TestChunkedTooLargeAnswersWhileClientSends: a client that announces a
// large chunk, sends part of it and waits gets its 413 at once. Without
// Connection: close, net/http first tries to read the rest of the body,
// and the answer waits for the server's read timeout.
func TestChunkedTooLargeAnswersWhileClientSends(t *testing.T) {
	t.Parallel()
	s, err := bodylimit.New(bodylimit.Options{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err == nil {
			t.Error("the body over the cap was read to its end")
		}
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(passThrough{w}, r)
	}))
	t.Cleanup(srv.Close)

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One chunk of 1 MiB announced, 8 KiB of it sent, then silence.
	req := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n" + strings.Repeat("a", 8<<10)
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	// A deadline only so that a failure ends the test instead of hanging it.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response while the client is still sending: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge || !res.Close {
		t.Fatalf("status %d, close %v; want 413 closing the connection", res.StatusCode, res.Close)
	}
}
