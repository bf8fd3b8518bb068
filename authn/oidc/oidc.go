package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/outbound"
	"github.com/covetgo/covet/internal/redirect"
	jsonv2 "github.com/go-json-experiment/json"
	"golang.org/x/oauth2"
)

// ErrLoginFailed: an OAuth2/OIDC callback could not complete the login
// (401, code "login_failed"); Reason tells why ("state_mismatch",
// "no_state", "provider_error", "exchange", "id_token", "nonce_mismatch",
// "bad_azp").
var ErrLoginFailed = errs.New(errs.KindAuthentication, "login_failed", "The login could not be completed.")

// LoginState is what a login must remember between the redirect to the
// provider and the callback: the state, nonce and PKCE verifier, and where
// to send the user afterwards.
type LoginState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r,omitempty"`
	Expires  int64  `json:"e"`
}

// LoginStateStore binds a LoginState to the user's browser session, so a
// callback is only accepted in the session that started the login.
// CookieStateStore keeps it in a signed cookie; an application with server
// sessions can keep it there.
type LoginStateStore interface {
	SaveLoginState(w http.ResponseWriter, r *http.Request, st LoginState) error
	// TakeLoginState returns the saved state and forgets it (one use).
	TakeLoginState(w http.ResponseWriter, r *http.Request) (LoginState, error)
}

// Options configure an OIDC login flow.
type Options struct {
	// Issuer is the provider's issuer URL (https); its discovery document
	// is fetched by New.
	Issuer string
	// ClientID, ClientSecret and RedirectURL are the client's registration.
	ClientID, ClientSecret, RedirectURL string
	// Scopes to request; "openid" is always included.
	Scopes []string
	// States keeps login state between redirect and callback; required.
	States LoginStateStore
	// Client makes the requests to the provider. Nil: a client with a
	// 10 s timeout. Its redirect policy is replaced by one that follows
	// redirects only over https and to the host first asked, so the
	// client secret and the code never travel in clear text.
	Client *http.Client
	// Principal maps the verified ID token's claims to a principal. Nil:
	// subject from "sub", roles from "roles", scopes from the token
	// response.
	Principal func(c *authn.Claims, tok *oauth2.Token) (*authn.Principal, error)
}

// Client is an OpenID Connect authorization-code login with PKCE (S256,
// always), state and nonce.
type Client struct {
	cfg       oauth2.Config
	verifier  *gooidc.IDTokenVerifier
	states    LoginStateStore
	client    *http.Client
	principal func(*authn.Claims, *oauth2.Token) (*authn.Principal, error)
}

