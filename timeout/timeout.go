package timeout

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/errs"
)

// DefaultTimeout is the deadline of a stage built with a zero Timeout.
const DefaultTimeout = 30 * time.Second

// ErrTimeout is the problem sent when the deadline passes before the
// response started: 503, code "request_timeout".
var ErrTimeout = errs.New(errs.KindServiceUnavailable, "request_timeout", "The request took too long to process.")

// ErrBodyTimeout is the problem sent instead of ErrTimeout when, at the
// deadline, the handler is still waiting for the request body: the client
// is the slow one. 408, code "request_body_timeout".
var ErrBodyTimeout = errs.New(errs.KindBadRequest, "request_body_timeout", "The request body did not arrive in time.").
	WithStatus(http.StatusRequestTimeout)

// Options configure a Stage.
type Options struct {
	// Timeout is how long a handler may take to start its response. Zero
	// means DefaultTimeout; a negative value is refused.
	Timeout time.Duration
}

// Stage is the timeout middleware. Build it with New.
type Stage struct {
	timeout time.Duration
}

// New validates opts and returns the stage.
func New(opts Options) (*Stage, error) {
	if opts.Timeout < 0 {
		return nil, errs.Configf("timeout: Timeout %v is negative", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Stage{timeout: opts.Timeout}, nil
}

// Handler returns next with the deadline applied (the stage, as chi's Use
// expects it).
func (s *Stage) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parent := r.Context()
		ctx, cancel := context.WithTimeout(parent, s.timeout)
		defer cancel()
		tw := &writer{w: w, req: r.WithContext(ctx), parent: parent, header: make(http.Header)}
		if r.Body != nil && r.Body != http.NoBody {
			tw.body.ReadCloser = r.Body
			tw.req.Body = &tw.body
		}
		// A timer of its own rather than context.AfterFunc, which costs three
		// more allocations per request; it fires with the context's deadline.
		timer := time.AfterFunc(s.timeout, tw.expire)
		defer func() {
			timer.Stop()
			tw.finish()
		}()
		next.ServeHTTP(tw, tw.req)
	})
}

// state of a response, as the deadline sees it.
type state uint8

const (
	pending  state = iota // nothing written yet: the deadline may answer
	started               // the handler's response has begun
	timedOut              // the stage answered 503; the handler's writes fail
	finished              // the handler returned; the deadline does nothing
)

// writer gives the handler its own header map until the response starts, so
// the deadline can answer from another goroutine without racing with it.
type writer struct {
	w      http.ResponseWriter
	req    *http.Request   // with the deadline
	parent context.Context // the request's context without it
	header http.Header
	body   body // the request body, as the handler reads it

	mu    sync.Mutex
	state state
}

// body tells the deadline whether the handler is waiting for the client:
// a Read of the request body is under way.
type body struct {
	io.ReadCloser
	reading atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	b.reading.Store(true)
	defer b.reading.Store(false)
	return b.ReadCloser.Read(p)
}

// expire runs at the deadline. When the client has gone away meanwhile
// nobody is listening, and the stage writes nothing.
func (tw *writer) expire() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.parent.Err() == nil {
		tw.answer()
	}
}

// answerIfExpired answers 503 when nothing was written and the deadline has
// passed (not when the client went away). The caller holds mu.
func (tw *writer) answerIfExpired() {
	if tw.parent.Err() == nil && tw.req.Context().Err() == context.DeadlineExceeded {
		tw.answer()
	}
}

// answer sends the 503 (408 when the handler is waiting for the request
// body) unless the response started. The caller holds mu.
func (tw *writer) answer() {
	if tw.state != pending {
		return
	}
	tw.state = timedOut
	// The problem is rendered aside first so it goes out with its length and
	// Connection: close: the client reads a complete response now, although
	// the connection stays busy until the handler returns.
	var p rendered
	err := ErrTimeout
	if tw.body.reading.Load() {
		err = ErrBodyTimeout
	}
	errs.Write(&p, tw.req, err)
	h := tw.w.Header()
	copyHeader(h, p.header)
	h.Set("Content-Length", strconv.Itoa(p.body.Len()))
	h.Set("Connection", "close")
	tw.w.WriteHeader(p.status)
	_, _ = tw.w.Write(p.body.Bytes())
	_ = http.NewResponseController(tw.w).Flush()
}

