// Package natsbroker carries wstools room broadcasts between instances over
// NATS (github.com/nats-io/nats.go), as wstools.RedisBroker does over Redis
// pub/sub. It lives in its own package so that applications that do not use
// NATS do not compile its client.
//
// Room "lobby" is published on subject Prefix+"r.lobby" (a '.' in a room
// name becomes '~', which room names cannot contain), Hub.BroadcastAll and
// Hub.CloseUser on Prefix+"all". Each broker holds one NATS subscription
// per room that has local members, so an instance receives only its rooms.
// NATS keeps the order of one connection's messages on a subject, so each
// room's messages arrive in order per publishing instance.
//
// # While NATS is down
//
// Publish does not wait for the server: while the connection is not
// established it fails at once with ErrNotConnected (the hub returns
// wstools.ErrBrokerUnavailable to the caller after local delivery, and
// closes no connection), and messages published meanwhile do not reach
// other instances. A server that stalls without closing the connection is
// noticed by the client's pings (nats.PingInterval, nats.MaxPingsOutstanding);
// until then messages wait in the connection's buffer and go out when it
// answers again. Subscribe never waits for the network: the client replays
// every subscription when it reconnects, so rooms joined during an outage
// become live by themselves. The connection must therefore reconnect
// forever (nats.MaxReconnects(-1)); New refuses one that gives up.
package natsbroker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/covetgo/covet/errs"
)

// DefaultPrefix starts every subject of a Broker by default.
const DefaultPrefix = "covet.ws."

// allRoom is the hub's channel for BroadcastAll and control messages.
const allRoom = "*"

// ErrNotConnected is what Publish returns while the connection to NATS is
// not established.
var ErrNotConnected = errors.New("natsbroker: not connected to NATS")

// Options configures a Broker.
type Options struct {
	// Conn is the NATS connection. Required; it must reconnect forever
	// (nats.MaxReconnects(-1)). The broker never closes it.
	Conn *nats.Conn
	// Prefix starts every subject, so several applications can share a
	// server. It must end with '.' and hold no spaces or wildcards.
	// Empty: DefaultPrefix.
	Prefix string
	// Logger receives subscription errors. Nil: slog.Default().
	Logger *slog.Logger
}

// Broker is a wstools.Broker on NATS core publish/subscribe.
type Broker struct {
	nc     *nats.Conn
	prefix string
	logger *slog.Logger

	mu     sync.Mutex
	rooms  map[string]*room
	closed bool
}

type room struct {
	sub  *nats.Subscription
	subs map[*sub]struct{}
}

type sub struct{ deliver func([]byte) }

// New validates opts and returns a Broker.
func New(opts Options) (*Broker, error) {
	if opts.Conn == nil {
		return nil, errs.Configf("natsbroker: Options.Conn is required")
	}
	if !opts.Conn.Opts.AllowReconnect || opts.Conn.Opts.MaxReconnect >= 0 {
		return nil, errs.Configf("natsbroker: the NATS connection must reconnect forever (nats.MaxReconnects(-1)), or the broker stops for good after an outage")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !validPrefix(prefix) {
		return nil, errs.Configf("natsbroker: Options.Prefix %q must end with '.' and hold no spaces, wildcards or empty tokens", prefix)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Broker{nc: opts.Conn, prefix: prefix, logger: logger, rooms: make(map[string]*room)}, nil
}

func validPrefix(p string) bool {
	if !strings.HasSuffix(p, ".") || strings.ContainsAny(p, " \t\r\n*>") {
		return false
	}
	for _, tok := range strings.Split(strings.TrimSuffix(p, "."), ".") {
		if tok == "" {
			return false
		}
	}
	return true
}

// subject maps a room to its subject. Room names hold letters, digits and
// "._:/-@"; '.' (the NATS token separator) becomes '~', which they cannot
// hold, so the mapping is one to one and never yields an empty token.
func (b *Broker) subject(roomName string) string {
	if roomName == allRoom {
		return b.prefix + "all"
	}
	return b.prefix + "r." + strings.ReplaceAll(roomName, ".", "~")
}

// Publish sends msg to every subscriber of room. It fails at once with
// ErrNotConnected while the connection is down.
func (b *Broker) Publish(ctx context.Context, roomName string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !b.nc.IsConnected() {
		return ErrNotConnected
	}
	return b.nc.Publish(b.subject(roomName), msg)
}

// Subscribe registers deliver for room; the first local subscriber of a
// room subscribes the connection to its subject, the last one leaving
// unsubscribes it. It does not wait for the server.
func (b *Broker) Subscribe(roomName string, deliver func([]byte)) (func(), error) {
	s := &sub{deliver: deliver}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nats.ErrConnectionClosed
	}
	rm := b.rooms[roomName]
	if rm == nil {
		rm = &room{subs: make(map[*sub]struct{})}
		ns, err := b.nc.Subscribe(b.subject(roomName), func(m *nats.Msg) { b.dispatch(rm, m.Data) })
		if err != nil {
			return nil, err
		}
		rm.sub = ns
		b.rooms[roomName] = rm
	}
	rm.subs[s] = struct{}{}
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			delete(rm.subs, s)
			if len(rm.subs) == 0 && b.rooms[roomName] == rm {
				delete(b.rooms, roomName)
				if err := rm.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
					b.logger.LogAttrs(context.Background(), slog.LevelWarn, "natsbroker: unsubscribe failed", slog.String("error", err.Error()))
				}
			}
		})
	}, nil
}

// dispatch runs in the room subscription's goroutine, one message at a
// time, so a room's messages keep their order.
func (b *Broker) dispatch(rm *room, msg []byte) {
	b.mu.Lock()
	subs := make([]*sub, 0, len(rm.subs))
	for s := range rm.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.deliver(msg)
	}
}

// Close unsubscribes every room. It does not close the NATS connection.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	var err error
	for name, rm := range b.rooms {
		if e := rm.sub.Unsubscribe(); e != nil && !errors.Is(e, nats.ErrConnectionClosed) {
			err = errors.Join(err, e)
		}
		delete(b.rooms, name)
	}
	return err
}