// New validates opts and fetches the provider's discovery document.
// Its authorization, token and key set endpoints must be https; ID tokens
// are checked against the key set with the rules of JWKS (a 256 KiB size
// limit, RSA keys of at least 2048 bits, redirects only to the key set's
// host) and the algorithms the provider announces.
func New(ctx context.Context, opts Options) (*Client, error) {
	if u, err := url.Parse(opts.Issuer); err != nil || u.Scheme != "https" {
		return nil, errs.Configf("authn: Options.Issuer %q must be an https URL", opts.Issuer)
	}
	if opts.ClientID == "" || opts.RedirectURL == "" {
		return nil, errs.Configf("authn: Options.ClientID and RedirectURL are required")
	}
	if opts.States == nil {
		return nil, errs.Configf("authn: Options.States is required")
	}
	client := outbound.Client(opts.Client, 10*time.Second)
	pctx := gooidc.ClientContext(ctx, client)
	provider, err := gooidc.NewProvider(pctx, opts.Issuer)
	if err != nil {
		return nil, errs.Configf("authn: OIDC discovery for %s failed: %v", opts.Issuer, err)
	}
	var meta providerMetadata
	if err := provider.Claims(&meta); err != nil {
		return nil, errs.Configf("authn: OIDC discovery for %s: %v", opts.Issuer, err)
	}
	jwks, algs, err := discoveredKeys(meta, provider.Endpoint().AuthURL, provider.Endpoint().TokenURL, opts)
	if err != nil {
		return nil, err
	}
	// Fetch the keys now when the provider answers; otherwise the first
	// callback does.
	_ = jwks.Fetch(ctx)
	scopes := []string{gooidc.ScopeOpenID}
	for _, s := range opts.Scopes {
		if s != gooidc.ScopeOpenID {
			scopes = append(scopes, s)
		}
	}
	o := &Client{
		cfg: oauth2.Config{
			ClientID: opts.ClientID, ClientSecret: opts.ClientSecret, RedirectURL: opts.RedirectURL,
			Endpoint: provider.Endpoint(), Scopes: scopes,
		},
		verifier:  gooidc.NewVerifier(opts.Issuer, oidcKeySet{keys: jwks}, &gooidc.Config{ClientID: opts.ClientID, SupportedSigningAlgs: algs}),
		states:    opts.States,
		client:    client,
		principal: opts.Principal,
	}
	return o, nil
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Login starts a login: it saves fresh state, nonce and PKCE verifier in
// the user's session and redirects to the provider. returnTo (a local path,
// or "") is where Callback's caller may send the user afterwards; a value
// that is not plainly a path on this site (anything a browser, a decoding
// proxy or http.Redirect's path cleaning could turn into another host,
// such as "//x", "/\x", "/./\x", "/%2f/x" or "/\t/x") is replaced by "".
func (o *Client) Login(w http.ResponseWriter, r *http.Request, returnTo string) {
	if !redirect.LocalPath(returnTo) {
		returnTo = ""
	}
	st := LoginState{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo, Expires: time.Now().Add(10 * time.Minute).Unix()}
	if err := o.states.SaveLoginState(w, r, st); err != nil {
		errs.Write(w, r, authn.ErrUnavailable.WithCause(err))
		return
	}
	u := o.cfg.AuthCodeURL(st.State, gooidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	http.Redirect(w, r, u, http.StatusFound)
}

// Callback completes a login at the redirect URL: it checks the state
// against the session's, exchanges the code with the PKCE verifier,
// verifies the ID token (signature, issuer, audience, expiry) and its
// nonce, and returns the principal, the provider's tokens and the saved
// return path. Errors are ErrLoginFailed (with a Reason) or ErrUnavailable.
func (o *Client) Callback(w http.ResponseWriter, r *http.Request) (*authn.Principal, *oauth2.Token, string, error) {
	p, tok, ret, err := o.callback(w, r)
	if err != nil {
		errs.Audit(r.Context(), "authn.failure", slog.String("method", string(authn.MethodOIDC)),
			slog.String("reason", authn.Reason(err)), slog.String("client_ip", clientIP(r)))
		if e, ok := err.(*errs.Error); ok {
			err = e.WithAudited() // recorded just above, with the reason
		}
		return nil, nil, "", err
	}
	errs.Audit(r.Context(), "authn.login", slog.String("method", string(p.Method)),
		slog.String("subject", p.Subject), slog.String("client_ip", clientIP(r)))
	return p, tok, ret, nil
}

func (o *Client) callback(w http.ResponseWriter, r *http.Request) (*authn.Principal, *oauth2.Token, string, error) {
	st, code, err := o.takeCode(w, r)
	if err != nil {
		return nil, nil, "", err
	}
	ctx := gooidc.ClientContext(r.Context(), o.client)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, o.client)
	tok, err := o.cfg.Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, nil, "", authn.WithReason(ErrLoginFailed, "exchange", err)
	}
	idt, c, err := o.verifyIDToken(ctx, tok, st.Nonce)
	if err != nil {
		return nil, nil, "", err
	}
	p, err := o.principalFor(idt, c, tok)
	if err != nil {
		return nil, nil, "", err
	}
	ret := st.ReturnTo
	if !redirect.LocalPath(ret) {
		ret = "" // saved by an older version or another store
	}
	return p, tok, ret, nil
}

