package wstools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/errs"
)

// Conn is one accepted WebSocket connection. Its methods are safe for
// concurrent use.
type Conn struct {
	hub    *Hub
	ws     *websocket.Conn
	req    *http.Request
	user   string
	ipKey  netip.Prefix
	id     uint64
	ctx    context.Context
	cancel context.CancelFunc
	q      *sendQueue
	wg     sync.WaitGroup
	write  func(ctx context.Context, frame []byte) error
	// deadline bounds a batch or inline write; only the holder of the
	// queue's busy flag arms it.
	deadline *time.Timer

	closeOnce   sync.Once
	closing     atomic.Bool
	closeCode   websocket.StatusCode
	closeReason string
	done        chan struct{} // closed when the connection starts closing
	status      atomic.Int32  // the close code sent or received
	pinging     atomic.Bool   // a heartbeat ping waits for its pong

	rooms map[string]*room // guarded by hub.mu

	// Reader goroutine state.
	tokens    float64
	last      time.Time
	malformed int
	buf       []byte
}

// ID returns a number unique among the hub's connections.
func (c *Conn) ID() uint64 { return c.id }

// User returns the user Options.Authenticate returned ("" for anonymous).
func (c *Conn) User() string { return c.user }

// Subprotocol returns the negotiated subprotocol ("" when none).
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// Request returns the handshake request (its headers and context values,
// such as the request ID). Do not read its body.
func (c *Conn) Request() *http.Request { return c.req }

// Context returns a context that carries the handshake request's values and
// is canceled when the connection is gone.
func (c *Conn) Context() context.Context { return c.ctx }

// CloseStatus returns the close code the connection was closed with, or -1
// while it is open.
func (c *Conn) CloseStatus() websocket.StatusCode {
	if !c.closing.Load() {
		return -1
	}
	return websocket.StatusCode(c.status.Load())
}

// Rooms returns the rooms the connection is in, sorted.
func (c *Conn) Rooms() []string {
	c.hub.mu.RLock()
	out := make([]string, 0, len(c.rooms))
	for name := range c.rooms {
		out = append(out, name)
	}
	c.hub.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Send queues {"type": typ, "data": data} for this connection. data is
// encoded with encoding/json. It returns an error when typ is not a valid
// name or data does not encode; a full queue is handled by the hub's
// Overflow policy, not reported here.
func (c *Conn) Send(typ string, data any) error {
	frame, err := encodeFrame(typ, "", 0, data)
	if err != nil {
		return err
	}
	c.enqueue(frame)
	return nil
}

// SendJSON is Send with data already encoded: it must be valid JSON (for
// example m.Raw in a handler) and is copied into the frame.
func (c *Conn) SendJSON(typ string, data json.RawMessage) error {
	if !validName(typ, MaxTypeLength) {
		return errs.New(errs.KindBadRequest, "ws_invalid_type", "invalid message type").With("type", typ)
	}
	c.enqueue(appendFrame(make([]byte, 0, len(data)+len(typ)+24), typ, "", 0, data))
	return nil
}

// Close starts closing the connection with code and reason (at most 123
// bytes) and returns at once. The client receives the code.
func (c *Conn) Close(code websocket.StatusCode, reason string) {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	c.closeWith(code, reason)
}

// closeWith starts closing with code; it reports whether this call did.
func (c *Conn) closeWith(code websocket.StatusCode, reason string) (first bool) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason = code, reason
		c.status.Store(int32(code))
		c.closing.Store(true)
		close(c.done)
		first = true
	})
	return first
}

// abort closes the connection without a close handshake (the peer is dead
// or the drain timeout has passed).
func (c *Conn) abort(code websocket.StatusCode, reason string) {
	c.closeWith(code, reason)
	c.cancel()
}

// enqueue puts an encoded frame on the send queue under the overflow policy.
func (c *Conn) enqueue(frame []byte) {
	if c.closing.Load() {
		return
	}
	s := c.hub.s
	dropped, bytes, overflow := c.q.push(frame, s.overflow)
	switch {
	case overflow:
		if !c.closeWith(websocket.StatusTryAgainLater, "send queue full") {
			return
		}
		c.hub.stats.slowDisconnects.Add(1)
		if s.onDrop != nil {
			s.onDrop(Drop{Conn: c, Messages: 1, Bytes: len(frame), Policy: Disconnect})
		}
	case dropped > 0:
		c.hub.stats.dropped.Add(uint64(dropped))
		c.hub.stats.droppedBytes.Add(uint64(bytes))
		if s.onDrop != nil {
			s.onDrop(Drop{Conn: c, Messages: dropped, Bytes: bytes, Policy: s.overflow})
		}
	}
}

