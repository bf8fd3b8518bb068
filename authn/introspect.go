package authn

import (
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

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/outbound"
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
	// Audience, when set, must share a value with the response's "aud".
	Audience []string
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
	// MaxBodySize caps the response. Zero: 64 KiB.
	MaxBodySize int64
	// Principal maps an active response to a principal. Nil: subject from
	// "sub" (or "client_id" for client tokens), scopes from "scope".
	Principal func(r *IntrospectionResponse) (*Principal, error)
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// IntrospectionResponse is an RFC 7662 introspection response.
type IntrospectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       Scopes   `json:"aud,omitempty"` // a string or an array
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	Roles     []string `json:"roles,omitempty"`
}

// Introspector is a TokenVerifier that asks the authorization server
// whether a token is active (RFC 7662), for opaque tokens or when
// revocation must be seen at once.
type Introspector struct {
	opts   IntrospectorOptions
	client *http.Client
	cache  *tokenCache
	now    func() time.Time
}

// NewIntrospector validates opts and returns an Introspector.
func NewIntrospector(opts IntrospectorOptions) (*Introspector, error) {
	if u, err := url.Parse(opts.URL); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errs.Configf("authn: IntrospectorOptions.URL %q must be an https URL", opts.URL)
	}
	if opts.ClientID == "" || opts.ClientSecret == "" {
		return nil, errs.Configf("authn: IntrospectorOptions.ClientID and ClientSecret are required")
	}
	if opts.CacheSize < 0 || opts.CacheTTL < 0 || opts.MaxBodySize < 0 {
		return nil, errs.Configf("authn: IntrospectorOptions: negative CacheSize, CacheTTL or MaxBodySize")
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = time.Minute
	}
	if opts.MaxBodySize == 0 {
		opts.MaxBodySize = 64 << 10
	}
	i := &Introspector{opts: opts, client: outbound.Client(opts.Client, 5*time.Second), now: opts.Now}
	if i.now == nil {
		i.now = time.Now
	}
	if opts.CacheSize > 0 {
		i.cache = newTokenCache(opts.CacheSize, opts.CacheTTL)
	}
	return i, nil
}

// Method reports MethodIntrospection, so Bearer labels principals with it.
func (i *Introspector) Method() Method { return MethodIntrospection }

// Verify implements TokenVerifier. An inactive, expired or foreign token is
// ErrInvalidToken (Reason "inactive", "expired", "bad_issuer",
// "bad_audience", "missing_sub"); an unreachable or failing endpoint is
// ErrUnavailable.
func (i *Introspector) Verify(ctx context.Context, token string) (*Principal, error) {
	if token == "" || len(token) > MaxTokenSize {
		return nil, fail(ErrInvalidToken, "too_long", nil)
	}
	now := i.now()
	if i.cache != nil {
		if p, _, ok := i.cache.get(token, now); ok {
			return p, nil
		}
	}
	res, err := i.introspect(ctx, token)
	if err != nil {
		return nil, ErrUnavailable.WithCause(err)
	}
	if !res.Active {
		return nil, fail(ErrInvalidToken, "inactive", nil)
	}
	if res.Exp != 0 && res.Exp <= now.Unix() {
		return nil, fail(ErrInvalidToken, "expired", nil)
	}
	if res.Nbf != 0 && res.Nbf > now.Unix() {
		return nil, fail(ErrInvalidToken, "not_yet_valid", nil)
	}
	if i.opts.Issuer != "" && res.Iss != i.opts.Issuer {
		return nil, fail(ErrInvalidToken, "bad_issuer", nil)
	}
	if len(i.opts.Audience) > 0 && !slices.ContainsFunc(res.Aud, func(a string) bool { return slices.Contains(i.opts.Audience, a) }) {
		return nil, fail(ErrInvalidToken, "bad_audience", nil)
	}
	var p *Principal
	if i.opts.Principal != nil {
		if p, err = i.opts.Principal(res); err != nil {
			return nil, fail(ErrInvalidToken, "principal", err)
		}
	} else {
		sub := res.Sub
		if sub == "" {
			sub = res.ClientID
		}
		p = &Principal{Subject: sub, Method: MethodIntrospection, Scopes: strings.Fields(res.Scope), Roles: res.Roles}
		if res.Exp != 0 {
			p.ExpiresAt = time.Unix(res.Exp, 0)
		}
		if res.ClientID != "" {
			p.Attributes = map[string]string{"client_id": res.ClientID}
		}
	}
	if p == nil || p.Subject == "" {
		return nil, fail(ErrInvalidToken, "missing_sub", nil)
	}
	if i.cache != nil {
		exp := now.Add(i.opts.CacheTTL)
		if res.Exp != 0 && time.Unix(res.Exp, 0).Before(exp) {
			exp = time.Unix(res.Exp, 0)
		}
		i.cache.put(token, p, nil, exp, now)
	}
	return p, nil
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
