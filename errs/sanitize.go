package errs

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Redacted is what a redacted value becomes when hashing is off.
const Redacted = "[REDACTED]"

// SanitizerOptions configures a Sanitizer. The zero value redacts the
// built-in sensitive keys and secret-looking values, without hashes.
type SanitizerOptions struct {
	// ExtraKeys are more sensitive key names. Keys are compared ignoring case
	// and the separators '-', '_', '.' and ' '; a key is sensitive when it
	// contains one of the long names (password, secret, token, ...) or equals
	// one of the short ones (ssn, pin, cvv, otp, ...).
	ExtraKeys []string
	// Hash replaces a redacted value by "[REDACTED:xxxxxxxx]", a short keyed
	// hash of the value, so that two log lines holding the same secret can be
	// correlated without revealing it.
	Hash bool
	// HashKey keys the hash. Empty: a random per-process key, so hashes
	// correlate within one process only. Set the same key on every instance
	// to correlate across them.
	HashKey []byte
	// MaxString caps the length of any string value (0: 1024 bytes).
	MaxString int
}

// Sanitizer redacts sensitive data from error context, log attributes and
// free text. It is safe for concurrent use.
type Sanitizer struct {
	contains  []string
	exact     map[string]bool
	hash      bool
	hashKey   []byte
	maxString int
}

var containsKeys = []string{
	"password", "passwd", "passphrase", "passcode", "secret", "token", "apikey", "accesskey",
	"authorization", "cookie", "session", "privatekey", "privkey", "creditcard", "cardnumber",
	"signature", "credential", "signingkey", "encryptionkey", "masterkey", "hmackey",
	"subscriptionkey", "seed", "mnemonic", "mfacode", "otpcode", "totpcode", "2facode",
	"twofactorcode", "recoverycode", "backupcode", "verificationcode", "resetcode", "authcode",
	"codeverifier", "connectionstring", "connstr",
}

var exactKeys = []string{
	"ssn", "pin", "cvv", "cvc", "otp", "totp", "mfa", "pwd", "pw", "pass", "auth", "jwt", "dsn",
	"iban", "salt",
}

// NewSanitizer builds a sanitizer.
func NewSanitizer(o SanitizerOptions) *Sanitizer {
	s := &Sanitizer{
		contains:  containsKeys,
		exact:     make(map[string]bool, len(exactKeys)+len(o.ExtraKeys)),
		hash:      o.Hash,
		hashKey:   o.HashKey,
		maxString: o.MaxString,
	}
	for _, k := range exactKeys {
		s.exact[k] = true
	}
	if len(o.ExtraKeys) > 0 {
		s.contains = append([]string(nil), containsKeys...)
		for _, k := range o.ExtraKeys {
			if n := normalizeKey(k); n != "" {
				s.contains = append(s.contains, n)
			}
		}
	}
	if s.hash && len(s.hashKey) == 0 {
		s.hashKey = make([]byte, 32)
		_, _ = rand.Read(s.hashKey)
	}
	if s.maxString <= 0 {
		s.maxString = 1024
	}
	return s
}

var defaultSanitizer = NewSanitizer(SanitizerOptions{})

func normalizeKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// SensitiveKey reports whether values under key are redacted whatever they are.
func (s *Sanitizer) SensitiveKey(key string) bool {
	n := normalizeKey(key)
	if s.exact[n] {
		return true
	}
	for _, c := range s.contains {
		if strings.Contains(n, c) {
			return true
		}
	}
	return false
}

func (s *Sanitizer) redacted(v any) string {
	if !s.hash {
		return Redacted
	}
	m := hmac.New(sha256.New, s.hashKey)
	fmt.Fprint(m, v)
	return "[REDACTED:" + hex.EncodeToString(m.Sum(nil)[:4]) + "]"
}

// Map returns a sanitized deep copy of m: values under sensitive keys are
// redacted, secret-looking strings are redacted wherever they are, and every
// value is reduced to JSON-safe types (maps, slices, strings, numbers, bools).
func (s *Sanitizer) Map(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return s.walkMap(m, 0)
}

// Value sanitizes v as found under key (key may be empty).
func (s *Sanitizer) Value(key string, v any) any {
	if key != "" && s.SensitiveKey(key) {
		return s.redacted(v)
	}
	return s.walk(v, 0)
}

const maxDepth = 8

func (s *Sanitizer) walkMap(m map[string]any, depth int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		k = s.String(k)
		if s.SensitiveKey(k) {
			out[k] = s.redacted(v)
			continue
		}
		out[k] = s.walk(v, depth+1)
	}
	return out
}

