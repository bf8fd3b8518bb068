// Package wstools serves WebSockets from net/http and chi handlers safely and
// fans messages out across several server instances. It is built on
// github.com/coder/websocket.
//
// A Hub is the whole story: it accepts connections (checking the Origin
// against an exact allowlist that defaults to same-origin, negotiating a
// subprotocol, running the application's authentication check and the caps
// per client IP and per user, refusing with problem+json before the upgrade),
// runs each connection with limits (message size, messages per second, write
// timeout, heartbeat), dispatches JSON messages to a Router by their "type",
// and broadcasts to rooms through bounded per-connection send queues. A
// Broker carries room broadcasts to the other instances: the default keeps
// them in the process, RedisBroker uses Redis pub/sub (single node,
// Sentinel or Cluster), and package wstools/natsbroker uses NATS. Package
// wstools/brokertest checks any Broker.
//
// Close codes a client sees:
//
//	1000 normal closure       the client or the application closed the connection
//	1001 going away           the server is shutting down (Hub.Shutdown)
//	1003 unsupported data     a binary message reached a JSON endpoint
//	1007 invalid payload      invalid UTF-8, or too many malformed JSON messages
//	1008 policy violation     messages faster than the allowed rate, or no pong
//	1009 message too big      a message larger than MaxMessageBytes
//	1011 internal error       a handler panicked or returned a 5xx error other than 503
//	1013 try again later      the send queue overflowed under the Disconnect policy
//
// Every connection has one reader goroutine (the HTTP handler's own, which
// also runs the message handlers in order), one writer goroutine that drains
// its send queue, and one heartbeat goroutine. Reads never have a deadline:
// liveness is decided by pings, so a quiet but healthy socket is never torn
// down. Broadcasts only queue, so a slow client never holds up the hub or
// the other clients; Message.Reply writes straight from the reader goroutine
// when the queue is idle.
//
// Hub.CloseUser closes every connection of a user, on this instance and,
// through the broker, on every other one, with a close code the
// application chooses (for example 4001 after logout or revocation).
//
// # While the broker is down
//
// Local delivery never depends on the broker: a Broadcast reaches this
// instance's members first, then publishes, bounded by the broker's
// timeout (half a second by default). A failed publish is returned as
// ErrBrokerUnavailable (503); a message handler that returns it, or any
// other 503, answers the sender with an error message and keeps the
// connection open, so an outage closes nobody. Messages published while an
// instance is cut off from the broker do not reach it (delivery is at most
// once); joining rooms keeps working, and the broker subscribes again to
// every room by itself when the server is back. CloseUser during an outage
// closes the local connections and returns ErrBrokerUnavailable.
//
// Sequence numbers and Presence are per instance: a client is connected to
// one instance, and its room's "seq" counts what that instance delivered
// into the room.
//
// # WebSockets that are safe by default and fan out
//
// wstools.Hub serves a WebSocket endpoint on github.com/coder/websocket. Before
// the upgrade it checks the handshake, the Origin (exact scheme://host:port
// allowlist; the default is same-origin only, and allowing every origin needs
// AllowAnyOrigin: true), the subprotocol, the application's own
// authentication function, and the connection caps per client IP (via
// clientip, IPv6 per /64) and per user; every refusal is problem+json through
// errs. Each connection then runs with a maximum message size (1009), a
// messages-per-second token bucket (1008), a write timeout, a 25 s ping with a
// pong deadline, and a bounded send queue in bytes (drop-oldest, drop-newest or
// disconnect with 1013, counted in Stats and reported to OnDrop).
//
// Messages are JSON objects dispatched by "type" to a Router; unknown types
// are answered with an error message, malformed JSON closes with 1007 after
// MaxMalformed offences, a handler panic or 5xx error closes with 1011. Rooms
// broadcast in O(room size) with the frame encoded once and a per-room
// sequence number, so a client can tell it missed messages; a connection may be
// in at most MaxRoomsPerConn rooms (64); Presence and seq are per instance. Message.Reply answers a request
// straight from the reader goroutine when nothing is queued. With a
// RedisBroker, a broadcast reaches the room's clients on every instance
// exactly once (no echo), each instance subscribing only to rooms it has
// members in; if Redis goes away local delivery continues and the broker
// resubscribes when it is back. RegisterOnShutdown makes http.Server.Shutdown
// close every socket with 1001 within the drain timeout.
//
//	var hub *wstools.Hub
//	router := wstools.NewRouter()
//	router.Handle("chat.join", func(ctx context.Context, c *wstools.Conn, m wstools.Message) error {
//		var in struct{ Room string `json:"room"` }
//		if err := m.Decode(&in); err != nil {
//			return err // answered as {"type":"error","error":{...problem...}}
//		}
//		if err := hub.Join(c, in.Room); err != nil {
//			return err
//		}
//		if err := m.Reply("chat.joined", in.Room); err != nil {
//			return err
//		}
//		return hub.Broadcast(ctx, in.Room, "chat.presence", map[string]any{"online": hub.Presence(in.Room)})
//	})
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	broker, err := wstools.NewRedisBroker(rdb, wstools.RedisOptions{Prefix: "chat:ws:"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer broker.Close()
//
//	hub, err = wstools.New(wstools.Options{
//		Router:  router,
//		Broker:  broker,
//		Origins: []string{"https://app.example.com"}, // besides the endpoint's own origin
//		Authenticate: func(r *http.Request) (string, error) {
//			p, ok := authn.PrincipalFrom(r.Context()) // any check the app likes
//			if !ok {
//				return "", errors.New("not signed in")
//			}
//			return p.Subject, nil
//		},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//
//	r := chi.NewRouter()
//	r.Get("/chat", hub.ServeHTTP)
//	srv := &http.Server{Addr: ":8080", Handler: r}
//	hub.RegisterOnShutdown(srv) // srv.Shutdown closes every socket with 1001
//
// Clients receive {"type":"chat.presence","room":"lobby","seq":7,"data":{...}}.
package wstools