// run serves the connection until it is closed: the calling goroutine is
// the only reader.
func (c *Conn) run() {
	s := c.hub.s
	c.wg.Add(1)
	go c.writeLoop()
	if s.pingInterval > 0 {
		c.wg.Add(1)
		go c.heartbeat()
	}
	if s.onConnect != nil {
		if err := c.callOnConnect(); err != nil {
			e := errs.From(err)
			if e.Status() < 500 {
				c.closeWith(websocket.StatusPolicyViolation, "refused")
			} else {
				s.logger.LogAttrs(c.ctx, slog.LevelError, "wstools: OnConnect failed", slog.String("error", errs.DefaultSanitizer().String(err.Error())))
				c.closeWith(websocket.StatusInternalError, "internal error")
			}
		}
	}
	c.readLoop()
	c.closeWith(websocket.StatusNormalClosure, "")
}

func (c *Conn) callOnConnect() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in OnConnect: %v\n%s", p, debug.Stack())
		}
	}()
	return c.hub.s.onConnect(c)
}

// readLoop reads messages until the connection fails. Once the connection
// is closing it keeps reading (and discarding) so the close handshake and
// pongs are processed, and so canceling c.ctx can abort a stuck close.
func (c *Conn) readLoop() {
	for {
		typ, r, err := c.ws.Reader(c.ctx)
		if err != nil {
			c.readFailed(err)
			return
		}
		c.buf, err = readInto(c.buf[:0], r)
		if err != nil {
			c.readFailed(err)
			return
		}
		if c.closing.Load() {
			continue
		}
		c.hub.stats.messagesIn.Add(1)
		if !c.allow(time.Now()) {
			c.hub.stats.rateLimited.Add(1)
			c.closeWith(websocket.StatusPolicyViolation, "message rate exceeded")
			continue
		}
		if typ != websocket.MessageText {
			c.closeWith(websocket.StatusUnsupportedData, "binary messages are not accepted")
			continue
		}
		if !utf8.Valid(c.buf) {
			c.closeWith(websocket.StatusInvalidFramePayloadData, "invalid UTF-8")
			continue
		}
		c.dispatch()
		if cap(c.buf) > retainedBuffer {
			// Do not keep a large buffer for an idle connection.
			c.buf = nil
		}
	}
}

// retainedBuffer is the largest read buffer a connection keeps between
// messages.
const retainedBuffer = 8 << 10

