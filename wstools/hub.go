package wstools

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
)

// MaxRoomLength bounds a room name: 1 to 128 bytes of ASCII letters, digits
// and "._:/-@".
const MaxRoomLength = 128

// allRoom is the broker channel of BroadcastAll; it is not a valid room name.
const allRoom = "*"

// ErrInvalidRoom is returned for a room name that is empty, too long or
// contains characters other than letters, digits and "._:/-@".
var ErrInvalidRoom = errs.New(errs.KindBadRequest, "ws_invalid_room", "invalid room name")

// ErrTooManyRooms is returned by Join when the connection is in
// MaxRoomsPerConn rooms already.
var ErrTooManyRooms = errs.New(errs.KindRateLimit, "ws_too_many_rooms", "this connection is in too many rooms")

// ErrConnClosed is returned by Join for a connection that is closing.
var ErrConnClosed = errs.New(errs.KindGone, "ws_conn_closed", "the connection is closed")

// ErrBrokerUnavailable is returned (wrapping the broker's error) by
// Broadcast, BroadcastAll and CloseUser when the broker failed after local
// delivery: this instance's members got the message, other instances may
// not have. It is a 503; a message handler that returns it answers the
// sender with an error message and keeps the connection open.
var ErrBrokerUnavailable = errs.New(errs.KindServiceUnavailable, "ws_broker_unavailable", "the message reached only this instance")

// Hub accepts WebSocket connections and broadcasts to them by room. It is an
// http.Handler for the WebSocket endpoint. Create it with New.
type Hub struct {
	s      *settings
	id     [16]byte
	broker Broker
	shared bool // broker is the application's: publish to it

	mu      sync.RWMutex
	conns   map[*Conn]struct{}
	rooms   map[string]*room
	perIP   map[netip.Prefix]int
	perUser map[string]int
	closing bool
	allSub  func()
	wg      sync.WaitGroup
	nextID  atomic.Uint64

	stats counters
}

type room struct {
	name    string
	mu      sync.Mutex
	members []*Conn
	index   map[*Conn]int
	seq     uint64
	unsub   func()
}

// New validates opts and returns a hub.
func New(opts Options) (*Hub, error) {
	s, err := opts.settings()
	if err != nil {
		return nil, err
	}
	h := &Hub{
		s:       s,
		broker:  opts.Broker,
		shared:  opts.Broker != nil,
		conns:   make(map[*Conn]struct{}),
		rooms:   make(map[string]*room),
		perIP:   make(map[netip.Prefix]int),
		perUser: make(map[string]int),
	}
	_, _ = rand.Read(h.id[:])
	if h.broker == nil {
		h.broker = NewMemoryBroker()
	}
	if h.shared {
		cancel, err := h.broker.Subscribe(allRoom, h.receiver(allRoom))
		if err != nil {
			return nil, errs.Configf("wstools: subscribing to the broker: %v", err)
		}
		h.allSub = cancel
	}
	return h, nil
}

// Handler returns a stage that serves WebSocket handshakes (requests with
// "Upgrade: websocket") with the hub and passes every other request to next.
func (h *Hub) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerHasToken(r.Header, "Upgrade", "websocket") {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP accepts a WebSocket handshake and serves the connection until it
// closes. Refusals before the upgrade are problem+json responses: 426 for a
// request that is not a WebSocket handshake, 400 for a malformed one, 403
// for a refused origin, 401 (or the application's error) for failed
// authentication, 429 over a connection cap, 503 while shutting down.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	proto, user, ipKey, ok := h.admit(w, r)
	if !ok {
		return
	}
	var protos []string
	if proto != "" {
		protos = []string{proto}
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: protos, InsecureSkipVerify: true})
	if err != nil {
		h.release(ipKey, user)
		h.stats.refused.Add(1)
		return
	}
	c := h.newConn(ws, r, user, ipKey)
	h.register(c)
	c.run()
	h.finish(c)
}

