package oidc

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/tokencache"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/outbound"
	"golang.org/x/sync/singleflight"
)

// IntrospectorOptions configure an RFC 7662 token introspection client.
type IntrospectorOptions struct {
	// URL is the introspection endpoint; required, https only.
	URL string
	// ClientID and ClientSecret authenticate this resource server to the
	// endpoint (HTTP Basic); required.
	ClientID, ClientSecret string
	// Issuer, when set, must equal the response's "iss".
	Issuer string
	// Audience lists this resource server's identifiers; the response's
	// "aud" must share a value with it. Required unless AnyAudience is
	// set, so a token issued for another API is not accepted here.
	Audience []string
	// AnyAudience accepts tokens whatever their audience. Only for an
	// authorization server that issues tokens for this API alone.
	AnyAudience bool
	// TokenTypes lists the accepted "token_type" values of an active
	// response (compared case-insensitively; a response without one is
	// accepted). Nil: "access_token" and "Bearer", so a refresh token
	// or an ID token presented as a bearer token is refused. A response
	// whose "token_use" names another kind of token is refused as well.
	TokenTypes []string
	// Client makes the requests. Nil: a client with a 5 s timeout. Its
	// redirect policy is replaced by one that follows redirects only over
	// https and to the endpoint's host, so the client credentials and the
	// token never travel in clear text or to another server.
	Client *http.Client
	// CacheSize, when positive, caches active results for up to CacheTTL
	// and never past the token's exp. Zero: no cache.
	CacheSize int
	// CacheTTL bounds how long a result is reused (and so how late a
	// revocation is noticed). Zero: 1 minute.
	CacheTTL time.Duration
	// InactiveTTL is how long an inactive or refused answer is reused,
	// so one token sent again and again costs one upstream call per
	// InactiveTTL. Zero: 5 seconds; negative: not cached. Up to
	// InactiveCacheSize tokens are kept (zero: 4096).
	InactiveTTL       time.Duration
	InactiveCacheSize int
	// MaxBodySize caps the response. Zero: 64 KiB.
	MaxBodySize int64
	// Principal maps an active response to a principal. Nil: subject from
	// "sub" (or "client_id" for client tokens), scopes from "scope".
	Principal func(r *IntrospectionResponse) (*authn.Principal, error)
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// IntrospectionResponse is an RFC 7662 introspection response.
type IntrospectionResponse struct {
	Active    bool         `json:"active"`
	Scope     string       `json:"scope,omitempty"`
	ClientID  string       `json:"client_id,omitempty"`
	Username  string       `json:"username,omitempty"`
	TokenType string       `json:"token_type,omitempty"`
	Exp       int64        `json:"exp,omitempty"`
	Iat       int64        `json:"iat,omitempty"`
	Nbf       int64        `json:"nbf,omitempty"`
	Sub       string       `json:"sub,omitempty"`
	Aud       authn.Scopes `json:"aud,omitempty"` // a string or an array
	Iss       string       `json:"iss,omitempty"`
	Jti       string       `json:"jti,omitempty"`
	Roles     []string     `json:"roles,omitempty"`
	// TokenUse is the "token_use" member some servers send
	// ("access_token", "refresh_token").
	TokenUse string `json:"token_use,omitempty"`
}

// Introspector is a TokenVerifier that asks the authorization server
// whether a token is active (RFC 7662), for opaque tokens or when
// revocation must be seen at once. Concurrent checks of one token share
// one upstream call, and inactive answers are remembered for InactiveTTL.
type Introspector struct {
	opts     IntrospectorOptions
	client   *http.Client
	cache    *tokencache.Cache
	inactive *tokencache.Cache
	calls    singleflight.Group
	now      func() time.Time
}

// NewIntrospector validates opts and returns an Introspector.
func NewIntrospector(opts IntrospectorOptions) (*Introspector, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	i := &Introspector{opts: opts, client: outbound.Client(opts.Client, 5*time.Second), now: opts.Now}
	if i.now == nil {
		i.now = time.Now
	}
	if opts.CacheSize > 0 {
		i.cache = tokencache.New(opts.CacheSize, opts.CacheTTL)
	}
	if opts.InactiveTTL > 0 {
		i.inactive = tokencache.New(opts.InactiveCacheSize, opts.InactiveTTL)
	}
	return i, nil
}

// validate refuses a non-https endpoint, missing client credentials,
// negative sizes and an audience rule that is missing or ambiguous.
func (opts *IntrospectorOptions) validate() error {
	if u, err := url.Parse(opts.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		return errs.Configf("authn: IntrospectorOptions.URL %q must be an https URL", opts.URL)
	}
	if opts.ClientID == "" || opts.ClientSecret == "" {
		return errs.Configf("authn: IntrospectorOptions.ClientID and ClientSecret are required")
	}
	if opts.CacheSize < 0 || opts.CacheTTL < 0 || opts.MaxBodySize < 0 || opts.InactiveCacheSize < 0 {
		return errs.Configf("authn: IntrospectorOptions: negative CacheSize, CacheTTL, InactiveCacheSize or MaxBodySize")
	}
	if len(opts.Audience) == 0 && !opts.AnyAudience {
		return errs.Configf("authn: IntrospectorOptions.Audience is required (or set AnyAudience)")
	}
	if len(opts.Audience) > 0 && opts.AnyAudience {
		return errs.Configf("authn: IntrospectorOptions: Audience and AnyAudience are exclusive")
	}
	return nil
}

// setDefaults fills the zero values that mean a default.
func (opts *IntrospectorOptions) setDefaults() {
	if opts.TokenTypes == nil {
		opts.TokenTypes = []string{"access_token", "Bearer"}
	}
	if opts.InactiveTTL == 0 {
		opts.InactiveTTL = 5 * time.Second
	}
	opts.InactiveCacheSize = cmp.Or(opts.InactiveCacheSize, 4096)
	opts.CacheTTL = cmp.Or(opts.CacheTTL, time.Minute)
	opts.MaxBodySize = cmp.Or(opts.MaxBodySize, 64<<10)
}

// Method reports MethodIntrospection, so Bearer labels principals with it.
func (i *Introspector) Method() authn.Method { return authn.MethodIntrospection }

// Verify implements TokenVerifier. An inactive, expired or foreign token is
// ErrInvalidToken (Reason "inactive", "expired", "bad_issuer",
// "bad_audience", "bad_token_type", "missing_sub"); an unreachable or
// failing endpoint is ErrUnavailable.
func (i *Introspector) Verify(ctx context.Context, token string) (*authn.Principal, error) {
	if token == "" || len(token) > jwt.MaxTokenSize {
		return nil, authn.WithReason(authn.ErrInvalidToken, "too_long", nil)
	}
	now := i.now()
	if i.cache != nil {
		if p, _, ok := i.cache.Get(token, now); ok {
			return p, nil
		}
	}
	if i.inactive != nil {
		if _, _, ok := i.inactive.Get(token, now); ok {
			return nil, authn.WithReason(authn.ErrInvalidToken, "inactive", nil)
		}
	}
	res, err := i.shared(ctx, token)
	if err != nil {
		return nil, authn.ErrUnavailable.WithCause(err)
	}
	p, err := i.check(res, now)
	if err != nil {
		if i.inactive != nil {
			i.inactive.Put(token, nil, nil, now.Add(i.opts.InactiveTTL), now)
		}
		return nil, err
	}
	if i.cache != nil {
		exp := now.Add(i.opts.CacheTTL)
		if res.Exp != 0 && time.Unix(res.Exp, 0).Before(exp) {
			exp = time.Unix(res.Exp, 0)
		}
		i.cache.Put(token, p, nil, exp, now)
	}
	return p, nil
}

// shared runs one introspection per token at a time: concurrent callers
// with the same token wait for the same answer. The call is detached from
// the first caller's cancellation (the client's timeout bounds it); each
// caller still stops waiting when its own context ends.
func (i *Introspector) shared(ctx context.Context, token string) (*IntrospectionResponse, error) {
	ch := i.calls.DoChan(token, func() (any, error) {
		return i.introspect(context.WithoutCancel(ctx), token)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*IntrospectionResponse), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// check turns an introspection response into a principal, or the reason
// the token is refused.
func (i *Introspector) check(res *IntrospectionResponse, now time.Time) (*authn.Principal, error) {
	if err := checkActive(res, now); err != nil {
		return nil, err
	}
	if err := i.checkTokenType(res); err != nil {
		return nil, err
	}
	if err := i.checkIssuerAudience(res); err != nil {
		return nil, err
	}
	return i.principalFor(res)
}

// checkActive refuses a token the server calls inactive, and one whose
// exp or nbf says it is not valid at now.
func checkActive(res *IntrospectionResponse, now time.Time) error {
	if !res.Active {
		return authn.WithReason(authn.ErrInvalidToken, "inactive", nil)
	}
	if res.Exp != 0 && res.Exp <= now.Unix() {
		return authn.WithReason(authn.ErrInvalidToken, "expired", nil)
	}
	if res.Nbf != 0 && res.Nbf > now.Unix() {
		return authn.WithReason(authn.ErrInvalidToken, "not_yet_valid", nil)
	}
	return nil
}

// checkTokenType refuses a token whose token_type is not one of
// TokenTypes, or whose token_use says it is not an access token.
func (i *Introspector) checkTokenType(res *IntrospectionResponse) error {
	if res.TokenType != "" && !slices.ContainsFunc(i.opts.TokenTypes, func(t string) bool { return strings.EqualFold(t, res.TokenType) }) {
		return authn.WithReason(authn.ErrInvalidToken, "bad_token_type", nil)
	}
	if res.TokenUse != "" && !strings.EqualFold(res.TokenUse, "access_token") && !strings.EqualFold(res.TokenUse, "access") {
		return authn.WithReason(authn.ErrInvalidToken, "bad_token_type", nil)
	}
	return nil
}

// checkIssuerAudience refuses a token from another issuer (when Issuer is
// set) or for none of the accepted audiences (unless AnyAudience).
func (i *Introspector) checkIssuerAudience(res *IntrospectionResponse) error {
	if i.opts.Issuer != "" && res.Iss != i.opts.Issuer {
		return authn.WithReason(authn.ErrInvalidToken, "bad_issuer", nil)
	}
	if !i.opts.AnyAudience && !slices.ContainsFunc(res.Aud, func(a string) bool { return slices.Contains(i.opts.Audience, a) }) {
		return authn.WithReason(authn.ErrInvalidToken, "bad_audience", nil)
	}
	return nil
}

// principalFor maps an accepted response to a principal with Options.Principal,
// or else with introspectedPrincipal; it must have a subject.
func (i *Introspector) principalFor(res *IntrospectionResponse) (*authn.Principal, error) {
	var p *authn.Principal
	if i.opts.Principal != nil {
		var err error
		if p, err = i.opts.Principal(res); err != nil {
			return nil, authn.WithReason(authn.ErrInvalidToken, "principal", err)
		}
	} else {
		p = introspectedPrincipal(res)
	}
	if p == nil || p.Subject == "" {
		return nil, authn.WithReason(authn.ErrInvalidToken, "missing_sub", nil)
	}
	return p, nil
}

// introspectedPrincipal is the default principal of a response: the
// subject (or, for a client's own token, its client_id), scopes, roles,
// expiry, and client_id as an attribute.
func introspectedPrincipal(res *IntrospectionResponse) *authn.Principal {
	sub := res.Sub
	if sub == "" {
		sub = res.ClientID
	}
	p := &authn.Principal{Subject: sub, Method: authn.MethodIntrospection, Scopes: strings.Fields(res.Scope), Roles: res.Roles}
	if res.Exp != 0 {
		p.ExpiresAt = time.Unix(res.Exp, 0)
	}
	if res.ClientID != "" {
		p.Attributes = map[string]string{"client_id": res.ClientID}
	}
	return p
}

func (i *Introspector) introspect(ctx context.Context, token string) (*IntrospectionResponse, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, i.opts.URL, strings.NewReader(form))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(i.opts.ClientID), url.QueryEscape(i.opts.ClientSecret))
	resp, err := i.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, errors.New("authn: introspection: status " + strconv.Itoa(resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, i.opts.MaxBodySize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > i.opts.MaxBodySize {
		return nil, errors.New("authn: introspection response exceeds MaxBodySize")
	}
	var res IntrospectionResponse
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
