package session

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"

	"github.com/covetgo/covet/errs"
)

// Default names of the synchronizer token's header and form field.
const (
	DefaultCSRFHeader = "X-CSRF-Token"
	DefaultCSRFField  = "csrf_token"
)

// CSRFOptions configures cross-site request forgery protection. The zero
// value runs http.CrossOriginProtection (Go 1.25) on every request with an
// unsafe method (anything but GET, HEAD and OPTIONS): a browser request
// whose Sec-Fetch-Site or Origin header shows it comes from another origin
// is refused with 403 problem+json (code "csrf_cross_origin").
//
// Requests that carry neither Sec-Fetch-Site nor Origin (non-browser
// clients, very old browsers) pass that check. With Token set, such
// requests must also present the session's synchronizer token (see
// CSRFToken) in the header or, for form posts, the form field; a missing
// or wrong token is a 403 (code "csrf_token_invalid").
//
// Requests that carry no session cookie pass both checks: with no cookie
// there is no session for a forged request to act in, so a bearer-token or
// API-key call from an origin that CORS allows needs no entry in
// TrustedOrigins. Such a request may read its (empty) session but may not
// start one: if its handler stores anything in the session, the response
// is replaced by the 403 the checks would have given, so a cross-site form
// cannot log a browser in to an account of the attacker's choosing (login
// CSRF). Origins whose pages start sessions cross-origin belong in
// TrustedOrigins.
type CSRFOptions struct {
	// Disable turns CSRF protection off, for APIs that authenticate with
	// headers rather than cookies and mount the session stage anyway.
	Disable bool
	// TrustedOrigins are origins ("https://app.example.com") whose
	// cross-origin requests are allowed.
	TrustedOrigins []string
	// Token requires the synchronizer token from requests that carry
	// neither Sec-Fetch-Site nor Origin.
	Token bool
	// TokenHeader is the request header carrying the token. Empty:
	// "X-CSRF-Token".
	TokenHeader string
	// TokenField is the form field carrying the token in
	// application/x-www-form-urlencoded bodies. Empty: "csrf_token".
	TokenField string
}

type csrfGuard struct {
	off    bool
	cop    *http.CrossOriginProtection
	token  bool
	header string
	field  string
}

var (
	errCSRFOrigin = errs.New(errs.KindSecurity, "csrf_cross_origin", "Cross-origin request refused.").WithStatus(http.StatusForbidden)
	errCSRFToken  = errs.New(errs.KindSecurity, "csrf_token_invalid", "The CSRF token is missing or invalid.").WithStatus(http.StatusForbidden)
)

func (g *csrfGuard) init(o CSRFOptions) error {
	g.off = o.Disable
	g.cop = http.NewCrossOriginProtection()
	for _, origin := range o.TrustedOrigins {
		if err := g.cop.AddTrustedOrigin(origin); err != nil {
			return errs.Configf("session: CSRF trusted origin %q: %v", origin, err)
		}
	}
	g.token = o.Token
	g.header, g.field = o.TokenHeader, o.TokenField
	if g.header == "" {
		g.header = DefaultCSRFHeader
	}
	if g.field == "" {
		g.field = DefaultCSRFField
	}
	return nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// check runs the CSRF checks on a request. A request without a session
// cookie passes; the error the checks gave is kept on s and refuses the
// save if the handler starts a session (see Manager.commit).
func (g *csrfGuard) check(r *http.Request, s *Session) error {
	if g.off || safeMethod(r.Method) {
		return nil
	}
	err := g.checkRequest(r, s)
	if err != nil {
		// "No session cookie" must mean what it means to load: any
		// cookie of the name that load would consider, not only the
		// first, counts, so a planted empty or oversized cookie in front
		// of the session cookie does not pass a forged request off as
		// cookieless while its session is used.
		if _, n := cookieValues(r, s.m.name); n == 0 {
			s.csrfErr = err
			return nil
		}
	}
	return err
}

func (g *csrfGuard) checkRequest(r *http.Request, s *Session) error {
	if err := g.cop.Check(r); err != nil {
		return errCSRFOrigin.WithCause(err)
	}
	if !g.token || r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != "" {
		return nil
	}
	tok := r.Header.Get(g.header)
	if tok == "" {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				return errs.Wrap(err, errs.KindBadRequest, "form_unparsable", "The form body could not be parsed.")
			}
			tok = r.PostForm.Get(g.field)
		}
	}
	if !s.checkCSRF(tok) {
		return errCSRFToken
	}
	return nil
}

const csrfSecretLen = 32

// CSRFToken returns a synchronizer token for the request's session (see
// Session.CSRFToken).
func CSRFToken(r *http.Request) (string, error) {
	s := From(r)
	if s == nil {
		return "", ErrNoSession
	}
	return s.CSRFToken()
}

// CSRFToken returns a synchronizer token bound to the session, to embed in
// forms (field "csrf_token") or send in the X-CSRF-Token header. Each call
// returns a differently masked token (so the token in a compressed page
// does not leak through BREACH-style attacks); all stay valid until the
// session is renewed or destroyed. The first call creates the session's
// secret, which saves the session.
func (s *Session) CSRFToken() (string, error) {
	if s == nil {
		return "", ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	if s.err != nil {
		return "", s.err
	}
	secret := s.csrfSecret()
	if secret == nil {
		if s.committed {
			s.refused("csrf_token", csrfKey)
			return "", errChangedAfterHeaders
		}
		secret = make([]byte, csrfSecretLen)
		_, _ = rand.Read(secret)
		s.setLocked(csrfKey, base64.RawURLEncoding.EncodeToString(secret), "csrf_token")
	}
	var tok [2 * csrfSecretLen]byte
	_, _ = rand.Read(tok[:csrfSecretLen])
	for i := range csrfSecretLen {
		tok[csrfSecretLen+i] = tok[i] ^ secret[i]
	}
	return base64.RawURLEncoding.EncodeToString(tok[:]), nil
}

// csrfSecret returns the session's CSRF secret or nil; the caller holds
// s.mu.
func (s *Session) csrfSecret() []byte {
	cur, ok := s.lookup(csrfKey)
	if !ok {
		return nil
	}
	str, ok := convert[string](cur)
	if !ok {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(str)
	if err != nil || len(b) != csrfSecretLen {
		return nil
	}
	return b
}

// checkCSRF reports whether tok is a valid masked token of the session.
func (s *Session) checkCSRF(tok string) bool {
	if len(tok) != base64.RawURLEncoding.EncodedLen(2*csrfSecretLen) {
		return false
	}
	var raw [2 * csrfSecretLen]byte
	if n, err := decodeToken(tok, raw[:]); err != nil || n != len(raw) {
		return false
	}
	s.mu.Lock()
	secret := s.csrfSecret()
	s.mu.Unlock()
	if secret == nil {
		return false
	}
	var got [csrfSecretLen]byte
	for i := range csrfSecretLen {
		got[i] = raw[i] ^ raw[csrfSecretLen+i]
	}
	return subtle.ConstantTimeCompare(got[:], secret) == 1
}

func decodeToken(tok string, dst []byte) (int, error) {
	return base64.RawURLEncoding.Decode(dst, []byte(tok))
}