// admit runs the checks made before the upgrade: the handshake, the origin,
// the subprotocol, authentication and the per-IP and per-user connection
// caps. On refusal it has written the problem and returns ok false; on
// success the caller owns the reservation of ipKey and user.
func (h *Hub) admit(w http.ResponseWriter, r *http.Request) (proto, user string, ipKey netip.Prefix, ok bool) {
	s := h.s
	if e := checkHandshake(r); e != nil {
		h.refuse(w, r, e)
		return "", "", netip.Prefix{}, false
	}
	if e := s.checkOrigin(r); e != nil {
		h.refuse(w, r, e.With("origin", r.Header.Get("Origin")))
		return "", "", netip.Prefix{}, false
	}
	proto, ok = s.selectSubprotocol(r)
	if !ok {
		h.refuse(w, r, ErrSubprotocolRequired.WithPublic("subprotocols", strings.Join(s.subprotocols, ", ")))
		return "", "", netip.Prefix{}, false
	}
	user, err := s.authenticateRequest(r)
	if err != nil {
		h.refuse(w, r, err)
		return "", "", netip.Prefix{}, false
	}
	ipKey = clientip.Prefix(s.clientIP(r))
	if err := h.reserve(ipKey, user); err != nil {
		h.refuse(w, r, err)
		return "", "", netip.Prefix{}, false
	}
	return proto, user, ipKey, true
}

// newConn wraps an accepted WebSocket in a Conn with its own context, send
// queue, token bucket and (stopped) write deadline.
func (h *Hub) newConn(ws *websocket.Conn, r *http.Request, user string, ipKey netip.Prefix) *Conn {
	s := h.s
	ws.SetReadLimit(s.maxMessage)
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &Conn{
		hub:    h,
		ws:     ws,
		req:    r,
		user:   user,
		ipKey:  ipKey,
		id:     h.nextID.Add(1),
		ctx:    ctx,
		cancel: cancel,
		q:      newSendQueue(s.queueBytes),
		done:   make(chan struct{}),
		tokens: s.burst,
		last:   time.Now(),
		write: func(ctx context.Context, frame []byte) error {
			return ws.Write(ctx, websocket.MessageText, frame)
		},
	}
	c.deadline = time.AfterFunc(time.Hour, c.writeTimedOut)
	c.deadline.Stop()
	return c
}

// register adds c to the hub; if the hub is already shutting down, c is
// closed with 1001 at once.
func (h *Hub) register(c *Conn) {
	h.mu.Lock()
	h.conns[c] = struct{}{}
	closing := h.closing
	h.mu.Unlock()
	h.stats.accepted.Add(1)
	if closing {
		c.closeWith(websocket.StatusGoingAway, "server shutting down")
	}
}

// finish tears c down after its loops have ended: it leaves the rooms at
// once, but stays in h.conns until the close handshake is over, so Shutdown
// can still abort it at its deadline; then it gives back the reservation
// and calls OnDisconnect.
func (h *Hub) finish(c *Conn) {
	h.leaveAll(c)
	c.wg.Wait()
	c.cancel()
	h.remove(c)
	h.release(c.ipKey, c.user)
	if h.s.onDisconnect != nil {
		h.s.onDisconnect(c)
	}
}

func (h *Hub) refuse(w http.ResponseWriter, r *http.Request, err error) {
	h.stats.refused.Add(1)
	errs.Write(w, r, err)
}

// reserve counts a connection against the caps before the upgrade, and in
// the hub's wait group so Shutdown waits for it.
func (h *Hub) reserve(ipKey netip.Prefix, user string) error {
	s := h.s
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return ErrShuttingDown
	}
	if s.maxPerIP > 0 && h.perIP[ipKey] >= s.maxPerIP {
		return ErrTooManyConnections.WithPublic("limit", "per_ip")
	}
	if user != "" && s.maxPerUser > 0 && h.perUser[user] >= s.maxPerUser {
		return ErrTooManyConnections.WithPublic("limit", "per_user")
	}
	h.perIP[ipKey]++
	if user != "" {
		h.perUser[user]++
	}
	h.wg.Add(1)
	return nil
}