// takeCode takes the saved login state and checks the provider's redirect
// against it: unexpired, the same state, no error, and a code of sane
// length, which it returns.
func (o *Client) takeCode(w http.ResponseWriter, r *http.Request) (LoginState, string, error) {
	st, err := o.states.TakeLoginState(w, r)
	if err != nil {
		return st, "", authn.WithReason(ErrLoginFailed, "no_state", err)
	}
	q := r.URL.Query()
	if st.Expires < time.Now().Unix() {
		return st, "", authn.WithReason(ErrLoginFailed, "state_expired", nil)
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 || st.State == "" {
		return st, "", authn.WithReason(ErrLoginFailed, "state_mismatch", nil)
	}
	if e := q.Get("error"); e != "" {
		return st, "", authn.WithReason(ErrLoginFailed, "provider_error", errors.New(e))
	}
	code := q.Get("code")
	if code == "" || len(code) > 2048 {
		return st, "", authn.WithReason(ErrLoginFailed, "no_code", nil)
	}
	return st, code, nil
}

// verifyIDToken verifies the token response's ID token (signature,
// issuer, audience, expiry, nonce, at_hash and azp) and reads its claims.
func (o *Client) verifyIDToken(ctx context.Context, tok *oauth2.Token, nonce string) (*gooidc.IDToken, *authn.Claims, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" || len(raw) > jwt.MaxTokenSize {
		return nil, nil, authn.WithReason(ErrLoginFailed, "id_token", errors.New("no usable id_token in the token response"))
	}
	idt, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, nil, authn.WithReason(ErrLoginFailed, "id_token", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, nil, authn.WithReason(ErrLoginFailed, "nonce_mismatch", nil)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, nil, authn.WithReason(ErrLoginFailed, "at_hash", err)
		}
	}
	c, err := o.idTokenClaims(idt)
	if err != nil {
		return nil, nil, err
	}
	return idt, c, nil
}

// idTokenClaims checks the verified ID token's authorized party and reads
// its claims.
func (o *Client) idTokenClaims(idt *gooidc.IDToken) (*authn.Claims, error) {
	var payload json.RawMessage
	if err := idt.Claims(&payload); err != nil {
		return nil, authn.WithReason(ErrLoginFailed, "id_token", err)
	}
	if err := checkAZP(payload, idt.Audience, o.cfg.ClientID); err != nil {
		return nil, authn.WithReason(ErrLoginFailed, "bad_azp", err)
	}
	var c authn.Claims
	if err := jwt.ParseClaims(payload, &c); err != nil {
		return nil, authn.WithReason(ErrLoginFailed, "id_token", err)
	}
	return &c, nil
}

// principalFor maps the verified login to a principal: Options.Principal
// when set, else the ID token's subject, roles and expiry with the granted
// scopes (the requested ones when the provider does not say).
func (o *Client) principalFor(idt *gooidc.IDToken, c *authn.Claims, tok *oauth2.Token) (*authn.Principal, error) {
	var p *authn.Principal
	if o.principal != nil {
		var err error
		if p, err = o.principal(c, tok); err != nil {
			return nil, authn.WithReason(ErrLoginFailed, "principal", err)
		}
	} else {
		p = &authn.Principal{Subject: idt.Subject, Method: authn.MethodOIDC, Roles: c.Roles, Claims: c, ExpiresAt: idt.Expiry}
		if s, ok := tok.Extra("scope").(string); ok {
			p.Scopes = strings.Fields(s)
		} else {
			p.Scopes = slices.Clone(o.cfg.Scopes)
		}
	}
	if p == nil || p.Subject == "" {
		return nil, authn.WithReason(ErrLoginFailed, "no_subject", nil)
	}
	return p, nil
}

// checkAZP applies OpenID Connect Core 3.1.3.7: when the ID token has
// several audiences or names an authorized party, that party must be this
// client. The claim is read exactly ("azp", case-sensitive, once).
func checkAZP(payload []byte, aud []string, clientID string) error {
	var v struct {
		AZP *string `json:"azp"`
	}
	if err := jsonv2.Unmarshal(payload, &v); err != nil {
		return err
	}
	if v.AZP == nil && len(aud) <= 1 {
		return nil
	}
	if v.AZP == nil || *v.AZP != clientID {
		return errors.New("azp is not this client")
	}
	return nil
}

