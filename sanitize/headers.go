package sanitize

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
)

// HeadersOptions configures the security-headers stage. The zero value is
// the strict default: no framing, no sniffing, strict-origin-when-cross-origin
// referrers, a same-origin opener policy, the legacy XSS auditor off, and
// HSTS for one year on TLS requests.
type HeadersOptions struct {
	// AllowSameOriginFraming sends X-Frame-Options SAMEORIGIN and
	// frame-ancestors 'self' instead of DENY and 'none'.
	AllowSameOriginFraming bool

	// ReferrerPolicy is the Referrer-Policy value. Empty:
	// "strict-origin-when-cross-origin". "unsafe-url" is refused.
	ReferrerPolicy string

	// CrossOriginOpenerPolicy is the Cross-Origin-Opener-Policy value.
	// Empty: "same-origin".
	CrossOriginOpenerPolicy string

	// HSTSMaxAge is the Strict-Transport-Security max-age. Zero: one year.
	// Under a day is refused (it protects nothing); use DisableHSTS to
	// send none.
	HSTSMaxAge time.Duration
	// HSTSIncludeSubdomains adds includeSubDomains.
	HSTSIncludeSubdomains bool
	// HSTSPreload adds preload; it needs HSTSIncludeSubdomains and at least
	// one year, as the preload list requires.
	HSTSPreload bool
	// DisableHSTS sends no Strict-Transport-Security at all.
	DisableHSTS bool
	// Proxies, when set, lets a request that arrived over plain HTTP from a
	// trusted proxy (Proxies.Trusted(RemoteAddr)) count as HTTPS when the
	// proxy says "X-Forwarded-Proto: https". Without it only r.TLS counts:
	// HSTS is never sent over plain HTTP, where it is ignored anyway and
	// would tell an attacker nothing useful.
	Proxies *clientip.Resolver

	// CSP is the Content-Security-Policy. Nil: "frame-ancestors 'none'"
	// (or 'self'). A policy without frame-ancestors gets it added.
	CSP *CSP
	// CSPReportOnly sends the policy as Content-Security-Policy-Report-Only.
	// frame-ancestors is then not enforced, so X-Frame-Options still is.
	CSPReportOnly bool
}

// Headers is the security-headers stage. Every header value is computed at
// construction; per request the stage only copies them into the response
// header map (in one fresh allocation, so handlers may edit them), and when
// the CSP uses a nonce, draws one and stores it in the context.
type Headers struct {
	keys     []string // canonical header names, HSTS last
	values   []string
	hsts     bool
	proxies  *clientip.Resolver
	cspKey   string
	cspParts []string // the CSP split around nonce placeholders
}

type nonceKey struct{}

// responseValues holds the header values of one response and its nonce; a
// pointer to it is the context value, which boxes without allocating.
type responseValues struct {
	vals  [8]string
	nonce string
}

// NonceFrom returns the CSP nonce of the request, for <script nonce="...">,
// or "" when the policy uses none.
func NonceFrom(ctx context.Context) string {
	if v, ok := ctx.Value(nonceKey{}).(*responseValues); ok {
		return v.nonce
	}
	return ""
}

var referrerPolicies = map[string]bool{
	"no-referrer": true, "no-referrer-when-downgrade": true, "origin": true, "origin-when-cross-origin": true,
	"same-origin": true, "strict-origin": true, "strict-origin-when-cross-origin": true,
}

var openerPolicies = map[string]bool{"same-origin": true, "same-origin-allow-popups": true, "unsafe-none": true, "noopener-allow-popups": true}

// NewHeaders validates o and precomputes the header values.
func NewHeaders(o HeadersOptions) (*Headers, error) {
	h := &Headers{proxies: o.Proxies}
	frame, ancestors := "DENY", "'none'"
	if o.AllowSameOriginFraming {
		frame, ancestors = "SAMEORIGIN", "'self'"
	}
	rp, err := knownValue(o.ReferrerPolicy, "strict-origin-when-cross-origin", referrerPolicies, "ReferrerPolicy %q is not a known safe policy")
	if err != nil {
		return nil, err
	}
	coop, err := knownValue(o.CrossOriginOpenerPolicy, "same-origin", openerPolicies, "CrossOriginOpenerPolicy %q is not a known policy")
	if err != nil {
		return nil, err
	}
	h.add("X-Content-Type-Options", "nosniff")
	h.add("X-Frame-Options", frame)
	h.add("Referrer-Policy", rp)
	h.add("Cross-Origin-Opener-Policy", coop)
	h.add("X-Xss-Protection", "0")
	if err := h.setCSP(o, ancestors); err != nil {
		return nil, err
	}
	hsts, err := hstsValue(o)
	if err != nil {
		return nil, err
	}
	if hsts != "" {
		h.add("Strict-Transport-Security", hsts) // last: see Handler
		h.hsts = true
	}
	return h, nil
}

func (h *Headers) add(k, v string) {
	h.keys = append(h.keys, k)
	h.values = append(h.values, v)
}

