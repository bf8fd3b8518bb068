package wstools

import (
	"cmp"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// Defaults applied to zero-valued Options fields.
const (
	DefaultMaxMessageBytes   = 32 << 10
	DefaultMessagesPerSecond = 20
	DefaultWriteTimeout      = 10 * time.Second
	DefaultMaxConnsPerIP     = 32
	DefaultMaxConnsPerUser   = 8
	DefaultPingInterval      = 25 * time.Second
	DefaultPongTimeout       = 10 * time.Second
	DefaultSendQueueBytes    = 256 << 10
	DefaultMaxMalformed      = 3
	DefaultMaxRoomsPerConn   = 64
	DefaultDrainTimeout      = 5 * time.Second
)

// Unlimited switches off a numeric limit that allows it (MessagesPerSecond,
// MaxConnsPerIP, MaxConnsPerUser, MaxRoomsPerConn, PingInterval). Zero always means the
// default, so switching a limit off has to be spelled out.
const Unlimited = -1

// Overflow is what a connection's send queue does when a new message does
// not fit in its byte budget.
type Overflow uint8

const (
	// DropOldest discards the oldest queued messages until the new one fits.
	// The client sees a gap in the room's sequence numbers.
	DropOldest Overflow = iota
	// DropNewest discards the new message and keeps the queue as it is.
	DropNewest
	// Disconnect closes the connection with 1013 (try again later). The
	// close frame reaches a peer that is still reading; one whose socket
	// stays full is dropped after WriteTimeout.
	Disconnect
)

// String returns "drop_oldest", "drop_newest" or "disconnect".
func (o Overflow) String() string {
	switch o {
	case DropNewest:
		return "drop_newest"
	case Disconnect:
		return "disconnect"
	}
	return "drop_oldest"
}

// Drop describes messages a slow connection lost (see Options.OnDrop).
type Drop struct {
	Conn     *Conn
	Messages int // how many messages were discarded
	Bytes    int // their total size
	Policy   Overflow
}

// Options configures a Hub. The zero value is a secure, same-origin,
// anonymous endpoint with every limit at its default.
type Options struct {
	// Origins lists the exact origins ("https://app.example.com",
	// "http://localhost:3000": scheme, host and port, no path) whose pages
	// may open a socket in addition to the endpoint's own origin. Browsers
	// always send Origin on a WebSocket handshake; a request without one
	// (a non-browser client) is accepted unless RequireOrigin is set.
	Origins []string
	// AllowAnyOrigin accepts every origin. Only for endpoints that carry no
	// ambient credentials (no cookies, no client certificates): otherwise any
	// site the user visits can open a socket as the user.
	AllowAnyOrigin bool
	// RequireOrigin refuses handshakes that carry no Origin header.
	RequireOrigin bool

	// Subprotocols lists the subprotocols the endpoint speaks, in order of
	// preference. When it is set, a client must offer one of them.
	Subprotocols []string

	// Authenticate, when set, runs before the upgrade and returns the user
	// the connection belongs to ("" for anonymous). An error refuses the
	// handshake: an *errs.Error is written as it is, any other error as 401.
	Authenticate func(r *http.Request) (user string, err error)

	// ClientIP returns the client's address for the per-IP cap. Nil: the
	// address the clientip stage stored in the context, else RemoteAddr.
	ClientIP func(r *http.Request) netip.Addr

	// Router dispatches incoming messages. Nil: every message is answered
	// with an unknown_type error.
	Router *Router

	// OnConnect runs in the connection's reader goroutine after the upgrade,
	// before the first message is read (join rooms here). An error closes
	// the connection: 1008 for a 4xx error, 1011 otherwise.
	OnConnect func(c *Conn) error
	// OnDisconnect runs once the connection is closed and has left its rooms.
	OnDisconnect func(c *Conn)

	// MaxMessageBytes is the largest message a client may send; a larger
	// one closes the connection with 1009. Zero: 32 KiB.
	MaxMessageBytes int64
	// MessagesPerSecond is the sustained rate of client messages, with a
	// burst of Burst; a message beyond it closes the connection with 1008.
	// Zero: 20 per second. Unlimited switches the check off.
	MessagesPerSecond float64
	// Burst is the token bucket's size. Zero: twice MessagesPerSecond.
	Burst int
	// WriteTimeout bounds one write to the socket; a peer that does not
	// take the data in time is disconnected. Zero: 10 s.
	WriteTimeout time.Duration
	// MaxConnsPerIP caps concurrent connections per client address (IPv6
	// counted per /64). Zero: 32. Unlimited switches the cap off.
	MaxConnsPerIP int
	// MaxConnsPerUser caps concurrent connections per authenticated user.
	// Zero: 8. Unlimited switches the cap off.
	MaxConnsPerUser int
	// PingInterval is how often the server pings; a peer that does not
	// answer within PongTimeout is disconnected with 1008. Zero: 25 s.
	// Unlimited switches the heartbeat off.
	PingInterval time.Duration
	// PongTimeout is how long a ping may wait for its pong. Zero: 10 s.
	PongTimeout time.Duration

	// MaxRoomsPerConn caps the rooms one connection may be in, so a client
	// that picks room names cannot make the instance subscribe to without
	// bound. Join returns ErrTooManyRooms beyond it. Zero: 64. Unlimited
	// switches the cap off.
	MaxRoomsPerConn int

	// SendQueueBytes bounds the bytes queued for one connection. Zero: 256 KiB.
	SendQueueBytes int
	// Overflow chooses what happens when the send queue is full.
	Overflow Overflow
	// OnDrop, when set, is called whenever messages are discarded or a
	// connection is disconnected for overflow. It runs synchronously inside
	// the broadcast, holding the room's lock: keep it fast and do not call
	// the Hub from it.
	OnDrop func(Drop)

	// MaxMalformed is how many malformed messages (invalid JSON, no type) a
	// connection may send; the next one closes it with 1007. Each earlier one
	// is answered with an error message. Zero: 3.
	MaxMalformed int

	// Broker carries room broadcasts to other instances. Nil: an in-process
	// broker that nothing else shares (a single instance).
	Broker Broker

	// DrainTimeout bounds Shutdown when it is started by the http.Server the
	// hub is registered with. Zero: 5 s.
	DrainTimeout time.Duration

	// Logger receives handler failures and broker errors. Nil: slog.Default().
	Logger *slog.Logger
}

type settings struct {
	origins       map[string]struct{}
	anyOrigin     bool
	requireOrigin bool
	subprotocols  []string
	authenticate  func(*http.Request) (string, error)
	clientIP      func(*http.Request) netip.Addr
	router        *Router
	onConnect     func(*Conn) error
	onDisconnect  func(*Conn)
	maxMessage    int64
	rate          float64
	burst         float64
	writeTimeout  time.Duration
	maxPerIP      int
	maxPerUser    int
	pingInterval  time.Duration
	pongTimeout   time.Duration
	queueBytes    int
	overflow      Overflow
	onDrop        func(Drop)
	maxMalformed  int
	maxRooms      int
	drainTimeout  time.Duration
	logger        *slog.Logger
}

// settings validates the options and fills in the defaults, one group of
// options at a time.
func (o *Options) settings() (*settings, error) {
	s := &settings{
		anyOrigin:     o.AllowAnyOrigin,
		requireOrigin: o.RequireOrigin,
		authenticate:  o.Authenticate,
		clientIP:      o.ClientIP,
		router:        o.Router,
		onConnect:     o.OnConnect,
		onDisconnect:  o.OnDisconnect,
		overflow:      o.Overflow,
		onDrop:        o.OnDrop,
		logger:        cmp.Or(o.Logger, slog.Default()),
	}
	if s.clientIP == nil {
		s.clientIP = defaultClientIP
	}
	if s.router == nil {
		s.router = NewRouter()
	}
	for _, step := range []func(*Options) error{s.setOrigins, s.setSubprotocols, s.setRate, s.setLimits, s.setTimeouts} {
		if err := step(o); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// setOrigins validates the origin allowlist.
func (s *settings) setOrigins(o *Options) error {
	if len(o.Origins) > 0 {
		s.origins = make(map[string]struct{}, len(o.Origins))
	}
	for _, origin := range o.Origins {
		norm, err := normalizeOrigin(origin)
		if err != nil {
			return errs.Configf("wstools: Origins entry %q: %v", origin, err)
		}
		s.origins[norm] = struct{}{}
	}
	return nil
}

// setSubprotocols validates the subprotocols, which must be tokens.
func (s *settings) setSubprotocols(o *Options) error {
	for _, p := range o.Subprotocols {
		if !httpx.IsToken(p) {
			return errs.Configf("wstools: Subprotocols entry %q is not a valid token", p)
		}
	}
	s.subprotocols = append([]string(nil), o.Subprotocols...)
	return nil
}

// setRate validates the per-connection message rate and its burst.
func (s *settings) setRate(o *Options) error {
	switch {
	case o.MessagesPerSecond == Unlimited:
		s.rate = 0
	case o.MessagesPerSecond == 0:
		s.rate = DefaultMessagesPerSecond
	case o.MessagesPerSecond < 0 || o.MessagesPerSecond != o.MessagesPerSecond:
		return errs.Configf("wstools: MessagesPerSecond %v is negative (use Unlimited to switch the limit off)", o.MessagesPerSecond)
	default:
		s.rate = o.MessagesPerSecond
	}
	switch {
	case o.Burst < 0:
		return errs.Configf("wstools: Burst %d is negative", o.Burst)
	case o.Burst == 0:
		s.burst = max(2*s.rate, 1)
	default:
		s.burst = float64(o.Burst)
	}
	return nil
}

// setLimits validates the size and count limits.
func (s *settings) setLimits(o *Options) error {
	if o.Overflow > Disconnect {
		return errs.Configf("wstools: unknown Overflow policy %d", o.Overflow)
	}
	var err error
	if s.maxMessage, err = positive64("MaxMessageBytes", o.MaxMessageBytes, DefaultMaxMessageBytes, false); err != nil {
		return err
	}
	if s.maxPerIP, err = positiveInt("MaxConnsPerIP", o.MaxConnsPerIP, DefaultMaxConnsPerIP, true); err != nil {
		return err
	}
	if s.maxPerUser, err = positiveInt("MaxConnsPerUser", o.MaxConnsPerUser, DefaultMaxConnsPerUser, true); err != nil {
		return err
	}
	if s.queueBytes, err = positiveInt("SendQueueBytes", o.SendQueueBytes, DefaultSendQueueBytes, false); err != nil {
		return err
	}
	if s.maxMalformed, err = positiveInt("MaxMalformed", o.MaxMalformed, DefaultMaxMalformed, false); err != nil {
		return err
	}
	s.maxRooms, err = positiveInt("MaxRoomsPerConn", o.MaxRoomsPerConn, DefaultMaxRoomsPerConn, true)
	return err
}

// setTimeouts validates the write, heartbeat and drain timeouts.
func (s *settings) setTimeouts(o *Options) error {
	var err error
	if s.writeTimeout, err = positiveDuration("WriteTimeout", o.WriteTimeout, DefaultWriteTimeout, false); err != nil {
		return err
	}
	if s.pingInterval, err = positiveDuration("PingInterval", o.PingInterval, DefaultPingInterval, true); err != nil {
		return err
	}
	if s.pongTimeout, err = positiveDuration("PongTimeout", o.PongTimeout, DefaultPongTimeout, false); err != nil {
		return err
	}
	s.drainTimeout, err = positiveDuration("DrainTimeout", o.DrainTimeout, DefaultDrainTimeout, false)
	return err
}

func positiveInt(name string, v, def int, unlimited bool) (int, error) {
	switch {
	case v == 0:
		return def, nil
	case v == Unlimited && unlimited:
		return 0, nil
	case v < 0:
		if unlimited {
			return 0, errs.Configf("wstools: %s %d is negative (use Unlimited to switch the limit off)", name, v)
		}
		return 0, errs.Configf("wstools: %s %d is negative", name, v)
	}
	return v, nil
}

func positive64(name string, v, def int64, unlimited bool) (int64, error) {
	n, err := positiveInt(name, int(v), int(def), unlimited)
	return int64(n), err
}

func positiveDuration(name string, v, def time.Duration, unlimited bool) (time.Duration, error) {
	switch {
	case v == 0:
		return def, nil
	case v == Unlimited && unlimited:
		return 0, nil
	case v < 0:
		return 0, errs.Configf("wstools: %s %v is negative", name, v)
	}
	return v, nil
}

// normalizeOrigin checks an allowlist entry and returns it lowercased, in
// the form browsers send in the Origin header: the rules are
// httpx.ParseOrigin's, the ones the cors stage applies, and the scheme must
// be http or https.
func normalizeOrigin(s string) (string, error) {
	if strings.Contains(s, "*") {
		return "", errorString("wildcards are not supported; set AllowAnyOrigin to accept every origin")
	}
	s = strings.ToLower(s)
	if _, err := webOrigin(s); err != nil {
		return "", err
	}
	return s, nil
}

// webOrigin parses an origin as a browser sends it and accepts only the
// http and https schemes, the ones a WebSocket page can have.
func webOrigin(s string) (httpx.Origin, error) {
	o, err := httpx.ParseOrigin(s)
	if err != nil {
		return o, err
	}
	if o.Scheme != "http" && o.Scheme != "https" {
		return httpx.Origin{}, errorString("want an http or https origin")
	}
	return o, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }
