package validate

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wrapped hides the server's own ResponseWriter, as every middleware
// wrapper does.
type wrapped struct{ http.ResponseWriter }

// TestBodyTooLargeAnswersWhileClientSends: a streamed body over the cap is
// answered 413 at once, on a connection that then closes, even behind a
// ResponseWriter wrapper and while the client is still sending. Without
// Connection: close, net/http first tries to read the rest of the body,
// and the 413 waits for a client that may never finish.
func TestBodyTooLargeAnswersWhileClientSends(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	h := orderHandler(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(wrapped{w}, r)
	}))
	t.Cleanup(srv.Close)

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// One chunk of 1 MiB announced, 8 KiB of it sent, then silence.
	req := "POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"100000\r\n" + `{"note":"` + strings.Repeat("a", 8<<10)
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
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
	if !res.Close {
		t.Fatalf("the 413 keeps the connection open (header %v)", res.Header)
	}
}

// TestBodyTooLargeClosesConnection: every 413 of the binder asks to close
// the connection, whether the length was declared or found while reading.
func TestBodyTooLargeClosesConnection(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"note":"` + strings.Repeat("a", 5000) + `"}`
	for _, streamed := range []bool{false, true} {
		r := jsonRequest(body)
		if streamed {
			r.Body = unsized{strings.NewReader(body)}
			r.ContentLength = -1
		}
		w, p := serve(t, orderHandler(b), r)
		if w.Code != http.StatusRequestEntityTooLarge || p.Code != "payload_too_large" {
			t.Fatalf("streamed=%v: status %d code %q", streamed, w.Code, p.Code)
		}
		if got := w.Header().Get("Connection"); got != "close" {
			t.Fatalf("streamed=%v: Connection %q, want close", streamed, got)
		}
	}
}