func (h *Hub) release(ipKey netip.Prefix, user string) {
	h.mu.Lock()
	if n := h.perIP[ipKey] - 1; n > 0 {
		h.perIP[ipKey] = n
	} else {
		delete(h.perIP, ipKey)
	}
	if user != "" {
		if n := h.perUser[user] - 1; n > 0 {
			h.perUser[user] = n
		} else {
			delete(h.perUser, user)
		}
	}
	h.mu.Unlock()
	h.wg.Done()
}

// remove takes a closed connection out of the hub and its rooms.
func (h *Hub) remove(c *Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	for name, rm := range c.rooms {
		h.leaveLocked(c, name, rm)
	}
	h.mu.Unlock()
}

// leaveAll takes a closing connection out of its rooms.
func (h *Hub) leaveAll(c *Conn) {
	h.mu.Lock()
	for name, rm := range c.rooms {
		h.leaveLocked(c, name, rm)
	}
	h.mu.Unlock()
}

// Join adds c to room, subscribing the hub to the room on the broker when c
// is its first local member. Joining a room twice is a no-op.
func (h *Hub) Join(c *Conn, roomName string) error {
	if !validName(roomName, MaxRoomLength) {
		return ErrInvalidRoom
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.closing.Load() {
		return ErrConnClosed
	}
	if _, in := c.rooms[roomName]; in {
		return nil
	}
	if h.s.maxRooms > 0 && len(c.rooms) >= h.s.maxRooms {
		return ErrTooManyRooms
	}
	rm := h.rooms[roomName]
	if rm == nil {
		rm = &room{name: roomName, index: make(map[*Conn]int)}
		if h.shared {
			unsub, err := h.broker.Subscribe(roomName, h.receiver(roomName))
			if err != nil {
				return errs.Wrap(err, errs.KindServiceUnavailable, "ws_broker_unavailable", "the room could not be joined")
			}
			rm.unsub = unsub
		}
		h.rooms[roomName] = rm
	}
	rm.mu.Lock()
	rm.index[c] = len(rm.members)
	rm.members = append(rm.members, c)
	rm.mu.Unlock()
	if c.rooms == nil {
		c.rooms = make(map[string]*room, 2)
	}
	c.rooms[roomName] = rm
	return nil
}

// Leave removes c from room; the last local member leaving unsubscribes the
// hub from the room. Leaving a room c is not in is a no-op.
func (h *Hub) Leave(c *Conn, roomName string) {
	h.mu.Lock()
	if rm, in := c.rooms[roomName]; in {
		h.leaveLocked(c, roomName, rm)
	}
	h.mu.Unlock()
}

func (h *Hub) leaveLocked(c *Conn, name string, rm *room) {
	delete(c.rooms, name)
	rm.mu.Lock()
	i := rm.index[c]
	last := len(rm.members) - 1
	rm.members[i] = rm.members[last]
	rm.index[rm.members[i]] = i
	rm.members[last] = nil
	rm.members = rm.members[:last]
	delete(rm.index, c)
	empty := last == 0
	rm.mu.Unlock()
	if empty {
		delete(h.rooms, name)
		if rm.unsub != nil {
			rm.unsub()
		}
	}
}

// Presence returns how many connections of this instance are in room.
func (h *Hub) Presence(roomName string) int {
	h.mu.RLock()
	rm := h.rooms[roomName]
	h.mu.RUnlock()
	if rm == nil {
		return 0
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return len(rm.members)
}

// Len returns the number of open connections on this instance.
func (h *Hub) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.conns)
}

// Broadcast sends {"type":typ,"room":room,"seq":n,"data":data} to every
// member of room: on this instance directly, on the others through the
// broker (never back to this one). data is encoded once with encoding/json.
// seq counts the messages delivered into the room on this instance, so a
// client that sees a gap knows it missed messages. Local delivery only
// queues, so it never waits for a slow client; publishing waits for the
// broker (bounded by ctx and the broker's own timeout). A broker failure
// is returned after local delivery, as ErrBrokerUnavailable.
func (h *Hub) Broadcast(ctx context.Context, roomName, typ string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return errs.Wrap(err, errs.KindSerialization, "ws_encode_failed", "the message could not be encoded")
	}
	return h.BroadcastJSON(ctx, roomName, typ, raw)
}

