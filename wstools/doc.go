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
package wstools