// CookieStateStore keeps login state in a short-lived cookie signed with
// HMAC-SHA256, so it is bound to the browser that started the login.
//
// A state is taken once: the store remembers every state it has handed
// out by TakeLoginState until the state expires, and refuses it again, so
// replaying a saved cookie with a fresh code fails even when the browser
// kept the cookie. It remembers at most MaxUsedLoginStates states at a
// time and refuses logins past that until some expire. The memory is per
// process: behind several instances, keep login state in a shared server
// session instead (see LoginStateStore).
type CookieStateStore struct {
	key    []byte
	name   string
	secure bool
	now    func() time.Time

	mu   sync.Mutex
	used map[string]int64 // state -> expiry (Unix seconds)
}

// MaxUsedLoginStates bounds how many taken states a CookieStateStore
// remembers at once (10 minutes of logins at about 160 per second).
const MaxUsedLoginStates = 100_000

// take records st as used; it fails when st was used already or the
// store is full of states that have not expired yet.
func (s *CookieStateStore) take(st LoginState) error {
	now := s.now().Unix()
	if st.Expires < now {
		return errors.New("login state expired")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.used[st.State]; dup {
		return errors.New("login state already used")
	}
	if len(s.used) >= MaxUsedLoginStates {
		for k, exp := range s.used {
			if exp < now {
				delete(s.used, k)
			}
		}
		if len(s.used) >= MaxUsedLoginStates {
			return errors.New("too many logins in progress")
		}
	}
	s.used[st.State] = st.Expires
	return nil
}

// NewCookieStateStore returns a store signing with key (at least 32
// bytes). The cookie is "__Host-covet_login" (Secure, HttpOnly,
// SameSite=Lax, Path=/); insecure, for plain-http development only, drops
// the __Host- prefix and Secure.
func NewCookieStateStore(key []byte, insecure bool) (*CookieStateStore, error) {
	if len(key) < 32 {
		return nil, errs.Configf("authn: NewCookieStateStore needs a key of at least 32 bytes")
	}
	s := &CookieStateStore{key: slices.Clone(key), name: "__Host-covet_login", secure: true, now: time.Now, used: map[string]int64{}}
	if insecure {
		s.name, s.secure = "covet_login", false
	}
	return s, nil
}

func (s *CookieStateStore) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("covet-login-state:"))
	m.Write(b)
	return m.Sum(nil)
}

// SaveLoginState implements LoginStateStore.
func (s *CookieStateStore) SaveLoginState(w http.ResponseWriter, _ *http.Request, st LoginState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	v := base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(s.mac(b))
	http.SetCookie(w, &http.Cookie{Name: s.name, Value: v, Path: "/", MaxAge: 600, Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

// TakeLoginState implements LoginStateStore: it verifies the signature,
// deletes the cookie, and refuses a state it has taken before. Of several
// cookies of its name (one planted by a sibling subdomain, which the
// insecure name cannot keep out), the first that verifies is taken; at
// most maxLoginCookies are tried.
func (s *CookieStateStore) TakeLoginState(w http.ResponseWriter, r *http.Request) (LoginState, error) {
	cookies := r.CookiesNamed(s.name)
	if len(cookies) == 0 {
		return LoginState{}, http.ErrNoCookie
	}
	http.SetCookie(w, &http.Cookie{Name: s.name, Value: "", Path: "/", MaxAge: -1, Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	var err error
	for i, c := range cookies {
		if i == maxLoginCookies {
			break
		}
		var st LoginState
		if st, err = s.verify(c.Value); err == nil {
			if err := s.take(st); err != nil {
				return LoginState{}, err
			}
			return st, nil
		}
	}
	return LoginState{}, err
}

// maxLoginCookies bounds the login cookies TakeLoginState tries.
const maxLoginCookies = 4

// verify checks a login cookie's signature and decodes its state.
func (s *CookieStateStore) verify(v string) (LoginState, error) {
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || len(v) > 4096 {
		return LoginState{}, errors.New("malformed login cookie")
	}
	b, err1 := base64.RawURLEncoding.DecodeString(payload)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(b)) {
		return LoginState{}, errors.New("login cookie signature mismatch")
	}
	var st LoginState
	if err := json.Unmarshal(b, &st); err != nil {
		return LoginState{}, err
	}
	if st.State == "" {
		return LoginState{}, errors.New("login cookie without state")
	}
	return st, nil
}

func clientIP(r *http.Request) string {
	if ip := clientip.FromRequest(r); ip.IsValid() {
		return ip.String()
	}
	return ""
}