func (s *Sanitizer) walk(v any, depth int) any {
	if depth > maxDepth {
		return "[TOO DEEP]"
	}
	if out, ok := s.walkScalar(v); ok {
		return out
	}
	switch t := v.(type) {
	case error:
		return s.String(safeText(t.Error))
	case fmt.Stringer:
		return s.String(safeText(t.String))
	case map[string]any:
		return s.walkMap(t, depth)
	case map[string]string:
		return s.walkStringMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = s.walk(e, depth+1)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = s.String(e)
		}
		return out
	}
	return s.reflectValue(reflect.ValueOf(v), depth)
}

// walkScalar sanitizes the basic types: text is cleaned, numbers that could
// be card numbers are checked, floats made JSON-safe. ok is false for any
// other type.
func (s *Sanitizer) walkScalar(v any) (out any, ok bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string:
		return s.String(t), true
	case []byte:
		return s.String(string(t)), true
	case json.Number:
		if n, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return s.unsigned(n), true
		}
		return t, true
	case bool, int32, int16, int8, uint8, uint16, uint32:
		return t, true
	case int:
		return s.number(int64(t)), true
	case int64:
		return s.number(t), true
	case uint:
		return s.unsigned(uint64(t)), true
	case uint64:
		return s.unsigned(t), true
	case float64:
		return finite(t), true
	case float32:
		return finite(float64(t)), true
	}
	return nil, false
}

func (s *Sanitizer) walkStringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, val := range m {
		k = s.String(k)
		if s.SensitiveKey(k) {
			out[k] = s.redacted(val)
		} else {
			out[k] = s.String(val)
		}
	}
	return out
}

// reflectValue handles the types the fast switch does not: other maps and
// slices become their JSON-safe equivalents, anything else its printed form.
func (s *Sanitizer) reflectValue(rv reflect.Value, depth int) any {
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := s.String(it.Key().String())
			if s.SensitiveKey(k) {
				out[k] = s.redacted(it.Value().Interface())
			} else {
				out[k] = s.walk(it.Value().Interface(), depth+1)
			}
		}
		return out
	case reflect.Slice, reflect.Array:
		n := min(rv.Len(), 100)
		out := make([]any, n)
		for i := range n {
			out[i] = s.walk(rv.Index(i).Interface(), depth+1)
		}
		return out
	case reflect.Struct:
		return s.walkStruct(rv, depth)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return s.walk(rv.Elem().Interface(), depth+1)
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return "[" + rv.Kind().String() + "]"
	}
	return s.String(safeText(func() string { return fmt.Sprint(rv.Interface()) }))
}

// walkStruct turns a struct into a map of its exported fields, named as
// encoding/json names them, so key-based redaction sees "Password" and
// `json:"api_token"` fields.
func (s *Sanitizer) walkStruct(rv reflect.Value, depth int) any {
	t := rv.Type()
	out := make(map[string]any, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("json"); ok {
			n, _, _ := strings.Cut(tag, ",")
			if n == "-" {
				continue
			}
			if n != "" {
				name = n
			}
		}
		v := rv.Field(i).Interface()
		if s.SensitiveKey(name) {
			out[name] = s.redacted(v)
			continue
		}
		out[name] = s.walk(v, depth+1)
	}
	return out
}

// safeText calls a String or Error method, turning a panic into a marker:
// rendering an error must never fail because a value's method is broken.
func safeText(f func() string) (out string) {
	defer func() {
		if recover() != nil {
			out = "[PANIC IN STRING METHOD]"
		}
	}()
	return f()
}

func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return f
}

func (s *Sanitizer) number(n int64) any {
	if n < 0 {
		return n
	}
	return s.unsigned(uint64(n))
}

func (s *Sanitizer) unsigned(n uint64) any {
	if n >= 1e12 {
		d := strconv.FormatUint(n, 10)
		if len(d) >= 13 && len(d) <= 19 && luhn(d) {
			return s.redacted(d)
		}
	}
	return n
}

// String redacts secret-looking substrings of v (JWTs, bearer and basic
// credentials, PEM private-key blocks, card numbers that pass the Luhn
// check, passwords in DSNs and URLs, values given to sensitive keys, OAuth
// codes in query strings), replaces invalid UTF-8 and caps the length. A
// value that is a JSON object or array is decoded (escapes honoured),
// sanitized as a map and encoded again, so a quote inside a secret cannot
// end its redaction early. It returns v itself when nothing needs changing.
func (s *Sanitizer) String(v string) string {
	if len(v) > s.maxString {
		cut := s.maxString
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "…"
	}
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
	}
	if out, ok := s.jsonText(v); ok {
		return out
	}
	var b []byte // built lazily, only when something is redacted
	last := 0
	for i := 0; i < len(v); {
		end, start := s.secretAt(v, i)
		if end <= i {
			end, start = s.assignmentAt(v, i)
		}
		if end > start && end >= i && start >= last {
			b = append(b, v[last:start]...)
			b = append(b, s.redacted(v[start:end])...)
			last, i = end, end
			continue
		}
		i++
	}
	if b == nil {
		return v
	}
	return string(append(b, v[last:]...))
}