// finish runs when the handler returned. A handler that gave up at the
// deadline without writing gets the 503 (it may return before the deadline's
// own callback runs); headers it set without writing anything else are
// handed to the real writer, so net/http sends them with 200 as it would
// without the stage.
func (tw *writer) finish() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	tw.answerIfExpired()
	if tw.state == pending {
		copyHeader(tw.w.Header(), tw.header)
	}
	tw.state = finished
}

// rendered captures the problem errs.Write renders.
type rendered struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (p *rendered) Header() http.Header {
	if p.header == nil {
		p.header = make(http.Header)
	}
	return p.header
}

func (p *rendered) WriteHeader(code int) { p.status = code }

func (p *rendered) Write(b []byte) (int, error) { return p.body.Write(b) }

// start moves a pending response to started, copying the handler's headers
// to the real writer. It reports false when the deadline answered first.
// The caller holds mu.
func (tw *writer) start() bool {
	if tw.state == pending {
		// Past the deadline the answer is the stage's, even when the
		// handler saw its context end before the timer ran.
		tw.answerIfExpired()
	}
	switch tw.state {
	case timedOut:
		return false
	case pending:
		copyHeader(tw.w.Header(), tw.header)
		tw.state = started
	}
	return true
}

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// Header returns the handler's header map; once the response started it is
// the real one, so trailers set after the body still reach the client.
func (tw *writer) Header() http.Header {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.state == started {
		return tw.w.Header()
	}
	return tw.header
}

// WriteHeader passes code on unless the deadline answered first.
// Informational codes (1xx but 101) do not start the response.
func (tw *writer) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.state == timedOut {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		tw.inform(code)
		return
	}
	tw.start()
	tw.w.WriteHeader(code)
}

// inform sends the informational response code. Before the response
// starts, it goes out with the handler's headers on top of the real ones,
// which are then put back as they were: the handler's headers reach the
// final response only as they stand when it starts (as net/http sends
// them), and never the stage's 503. Past the deadline the 503 goes out
// instead. The caller holds mu.
func (tw *writer) inform(code int) {
	if tw.state == pending {
		tw.answerIfExpired()
	}
	switch tw.state {
	case timedOut:
		return
	case started:
		tw.w.WriteHeader(code)
		return
	}
	h := tw.w.Header()
	var prev http.Header // the real values the handler's headers cover
	for k, v := range tw.header {
		if old, ok := h[k]; ok {
			if prev == nil {
				prev = make(http.Header)
			}
			prev[k] = old
		}
		h[k] = v
	}
	// net/http has written the 1xx when WriteHeader returns (HTTP/2 waits
	// for the frame too), so the map is free to restore.
	tw.w.WriteHeader(code)
	for k := range tw.header {
		if old, ok := prev[k]; ok {
			h[k] = old
		} else {
			delete(h, k)
		}
	}
}

func (tw *writer) Write(p []byte) (int, error) {
	if !tw.begin() {
		return 0, http.ErrHandlerTimeout
	}
	return tw.w.Write(p)
}

// begin starts the response for a body write; after that the deadline no
// longer touches the writer, so the write itself needs no lock.
func (tw *writer) begin() bool {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.start()
}

// ReadFrom keeps the connection's sendfile path for io.Copy.
func (tw *writer) ReadFrom(src io.Reader) (int64, error) {
	if !tw.begin() {
		return 0, http.ErrHandlerTimeout
	}
	if rf, ok := tw.w.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{tw.w}, src)
}

// FlushError commits the response and flushes it (http.ResponseController
// calls this).
func (tw *writer) FlushError() error {
	if !tw.begin() {
		return http.ErrHandlerTimeout
	}
	return http.NewResponseController(tw.w).Flush()
}

// Flush is FlushError for handlers that use http.Flusher.
func (tw *writer) Flush() { _ = tw.FlushError() }

// Hijack hands the connection over; the deadline then writes nothing.
// Past the deadline the 503 goes out instead, as for a status.
func (tw *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.state == pending {
		tw.answerIfExpired()
	}
	if tw.state == timedOut {
		return nil, nil, http.ErrHandlerTimeout
	}
	c, rw, err := http.NewResponseController(tw.w).Hijack()
	if err == nil {
		copyHeader(tw.w.Header(), tw.header)
		tw.state = started
	}
	return c, rw, err
}

// Unwrap returns the real writer, for http.ResponseController's other
// methods (deadlines, full duplex).
func (tw *writer) Unwrap() http.ResponseWriter { return tw.w }