// readInto reads a whole message into buf.
func readInto(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (c *Conn) readFailed(err error) {
	switch {
	case errors.Is(err, websocket.ErrMessageTooBig):
		c.hub.stats.tooBig.Add(1)
		c.closeWith(websocket.StatusMessageTooBig, "message too big")
	case websocket.CloseStatus(err) != -1:
		c.closeWith(websocket.CloseStatus(err), "")
	case c.pinging.Load() && errors.Is(err, net.ErrClosed):
		// The socket was torn down under a ping that it did not take.
		c.peerDead()
	default:
		c.closeWith(websocket.StatusAbnormalClosure, "")
	}
	// Nothing more will be read: make sure the writer does not wait for a
	// close reply that no one would process.
	c.cancel()
}

// allow takes a token from the connection's bucket.
func (c *Conn) allow(now time.Time) bool {
	s := c.hub.s
	if s.rate == 0 {
		return true
	}
	c.tokens += now.Sub(c.last).Seconds() * s.rate
	if c.tokens > s.burst {
		c.tokens = s.burst
	}
	c.last = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// dispatch routes the message in c.buf.
func (c *Conn) dispatch() {
	s := c.hub.s
	typ, id, err := decodeEnvelope(c.buf)
	if err != nil {
		c.hub.stats.malformed.Add(1)
		c.malformed++
		if c.malformed > s.maxMalformed {
			c.closeWith(websocket.StatusInvalidFramePayloadData, "too many malformed messages")
			return
		}
		c.sendError("", err)
		return
	}
	h := s.router.lookup(typ)
	if h == nil {
		c.sendError(id, ErrUnknownType.WithPublic("type", typ))
		return
	}
	err = c.call(h, Message{Type: typ, ID: id, Raw: c.buf, conn: c})
	if err == nil {
		return
	}
	// A 4xx is the client's mistake, a 503 a dependency that is down (a
	// broker after local delivery, a store): both are answered with an
	// error message, and the connection stays open.
	if e := errs.From(err); e.Status() < 500 || e.Status() == http.StatusServiceUnavailable {
		if e.Status() >= 500 {
			s.logger.LogAttrs(c.ctx, slog.LevelWarn, "wstools: message handler hit an unavailable dependency",
				slog.String("type", typ), slog.Uint64("conn", c.id), slog.String("error", errs.DefaultSanitizer().String(err.Error())))
		}
		c.sendError(id, e)
		return
	}
	s.logger.LogAttrs(c.ctx, slog.LevelError, "wstools: message handler failed",
		slog.String("type", typ), slog.Uint64("conn", c.id), slog.String("error", errs.DefaultSanitizer().String(err.Error())))
	c.closeWith(websocket.StatusInternalError, "internal error")
}

func (c *Conn) call(h HandlerFunc, m Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.New(errs.KindInternal, "ws_handler_panic", "").WithCause(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
		}
	}()
	return h(c.ctx, c, m)
}

// sendError queues {"type":"error","id":id,"error":<problem>}.
func (c *Conn) sendError(id string, err error) {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"error"`...)
	if id != "" {
		enc, _ := json.Marshal(id)
		b = append(b, `,"id":`...)
		b = append(b, enc...)
	}
	b = append(b, `,"error":`...)
	b = append(b, errs.Problem(c.req, err)...)
	b = append(b, '}')
	c.writeInline(b)
}

// writeLoop drains the send queue. It is the only goroutine that writes
// data messages; on closing it performs the close handshake.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	s := c.hub.s
	batch := make([][]byte, 0, 8)
	defer c.deadline.Stop()
	for {
		select {
		case <-c.done:
			c.q.close()
			if c.ws != nil {
				_ = c.ws.Close(c.closeCode, c.closeReason)
			}
			c.cancel()
			return
		case <-c.q.wake:
		}
		batch = c.q.popAll(batch[:0])
		if len(batch) == 0 {
			continue
		}
		// The deadline is a timer armed per batch rather than a context per
		// write: coder/websocket would register a context callback for every
		// frame. The timer closes the socket, which fails the stuck write.
		c.deadline.Reset(s.writeTimeout)
		n, sent := 0, 0
		var err error
		for i, f := range batch {
			if err == nil {
				err = c.write(context.Background(), f)
				if err == nil {
					sent++
				}
			}
			n += len(f)
			batch[i] = nil
		}
		c.deadline.Stop()
		c.q.written(n)
		c.hub.stats.messagesOut.Add(uint64(sent))
		if err != nil {
			c.hub.stats.writeFailures.Add(1)
			c.abort(websocket.StatusPolicyViolation, "write failed")
		}
	}
}

// writeInline writes frame from the calling goroutine when the send queue is
// idle, saving the hand-off to the writer goroutine; otherwise it queues the
// frame. Only the reader goroutine calls it (replies to a message), so a
// slow peer only delays its own connection's reading, by at most
// WriteTimeout.
func (c *Conn) writeInline(frame []byte) {
	if c.closing.Load() {
		return
	}
	if !c.q.tryInline(frame) {
		c.enqueue(frame)
		return
	}
	c.deadline.Reset(c.hub.s.writeTimeout)
	err := c.write(context.Background(), frame)
	c.deadline.Stop()
	c.q.written(len(frame))
	if err != nil {
		c.hub.stats.writeFailures.Add(1)
		c.abort(websocket.StatusPolicyViolation, "write failed")
		return
	}
	c.hub.stats.messagesOut.Add(1)
}

// writeTimedOut runs when a batch of writes takes longer than WriteTimeout.
func (c *Conn) writeTimedOut() {
	c.abort(websocket.StatusPolicyViolation, "write timeout")
	if c.ws != nil {
		_ = c.ws.CloseNow()
	}
}

// heartbeat pings every PingInterval and aborts the connection when no pong
// arrives within PongTimeout. The reader goroutine processes the pongs.
func (c *Conn) heartbeat() {
	defer c.wg.Done()
	s := c.hub.s
	t := time.NewTicker(s.pingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if !c.ping(s.pongTimeout) {
			return
		}
	}
}

// ping sends one ping and reports whether its pong came within timeout.
// The ping runs on the connection's own context, so coder/websocket does not
// tear the socket down at the pong timeout; the timer closes the connection
// as dead first. When the socket does not take the ping (coder/websocket
// bounds a control frame's write on its own, and then closes the socket),
// the peer is dead too: the reader, which may see the closed socket before
// Ping returns, defers to the heartbeat while pinging is set.
func (c *Conn) ping(timeout time.Duration) bool {
	c.pinging.Store(true)
	defer c.pinging.Store(false)
	t := time.AfterFunc(timeout, c.peerDead)
	err := c.ws.Ping(c.ctx)
	t.Stop()
	if err == nil {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		c.peerDead()
	}
	return false
}

// peerDead closes a connection whose peer did not answer a ping. Only the
// call that starts the close counts it, so it is counted once whichever of
// the pong timer, the heartbeat and the reader gets here first.
func (c *Conn) peerDead() {
	if c.closeWith(websocket.StatusPolicyViolation, "pong timeout") {
		c.hub.stats.deadPeers.Add(1)
	}
	c.cancel()
}

// encodeFrame builds {"type":..,"room":..,"seq":..,"data":..}; room and seq
// are left out when room is "".
func encodeFrame(typ, room string, seq uint64, data any) ([]byte, error) {
	if !validName(typ, MaxTypeLength) {
		return nil, errs.New(errs.KindBadRequest, "ws_invalid_type", "invalid message type").With("type", typ)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, errs.Wrap(err, errs.KindSerialization, "ws_encode_failed", "the message could not be encoded")
	}
	return appendFrame(make([]byte, 0, len(raw)+len(typ)+len(room)+48), typ, room, seq, raw), nil
}

func appendFrame(b []byte, typ, room string, seq uint64, raw []byte) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	if room != "" {
		b = append(b, `","room":"`...)
		b = append(b, room...)
		b = append(b, `","seq":`...)
		b = appendUint(b, seq)
		b = append(b, `,"data":`...)
	} else {
		b = append(b, `","data":`...)
	}
	if len(raw) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, raw...)
	}
	return append(b, '}')
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}