// jsonText sanitizes v when it is a JSON object or array: decoded, walked
// like a map (so key-based redaction applies at every depth) and encoded
// again. ok is false when v is not JSON.
func (s *Sanitizer) jsonText(v string) (out string, ok bool) {
	t := strings.TrimSpace(v)
	if len(t) < 2 || (t[0] != '{' || t[len(t)-1] != '}') && (t[0] != '[' || t[len(t)-1] != ']') || !json.Valid([]byte(t)) {
		return "", false
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var x any
	if dec.Decode(&x) != nil {
		return "", false
	}
	clean, err := encodeJSON(s.walk(x, 0))
	if err != nil {
		return "", false
	}
	if orig, err := encodeJSON(x); err == nil && orig == clean {
		return v, true
	}
	return clean, true
}

func encodeJSON(x any) (string, error) {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// secretAt reports a secret beginning at or just after i: it returns the
// secret's span [start, end), or end <= i when there is none.
func (s *Sanitizer) secretAt(v string, i int) (end, start int) {
	if i > 0 && isTokenByte(v[i-1]) {
		return 0, 0 // only look at the start of a word
	}
	e := i
	switch c := v[i]; {
	case c == 'e' && strings.HasPrefix(v[i:], "eyJ"):
		e = jwtEnd(v, i)
	case c == 'B' || c == 'b':
		return schemeCredential(v, i)
	case c == '-':
		e = pemEnd(v, i)
	case isDigit(c):
		e = cardEnd(v, i)
	}
	if e > i {
		return e, i
	}
	return 0, 0
}

// schemeCredential returns the span of the credential after "Bearer " or
// "Basic " (any case) at v[i:], when it is at least 8 bytes long.
func schemeCredential(v string, i int) (end, start int) {
	for _, scheme := range [...]string{"bearer ", "basic "} {
		if len(v)-i <= len(scheme) || !strings.EqualFold(v[i:i+len(scheme)], scheme) {
			continue
		}
		j := i + len(scheme)
		for j < len(v) && v[j] == ' ' {
			j++
		}
		e := j
		for e < len(v) && isCredentialByte(v[e]) {
			e++
		}
		if e-j >= 8 {
			return e, j
		}
	}
	return 0, 0
}

// isCredentialByte: the bytes of a token68 (RFC 9110 §11.2) and of a JWT.
func isCredentialByte(c byte) bool {
	return isTokenByte(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// pemEnd returns the end of a PEM private-key block starting at i (through
// its END line, or the end of v when the END line is missing), or i.
func pemEnd(v string, i int) int {
	const begin = "-----BEGIN "
	if !strings.HasPrefix(v[i:], begin) {
		return i
	}
	rest := v[i+len(begin):]
	label, _, ok := strings.Cut(rest, "-----")
	if !ok || len(label) > 64 || !strings.Contains(strings.ToUpper(label), "PRIVATE KEY") {
		return i
	}
	j := strings.Index(rest, "-----END ")
	if j < 0 {
		return len(v)
	}
	tail := rest[j+len("-----END "):]
	k := strings.Index(tail, "-----")
	if k < 0 {
		return len(v)
	}
	return len(v) - len(tail) + k + len("-----")
}

// assignmentAt finds a secret value at v[i]: a value given to a sensitive
// key ("password=x", "api_key: x", `"secret":"x"`), the password of a URL
// ("scheme://user:pass@host") or a MySQL DSN ("user:pass@tcp(host)/db"),
// or an OAuth code in a query string ("?code=x"). It returns the span.
func (s *Sanitizer) assignmentAt(v string, i int) (end, start int) {
	switch v[i] {
	case '@':
		return mysqlPassword(v, i)
	case ':':
		if strings.HasPrefix(v[i:], "://") {
			return userinfoPassword(v, i+3)
		}
		return s.keyedValue(v, i)
	case '=':
		return s.keyedValue(v, i)
	}
	return 0, 0
}

// keyedValue returns the span of the value after the '=' or ':' at v[i]
// when the key before it is sensitive (or an OAuth code parameter).
func (s *Sanitizer) keyedValue(v string, i int) (end, start int) {
	c := v[i]
	k, keyEnd := keyBefore(v, i)
	if k == keyEnd {
		return 0, 0
	}
	key := v[k:keyEnd]
	if !s.SensitiveKey(key) && !(c == '=' && queryCode(v, k, key)) {
		return 0, 0
	}
	if c == ':' && errorPrefix(v, k, i) && prefixWords[key] {
		return 0, 0 // "session: not found" is a package's error prefix, not a value
	}
	return valueSpan(v, i+1, c == '=')
}

// keyBefore returns the span [k, keyEnd) of the key that ends just before
// v[i], skipping the closing quote of a quoted key ("secret":"x") and its
// backslash when escaped (\"secret\":\"x\"). k == keyEnd when there is none.
func keyBefore(v string, i int) (k, keyEnd int) {
	keyEnd = i
	if keyEnd > 0 && (v[keyEnd-1] == '"' || v[keyEnd-1] == '\'') {
		keyEnd--
		if keyEnd > 0 && v[keyEnd-1] == '\\' {
			keyEnd--
		}
	}
	k = keyEnd
	for k > 0 && (isTokenByte(v[k-1]) || v[k-1] == '.') {
		k--
	}
	return k, keyEnd
}

// queryCode reports whether key, at v[k:], is an OAuth authorization code
// parameter of a query string or fragment ("?code=", "&code=", "#code=").
func queryCode(v string, k int, key string) bool {
	return k > 0 && (v[k-1] == '?' || v[k-1] == '&' || v[k-1] == '#') && strings.EqualFold(key, "code")
}

// valueSpan returns the span of the value that starts at v[i] (after
// spaces). A quoted value runs to its closing quote, backslash escapes
// honoured, or to the end of v. An unquoted value after '=' ends at
// whitespace, '&', or a ',' or ';' followed by whitespace; after ':' (a
// header line, "Cookie: a=1; sid=x") at the end of the line or at ", ".
func valueSpan(v string, i int, equals bool) (end, start int) {
	start = i
	for start < len(v) && (v[start] == ' ' || v[start] == '\t') {
		start++
	}
	if start < len(v) && (v[start] == '"' || v[start] == '\'') {
		start++
		end = quotedEnd(v, start, v[start-1])
	} else {
		end = start
		for end < len(v) && !valueEnds(v, end, equals) {
			end++
		}
	}
	if end > start {
		return end, start
	}
	return 0, 0
}

// quotedEnd returns where the value quoted by q that starts at v[start]
// ends: its closing quote (backslash escapes honoured) or the end of v.
func quotedEnd(v string, start int, q byte) int {
	end := start
	for ; end < len(v) && v[end] != q; end++ {
		if v[end] == '\\' {
			end++
		}
	}
	return min(end, len(v))
}

// valueEnds reports whether an unquoted value ends at v[end] (see valueSpan).
func valueEnds(v string, end int, equals bool) bool {
	d := v[end]
	if d == '\n' || d == '\r' || equals && (d == ' ' || d == '\t' || d == '&') {
		return true
	}
	if d != ',' && !(equals && d == ';') {
		return false
	}
	return end+1 == len(v) || v[end+1] == ' ' || v[end+1] == '\t' || v[end+1] == '\n'
}

// prefixWords are sensitive key words that are also the names of packages,
// whose errors read "session: not found". Header names ("Cookie: ...") are
// capitalized and do not match.
var prefixWords = map[string]bool{"session": true, "sessions": true, "cookie": true, "auth": true, "csrf": true}

// errorPrefix reports whether the word v[k:colon] is placed like the
// package prefix of a Go error: at the start of the text or of a wrapped
// error (after ": "), and followed by ": ".
func errorPrefix(v string, k, colon int) bool {
	return (k == 0 || strings.HasSuffix(v[:k], ": ")) && colon+1 < len(v) && v[colon+1] == ' '
}

// userinfoPassword returns the span of the password in "user:pass@host" at
// v[i:]: from the first ':' to the last '@' of the authority, so a password
// holding an unencoded '@' is redacted whole.
func userinfoPassword(v string, i int) (end, start int) {
	colon, at := -1, -1
	for j := i; j < len(v); j++ {
		switch v[j] {
		case ':':
			if colon < 0 {
				colon = j
			}
		case '@':
			if colon >= 0 {
				at = j
			}
		case '/', ' ', '\t', '\n', '\r', '?', '#', '"', '\'', '<', '>':
			j = len(v)
		}
	}
	if colon >= 0 && at > colon+1 {
		return at, colon + 1
	}
	return 0, 0
}

// mysqlPassword returns the span of the password in a MySQL DSN
// "user:pass@tcp(host)/db" (also unix(...), "@/db" and "@(host)") when v[at]
// is the '@' before the address.
func mysqlPassword(v string, at int) (end, start int) {
	if !mysqlAddress(v[at+1:]) {
		return 0, 0
	}
	k := at
	for k > 0 && strings.IndexByte(" \t\n\r\"'=/", v[k-1]) < 0 {
		k--
	}
	colon := strings.IndexByte(v[k:at], ':')
	if colon < 0 || k+colon+1 == at {
		return 0, 0
	}
	return at, k + colon + 1
}

// mysqlAddress reports whether rest starts like the address part of a
// MySQL DSN: tcp(...), tcp6(...), unix(...), (...) or /db.
func mysqlAddress(rest string) bool {
	for _, p := range [...]string{"tcp(", "tcp6(", "unix(", "(", "/"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// jwtEnd returns the end of a compact JWS starting at i (three base64url
// segments, the first two non-empty), or i when there is none.
func jwtEnd(v string, i int) int {
	j, dots := i, 0
	segStart := i
	for j < len(v) {
		c := v[j]
		if isTokenByte(c) {
			j++
			continue
		}
		if c == '.' && dots < 2 && j > segStart {
			dots++
			j++
			segStart = j
			continue
		}
		break
	}
	if dots == 2 {
		return j
	}
	return i
}

// cardEnd returns the end of a 13-19 digit card number starting at i (digits
// optionally grouped by single spaces or dashes) that passes the Luhn check.
func cardEnd(v string, i int) int {
	digits, n, end := cardDigits(v, i)
	if n < 13 || n > 19 || end < len(v) && isTokenByte(v[end]) || !luhn(string(digits[:n])) {
		return i
	}
	return end
}

// cardDigits reads the digits of v[i:], each group separated by a single
// space or dash, up to the first other byte. It stops with n = 20 at a
// twentieth digit: too long to be a card number.
func cardDigits(v string, i int) (digits [19]byte, n, end int) {
	end = i
	for j := i; j < len(v); j++ {
		c := v[j]
		if isDigit(c) {
			if n == len(digits) {
				return digits, n + 1, end
			}
			digits[n] = c
			n++
			end = j + 1
			continue
		}
		if !cardSeparator(v, i, j) {
			break
		}
	}
	return digits, n, end
}

// cardSeparator reports whether v[j] is a space or dash between two digits
// of a number that starts at v[i].
func cardSeparator(v string, i, j int) bool {
	c := v[j]
	return (c == ' ' || c == '-') && j > i && j+1 < len(v) && isDigit(v[j-1]) && isDigit(v[j+1])
}

func luhn(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i] - '0')
		if double {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
		double = !double
	}
	return sum%10 == 0
}

// ReplaceAttr sanitizes slog attributes; use it as slog.HandlerOptions.ReplaceAttr
// (or call it from yours) so logs never carry secrets.
//
// Everything beneath a sensitive group is redacted: slog.Group("password",
// ...) and logger.WithGroup("secret") hide every attribute they hold.
func (s *Sanitizer) ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	for _, g := range groups {
		if s.SensitiveKey(g) {
			return slog.String(a.Key, s.redacted(a.Value.Any()))
		}
	}
	if a.Value.Kind() == slog.KindGroup {
		if s.SensitiveKey(a.Key) {
			return slog.String(a.Key, s.redacted(a.Value.Any()))
		}
		return a
	}
	if s.SensitiveKey(a.Key) {
		return slog.String(a.Key, s.redacted(a.Value.Any()))
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if str := a.Value.String(); len(str) > 0 {
			if out := s.String(str); out != str {
				return slog.String(a.Key, out)
			}
		}
	case slog.KindAny:
		// Everything else (maps, headers, structs, slices, errors) gets the
		// full walk, so key-based redaction reaches nested values too.
		if _, ok := a.Value.Any().(slog.LogValuer); ok {
			return a
		}
		return slog.Any(a.Key, s.walk(a.Value.Any(), 0))
	}
	return a
}

// Attrs sanitizes attributes as ReplaceAttr does, going into groups, for
// callers that build records by hand.
func (s *Sanitizer) Attrs(attrs []slog.Attr) []slog.Attr {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		if a.Value.Kind() == slog.KindGroup {
			if s.SensitiveKey(a.Key) {
				out[i] = slog.String(a.Key, Redacted)
				continue
			}
			out[i] = slog.Attr{Key: a.Key, Value: slog.GroupValue(s.Attrs(a.Value.Group())...)}
			continue
		}
		out[i] = s.ReplaceAttr(nil, a)
	}
	return out
}