// BroadcastJSON is Broadcast with data already encoded. data that is not
// valid JSON, or not valid UTF-8, is refused: every member would get a
// frame it cannot parse, and a browser fails the whole connection on a
// text frame that is not UTF-8. data is not copied, so do not modify it
// afterwards.
func (h *Hub) BroadcastJSON(ctx context.Context, roomName, typ string, data json.RawMessage) error {
	if !validName(roomName, MaxRoomLength) {
		return ErrInvalidRoom
	}
	if !validName(typ, MaxTypeLength) {
		return errs.New(errs.KindBadRequest, "ws_invalid_type", "invalid message type")
	}
	if !validData(data) {
		return errs.New(errs.KindSerialization, "ws_invalid_data", "the message data is not valid UTF-8 JSON")
	}
	h.deliverRoom(roomName, typ, data)
	return h.publish(ctx, roomName, typ, data)
}

// BroadcastAll sends {"type":typ,"data":data} to every connection of every
// instance.
func (h *Hub) BroadcastAll(ctx context.Context, typ string, data any) error {
	if !validName(typ, MaxTypeLength) {
		return errs.New(errs.KindBadRequest, "ws_invalid_type", "invalid message type")
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return errs.Wrap(err, errs.KindSerialization, "ws_encode_failed", "the message could not be encoded")
	}
	h.deliverAll(typ, raw)
	return h.publish(ctx, allRoom, typ, raw)
}

func (h *Hub) publish(ctx context.Context, roomName, typ string, data []byte) error {
	if !h.shared {
		return nil
	}
	if err := h.broker.Publish(ctx, roomName, encodeEnvelope(h.id, typ, data)); err != nil {
		h.stats.publishErrors.Add(1)
		return ErrBrokerUnavailable.WithCause(err)
	}
	return nil
}

// deliverRoom encodes the frame once and queues it for every local member.
// The room lock is held so every member sees the room's messages in
// sequence order.
func (h *Hub) deliverRoom(roomName, typ string, data []byte) {
	h.mu.RLock()
	rm := h.rooms[roomName]
	h.mu.RUnlock()
	if rm == nil {
		return
	}
	rm.mu.Lock()
	rm.seq++
	frame := appendFrame(make([]byte, 0, len(data)+len(typ)+len(roomName)+56), typ, roomName, rm.seq, data)
	for _, c := range rm.members {
		c.enqueue(frame)
	}
	rm.mu.Unlock()
	h.stats.broadcasts.Add(1)
}

func (h *Hub) deliverAll(typ string, data []byte) {
	frame := appendFrame(make([]byte, 0, len(data)+len(typ)+32), typ, "", 0, data)
	h.mu.RLock()
	for c := range h.conns {
		c.enqueue(frame)
	}
	h.mu.RUnlock()
	h.stats.broadcasts.Add(1)
}

// receiver returns the broker callback for one room channel.
func (h *Hub) receiver(roomName string) func([]byte) {
	return func(msg []byte) {
		if len(msg) > 0 && msg[0] == controlVersion {
			h.receiveControl(msg)
			return
		}
		origin, typ, data, ok := decodeEnvelopeMsg(msg)
		if !ok {
			h.stats.brokerMalformed.Add(1)
			return
		}
		if origin == h.id {
			return
		}
		h.stats.remoteIn.Add(1)
		if roomName == allRoom {
			h.deliverAll(typ, data)
			return
		}
		h.deliverRoom(roomName, typ, data)
	}
}

// envelope on the broker: version byte, 16-byte origin hub ID, type length
// byte, type, JSON data.
const envelopeVersion = 1

func encodeEnvelope(origin [16]byte, typ string, data []byte) []byte {
	b := make([]byte, 0, 18+len(typ)+len(data))
	b = append(b, envelopeVersion)
	b = append(b, origin[:]...)
	b = append(b, byte(len(typ)))
	b = append(b, typ...)
	return append(b, data...)
}