// knownValue returns v, or def when v is empty, refusing a value not in
// known.
func knownValue(v, def string, known map[string]bool, refusal string) (string, error) {
	if v == "" {
		v = def
	}
	if !known[v] {
		return "", errs.Configf("sanitize: "+refusal, v)
	}
	return v, nil
}

// setCSP adds the Content-Security-Policy header, or, when the policy
// uses a nonce, keeps its parts for Handler to join around a fresh one.
func (h *Headers) setCSP(o HeadersOptions, ancestors string) error {
	csp := o.CSP
	if csp == nil {
		csp = NewCSP()
	}
	if csp.err != nil {
		return csp.err
	}
	if !csp.has("frame-ancestors") {
		csp = csp.clone().Add("frame-ancestors", ancestors)
	}
	h.cspKey = "Content-Security-Policy"
	if o.CSPReportOnly {
		h.cspKey = "Content-Security-Policy-Report-Only"
	}
	h.cspParts = strings.Split(csp.String(), Nonce)
	if len(h.cspParts) == 1 {
		h.add(h.cspKey, h.cspParts[0])
		h.cspParts = nil
	}
	return nil
}

// hstsValue returns the Strict-Transport-Security value, "" with
// DisableHSTS.
func hstsValue(o HeadersOptions) (string, error) {
	if o.DisableHSTS {
		if o.HSTSPreload || o.HSTSIncludeSubdomains || o.HSTSMaxAge != 0 {
			return "", errs.Configf("sanitize: HSTS options set together with DisableHSTS")
		}
		return "", nil
	}
	age := o.HSTSMaxAge
	if age == 0 {
		age = 365 * 24 * time.Hour
	}
	if age < 24*time.Hour {
		return "", errs.Configf("sanitize: HSTSMaxAge %v is under a day; use DisableHSTS to send none", age)
	}
	if o.HSTSPreload && (!o.HSTSIncludeSubdomains || age < 365*24*time.Hour) {
		return "", errs.Configf("sanitize: HSTSPreload needs HSTSIncludeSubdomains and a max-age of at least a year")
	}
	v := "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
	if o.HSTSIncludeSubdomains {
		v += "; includeSubDomains"
	}
	if o.HSTSPreload {
		v += "; preload"
	}
	return v, nil
}

// Handler returns the stage. Headers are set before next runs; next may
// still change or delete them.
func (s *Headers) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		n := len(s.keys)
		if s.hsts && !s.secure(r) {
			n-- // HSTS is last
		}
		// One allocation for every value of this response (and the nonce);
		// NewHeaders keeps the count (at most 7, plus a nonce CSP) within it.
		v := new(responseValues)
		copy(v.vals[:n], s.values)
		for i, k := range s.keys[:n] {
			h[k] = v.vals[i : i+1 : i+1]
		}
		if s.cspParts != nil {
			policy := s.nonceCSP(v)
			v.vals[n] = policy
			h[s.cspKey] = v.vals[n : n+1 : n+1]
			r = r.WithContext(context.WithValue(r.Context(), nonceKey{}, v))
		}
		next.ServeHTTP(w, r)
	})
}

// secure reports whether the request reached us over TLS, directly or
// through a trusted proxy that says so.
func (s *Headers) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if s.proxies == nil {
		return false
	}
	proto := r.Header["X-Forwarded-Proto"]
	if len(proto) != 1 || !strings.EqualFold(strings.TrimSpace(proto[0]), "https") {
		return false
	}
	return s.proxies.Trusted(clientip.ParseRemoteAddr(r.RemoteAddr))
}

// nonceSource holds ChaCha8 generators, each seeded from crypto/rand.
// ChaCha8 is a cryptographically strong generator with key erasure; drawing
// 16 bytes from it costs a few nanoseconds where a crypto/rand.Read call
// costs a system call, which on a busy host dominated the stage's time.
var nonceSource = sync.Pool{New: func() any {
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24+)
	return mrand.NewChaCha8(seed)
}}

// nonceLen is the encoded length of a 128-bit nonce.
const nonceLen = 22

// nonceCSP draws a nonce, stores it in v and returns the policy that names
// it, built in one allocation (the nonce is a substring of the policy).
func (s *Headers) nonceCSP(v *responseValues) (policy string) {
	var raw [16]byte
	g := nonceSource.Get().(*mrand.ChaCha8)
	_, _ = g.Read(raw[:]) // never fails
	nonceSource.Put(g)
	var enc [nonceLen]byte
	base64.RawURLEncoding.Encode(enc[:], raw[:])
	size := 0
	for _, p := range s.cspParts {
		size += len(p)
	}
	const pre, post = "'nonce-", "'"
	size += (len(s.cspParts) - 1) * (len(pre) + nonceLen + len(post))
	var b strings.Builder
	b.Grow(size)
	at := -1
	for i, p := range s.cspParts {
		b.WriteString(p)
		if i < len(s.cspParts)-1 {
			b.WriteString(pre)
			if at < 0 {
				at = b.Len()
			}
			b.Write(enc[:])
			b.WriteString(post)
		}
	}
	policy = b.String()
	v.nonce = policy[at : at+nonceLen]
	return policy
}
