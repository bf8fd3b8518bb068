package wstools

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/covetgo/covet/errs"
)

// MaxTypeLength and MaxIDLength bound the "type" and "id" members of an
// incoming message.
const (
	MaxTypeLength = 64
	MaxIDLength   = 64
)

// Errors sent to the client as {"type":"error",...} messages. Compare with
// errors.Is.
var (
	ErrMalformedMessage = errs.New(errs.KindBadRequest, "ws_malformed_message", `A message must be a JSON object with a string "type".`)
	ErrUnknownType      = errs.New(errs.KindNotFound, "ws_unknown_type", "No handler for this message type.")
	ErrInvalidMessage   = errs.New(errs.KindValidation, "ws_invalid_message", "The message does not have the expected shape.")
)

// Message is one message a client sent: a JSON object with a string "type"
// (at most MaxTypeLength characters of letters, digits and "._:/-") and an
// optional string "id" that error replies echo.
type Message struct {
	Type string
	ID   string
	// Raw is the whole message. It is only valid during the handler call:
	// copy it to keep it.
	Raw []byte

	conn *Conn
}

// Reply sends {"type": typ, "data": data} to the connection the message came
// from. Call it only from the handler: when nothing is queued for the
// connection it writes at once from the reader goroutine, saving a hand-off
// to the writer goroutine, and a slow peer then holds up only its own
// connection's reading, for at most WriteTimeout. Otherwise it queues like
// Conn.Send.
func (m Message) Reply(typ string, data any) error {
	frame, err := encodeFrame(typ, "", 0, data)
	if err != nil {
		return err
	}
	m.conn.writeInline(frame)
	return nil
}

// ReplyJSON is Reply with data already encoded (valid JSON, copied).
func (m Message) ReplyJSON(typ string, data json.RawMessage) error {
	if !validName(typ, MaxTypeLength) {
		return errs.New(errs.KindBadRequest, "ws_invalid_type", "invalid message type").With("type", typ)
	}
	m.conn.writeInline(appendFrame(make([]byte, 0, len(data)+len(typ)+24), typ, "", 0, data))
	return nil
}

// Decode unmarshals the whole message into v as strictly as the router
// read its "type" and "id": member names match struct fields exactly (a
// field named by its `json:"name"` tag, or by its Go name without one; no
// case folding, so "Type" and "ROOM" do not fill the fields for "type" and
// "room"), and a name that appears twice in any object refuses the whole
// message instead of letting the last one win. Members without a field
// are ignored. A failure is an ErrInvalidMessage, which the router answers
// with an error message.
func (m Message) Decode(v any) error {
	if err := jsonv2.Unmarshal(m.Raw, v); err != nil {
		return ErrInvalidMessage.WithCause(err)
	}
	return nil
}

// HandlerFunc handles one message type. It runs in the connection's reader
// goroutine, so messages of one connection are handled in order and the
// next one is not read until it returns. A returned 4xx *errs.Error is sent
// to the client as an error message; any other error closes the connection
// with 1011.
type HandlerFunc func(ctx context.Context, c *Conn, m Message) error

// Router dispatches messages to handlers by their "type". Register handlers
// before serving; it is safe for concurrent use afterwards.
type Router struct {
	mu       sync.RWMutex
	handlers map[string]HandlerFunc
}

// NewRouter returns an empty router.
func NewRouter() *Router {
	return &Router{handlers: make(map[string]HandlerFunc)}
}

// Handle registers h for messages of type typ. It panics if typ is not a
// valid type name, h is nil, or typ is already registered, as
// http.ServeMux does for bad patterns.
func (rt *Router) Handle(typ string, h HandlerFunc) {
	if !validName(typ, MaxTypeLength) {
		panic("wstools: invalid message type " + strconv.Quote(typ))
	}
	if h == nil {
		panic("wstools: nil handler for " + strconv.Quote(typ))
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, dup := rt.handlers[typ]; dup {
		panic("wstools: handler for " + strconv.Quote(typ) + " registered twice")
	}
	rt.handlers[typ] = h
}

func (rt *Router) lookup(typ string) HandlerFunc {
	rt.mu.RLock()
	h := rt.handlers[typ]
	rt.mu.RUnlock()
	return h
}

// validName reports whether s is a type or room name: 1 to max bytes of
// ASCII letters, digits and "._:/-@". Such names need no JSON escaping.
func validName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == ':' || c == '/' || c == '-' || c == '@':
		default:
			return false
		}
	}
	return true
}

// decodeEnvelope reads the top-level "type" and "id" members of a message.
// It accepts only a valid JSON object with exactly one "type" (a valid
// name) and at most one "id" (a string of at most MaxIDLength bytes); member
// names are matched exactly, not case-insensitively as encoding/json would.
// b must be valid UTF-8, as Conn's read loop makes sure: strings are read
// as they are, invalid bytes included.
func decodeEnvelope(b []byte) (typ, id string, err error) {
	if !json.Valid(b) {
		return "", "", ErrMalformedMessage
	}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", "", ErrMalformedMessage
	}
	i = skipSpace(b, i+1)
	var env envelope
	for i < len(b) && b[i] != '}' {
		// b[i] is '"': json.Valid guarantees the object's shape.
		kEnd, kEsc := scanString(b, i)
		key := b[i+1 : kEnd]
		if kEsc {
			key = unescape(b[i : kEnd+1])
		}
		i = skipSpace(b, kEnd+1) // at ':'
		i = skipSpace(b, i+1)    // at the value
		vEnd := skipValue(b, i)
		if !env.member(string(key), b[i:vEnd]) {
			return "", "", ErrMalformedMessage
		}
		i = skipSpace(b, vEnd)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if !env.haveType {
		return "", "", ErrMalformedMessage
	}
	return env.typ, env.id, nil
}

// envelope collects the members decodeEnvelope reads.
type envelope struct {
	typ, id          string
	haveType, haveID bool
}

// member takes one member of the object, value being its JSON text, and
// reports whether the envelope is still well-formed.
func (e *envelope) member(key string, value []byte) bool {
	switch key {
	case "type":
		if e.haveType || value[0] != '"' {
			return false
		}
		e.haveType = true
		e.typ = stringValue(value)
		return validName(e.typ, MaxTypeLength)
	case "id":
		if e.haveID || value[0] != '"' {
			return false
		}
		e.haveID = true
		e.id = stringValue(value)
		return len(e.id) <= MaxIDLength
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index of the closing quote of the string starting
// at b[i] and whether it contains escapes.
func scanString(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j, escaped
		}
	}
	return len(b) - 1, escaped
}

// skipValue returns the index just after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end + 1
	case '{', '[':
		return skipComposite(b, i)
	}
	j := i
	for j < len(b) && !endsScalar(b[j]) {
		j++
	}
	return j
}

// skipComposite returns the index just after the object or array starting
// at b[i].
func skipComposite(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			j, _ = scanString(b, j)
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(b)
}

// endsScalar reports whether c ends a number, true, false or null.
func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

// stringValue returns the Go string of a JSON string literal.
func stringValue(lit []byte) string {
	for _, c := range lit[1 : len(lit)-1] {
		if c == '\\' {
			return string(unescape(lit))
		}
	}
	return string(lit[1 : len(lit)-1])
}

func unescape(lit []byte) []byte {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return nil
	}
	return []byte(s)
}