func decodeEnvelopeMsg(b []byte) (origin [16]byte, typ string, data []byte, ok bool) {
	if len(b) < 18 || b[0] != envelopeVersion {
		return origin, "", nil, false
	}
	copy(origin[:], b[1:17])
	n := int(b[17])
	if len(b) < 18+n {
		return origin, "", nil, false
	}
	typ = string(b[18 : 18+n])
	data = b[18+n:]
	if !validName(typ, MaxTypeLength) || !validData(data) {
		return origin, "", nil, false
	}
	return origin, typ, data, true
}

// validData reports whether data can go into a text frame's "data": valid
// JSON (which encoding/json checks) in valid UTF-8 (which it does not).
func validData(data []byte) bool { return utf8.Valid(data) && json.Valid(data) }

// CloseUser closes every connection of user (as Options.Authenticate named
// it) with code and reason: on this instance at once, and with a broker on
// every other instance too, so that logging out or revoking a login reaches
// the user's open WebSockets everywhere. It returns how many connections of
// this instance it closed. code must be 1000, 1001, 1008, 1011, 1013 or an
// application code from 3000 to 4999; reason is cut to 123 bytes. A broker
// failure is returned as ErrBrokerUnavailable after the local connections
// are closed: the other instances' connections may then stay open.
func (h *Hub) CloseUser(ctx context.Context, user string, code websocket.StatusCode, reason string) (int, error) {
	if user == "" || len(user) > 0xffff {
		return 0, errs.New(errs.KindBadRequest, "ws_invalid_user", "CloseUser needs a user of at most 65535 bytes")
	}
	if !closableCode(code) {
		return 0, errs.New(errs.KindBadRequest, "ws_invalid_close_code", "invalid close code").WithPublic("code", int(code))
	}
	reason = cutUTF8(reason, 123)
	n := h.closeUserLocal(user, code, reason)
	if !h.shared {
		return n, nil
	}
	if err := h.broker.Publish(ctx, allRoom, encodeControl(h.id, user, code, reason)); err != nil {
		h.stats.publishErrors.Add(1)
		return n, ErrBrokerUnavailable.WithCause(err)
	}
	return n, nil
}

func (h *Hub) closeUserLocal(user string, code websocket.StatusCode, reason string) int {
	n := 0
	h.mu.RLock()
	for c := range h.conns {
		if c.user == user && c.closeWith(code, reason) {
			n++
		}
	}
	h.mu.RUnlock()
	return n
}

// closableCode reports whether a server may close with code.
func closableCode(code websocket.StatusCode) bool {
	switch code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusPolicyViolation,
		websocket.StatusInternalError, websocket.StatusTryAgainLater:
		return true
	}
	return code >= 3000 && code <= 4999
}

// cutUTF8 cuts s to at most n bytes without splitting a character, and
// drops invalid UTF-8 (a close reason must be valid UTF-8).
func cutUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// A control message on the broker's "*" channel: version byte 2, 16-byte
// origin hub ID, operation byte, then for opCloseUser: close code (2
// bytes, big endian), user length (2 bytes), user, reason.
const (
	controlVersion = 2
	opCloseUser    = 1
)

func encodeControl(origin [16]byte, user string, code websocket.StatusCode, reason string) []byte {
	b := make([]byte, 0, 22+len(user)+len(reason))
	b = append(b, controlVersion)
	b = append(b, origin[:]...)
	b = append(b, opCloseUser, byte(code>>8), byte(code), byte(len(user)>>8), byte(len(user)))
	b = append(b, user...)
	return append(b, reason...)
}

func (h *Hub) receiveControl(b []byte) {
	if len(b) < 22 || b[17] != opCloseUser {
		h.stats.brokerMalformed.Add(1)
		return
	}
	var origin [16]byte
	copy(origin[:], b[1:17])
	if origin == h.id {
		return
	}
	code := websocket.StatusCode(int(b[18])<<8 | int(b[19]))
	n := int(b[20])<<8 | int(b[21])
	if len(b) < 22+n || n == 0 || !closableCode(code) {
		h.stats.brokerMalformed.Add(1)
		return
	}
	user := string(b[22 : 22+n])
	reason := cutUTF8(string(b[22+n:]), 123)
	h.stats.remoteIn.Add(1)
	h.closeUserLocal(user, code, reason)
}
