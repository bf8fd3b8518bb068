package cors

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	rscors "github.com/rs/cors"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// MaxMaxAge is the longest Options.MaxAge accepted: 24 hours, Firefox's
// cap. Chromium caps the preflight cache at 2 hours (7200 seconds) whatever
// the server says, so values above that only help Firefox.
const MaxMaxAge = 24 * time.Hour

// Options configures a CORS policy. The zero value allows no cross-origin
// access at all: same-origin only, no CORS headers on any response.
type Options struct {
	// AllowedOrigins lists the origins that may read responses, each as
	// scheme://host[:port], exactly as a browser serializes it (no path, no
	// trailing slash, no default port, no userinfo). Two wildcards exist: one
	// leading "*." label for any subdomain ("https://*.example.com" matches
	// "https://a.example.com" and "https://a.b.example.com", never
	// "https://example.com" or "https://evilexample.com"), and a ":*" port
	// for any port or none ("http://localhost:*"). A lone "*" allows every
	// origin and is refused together with AllowCredentials. "null" and file:
	// origins are refused. Entries are lowercased; matching of the request's
	// Origin is exact and case-sensitive, as browsers send it lowercase.
	AllowedOrigins []string

	// AllowOriginFunc decides, per request, on origins the AllowedOrigins
	// list does not allow; the list is always checked first. It only sees
	// a single, well-formed, lowercase Origin (scheme://host[:port], no
	// "null", no default port), and never an http: one when AllowCredentials
	// is set without DangerouslyAllowHTTPOriginsWithCredentials. What it
	// allows is the caller's responsibility: it must be safe for concurrent
	// use, fast (it runs on every cross-origin request), and its answer
	// should depend only on the origin and the request's URL, since
	// responses vary on Origin alone.
	//
	// With AllowCredentials, New calls it once with a GET request from
	// https://origin-probe.invalid (a name that cannot exist) and refuses
	// a function that allows it: such a function lets every site act as
	// the user. It is refused together with AllowedOrigins "*".
	AllowOriginFunc func(r *http.Request, origin string) bool

	// AllowedMethods lists the methods a preflight may ask for. Empty: GET,
	// HEAD and POST. Methods are case-sensitive ("PATCH" does not allow
	// "patch"; browsers uppercase only DELETE, GET, HEAD, OPTIONS, POST and
	// PUT). GET, HEAD and POST are always accepted, as browsers never need
	// permission for them. An actual request whose method is not accepted
	// gets no CORS headers.
	AllowedMethods []string

	// AllowedHeaders lists the request headers a preflight may ask for
	// (case-insensitive). Empty: Accept, Content-Type and X-Requested-With.
	// "*" allows any header; it is refused together with AllowCredentials,
	// where it would expose Authorization to every allowed origin.
	AllowedHeaders []string

	// ExposedHeaders lists the response headers scripts may read beyond the
	// CORS-safelisted ones.
	ExposedHeaders []string

	// AllowCredentials lets browsers send cookies and HTTP authentication
	// and lets scripts read the response.
	AllowCredentials bool

	// DangerouslyAllowHTTPOriginsWithCredentials accepts http: origins
	// together with AllowCredentials. Anyone on the network path of such an
	// origin can inject script into it and act as the user; leave it off
	// outside local development.
	DangerouslyAllowHTTPOriginsWithCredentials bool

	// AllowPrivateNetwork answers a preflight carrying
	// "Access-Control-Request-Private-Network: true" with
	// "Access-Control-Allow-Private-Network: true", letting the allowed
	// origins reach this server on a private network (Chromium's Private
	// Network Access). It is refused together with AllowedOrigins "*" and
	// with a policy that allows no origin.
	AllowPrivateNetwork bool

	// MaxAge is how long browsers may cache a preflight answer, in whole
	// seconds, at most MaxMaxAge (Chromium still caps it at 2 hours). Zero
	// sends no Access-Control-Max-Age, so browsers use their default of 5
	// seconds.
	MaxAge time.Duration

	// DisablePreflightCache sends "Access-Control-Max-Age: 0", so browsers
	// send a preflight before every request that needs one. It is refused
	// together with a MaxAge.
	DisablePreflightCache bool

	// PreflightStatus is the status of a preflight answer: 204 when zero.
	// Only 2xx statuses are accepted, as browsers fail a preflight answered
	// with any other. Some old clients want 200.
	PreflightStatus int

	// PreflightPassthrough hands preflights to the next handler after the
	// CORS headers are in place, instead of answering them here; the
	// handler then writes the status. A refused preflight is passed on too,
	// without CORS headers, unless RefusePreflightWith403 answers it. It is
	// refused together with PreflightStatus.
	PreflightPassthrough bool

	// RefusePreflightWith403 answers a refused preflight with 403 and a
	// problem+json body (code "cors_preflight_refused") instead of a 204
	// without CORS headers. Browsers fail the request either way; the 403
	// makes the refusal visible in logs and developer tools.
	RefusePreflightWith403 bool
}

// Policy is a compiled CORS policy. It is safe for concurrent use.
type Policy struct {
	rs         *rscors.Cors // answers preflights, configured from the validated Options
	match      *matcher
	originFunc func(*http.Request, string) bool
	// funcHTTP: originFunc may see http: origins.
	funcHTTP bool

	allOrigins     bool // "*" without credentials
	none           bool // nothing allowed: same-origin only
	headers        headerSet
	credentials    bool
	exposed        string
	maxAge         string
	privateNetwork bool
	passthrough    bool
	status         int
	refuse403      bool
	varyPreflight  string

	methods         []string // allowed methods beyond GET, HEAD and POST
	actualValues    int      // fresh values an allowed actual request needs beyond Vary
	preflightValues int      // fresh values an allowed preflight may need
}

// CORS is the former name of Policy.
//
// Deprecated: use Policy.
type CORS = Policy

var errPreflightRefused = errs.New(errs.KindAuthorization, "cors_preflight_refused",
	"The cross-origin request is not allowed by the CORS policy.")

// probeOrigin is an origin no site can have (.invalid is reserved by RFC
// 2606): an origin function that allows it allows every origin.
const probeOrigin = "https://origin-probe.invalid"

// safelisted are the methods browsers never ask permission for.
var safelisted = []string{http.MethodGet, http.MethodHead, http.MethodPost}

// New validates o and compiles the policy. Invalid or insecure settings give
// a configuration error naming the offending entry.
func New(o Options) (*Policy, error) {
	c := &Policy{
		credentials:    o.AllowCredentials,
		refuse403:      o.RefusePreflightWith403,
		originFunc:     o.AllowOriginFunc,
		funcHTTP:       !o.AllowCredentials || o.DangerouslyAllowHTTPOriginsWithCredentials,
		privateNetwork: o.AllowPrivateNetwork,
		passthrough:    o.PreflightPassthrough,
	}
	var err error
	if err = c.compileOrigins(o); err != nil {
		return nil, err
	}
	if c.methods, err = extraMethods(o.AllowedMethods); err != nil {
		return nil, err
	}
	if c.headers, err = compileHeaders(o); err != nil {
		return nil, err
	}
	if c.exposed, err = exposedHeaders(o); err != nil {
		return nil, err
	}
	if c.maxAge, err = maxAgeValue(o); err != nil {
		return nil, err
	}
	if err := c.checkPreflightOptions(o); err != nil {
		return nil, err
	}
	c.varyPreflight = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	if c.privateNetwork {
		c.varyPreflight += ", Access-Control-Request-Private-Network"
	}
	c.actualValues = count(c.credentials, c.exposed != "")
	c.preflightValues = 1 + count(c.allOrigins, c.credentials, c.maxAge != "", c.privateNetwork)
	c.rs = c.newPreflightEngine()
	return c, nil
}

// count returns how many of bs are true.
func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// compileOrigins validates AllowedOrigins and AllowOriginFunc and builds
// the matcher.
func (c *Policy) compileOrigins(o Options) error {
	var ps []pattern
	for _, raw := range o.AllowedOrigins {
		if raw == "*" {
			if o.AllowCredentials {
				return errs.Configf(`cors: allowed origin "*" together with AllowCredentials would let every site act as the user; list the origins`)
			}
			if len(o.AllowedOrigins) > 1 {
				return errs.Configf(`cors: allowed origin "*" must be the only entry`)
			}
			c.allOrigins = true
			continue
		}
		p, err := parsePattern(raw)
		if err != nil {
			return err
		}
		if o.AllowCredentials && p.scheme == "http" && !o.DangerouslyAllowHTTPOriginsWithCredentials {
			return errs.Configf("cors: allowed origin %q: an http: origin with AllowCredentials lets anyone on its network path act as the user; use https, or set DangerouslyAllowHTTPOriginsWithCredentials for local development", raw)
		}
		ps = append(ps, p)
	}
	c.match = newMatcher(ps)
	if err := c.checkOriginFunc(o); err != nil {
		return err
	}
	c.none = !c.allOrigins && len(ps) == 0 && c.originFunc == nil
	return nil
}

// extraMethods validates AllowedMethods (empty: GET, HEAD and POST) and
// returns those beyond the CORS-safelisted ones.
func extraMethods(methods []string) ([]string, error) {
	var extra []string
	for _, m := range methods {
		if !httpx.IsToken(m) {
			return nil, errs.Configf("cors: allowed method %q is not a valid method token", m)
		}
		if m == "*" {
			return nil, errs.Configf(`cors: allowed method "*": list the methods`)
		}
		if !slices.Contains(safelisted, m) && !slices.Contains(extra, m) {
			extra = append(extra, m)
		}
	}
	return extra, nil
}

// compileHeaders validates AllowedHeaders (empty: Accept, Content-Type and
// X-Requested-With) into the set preflights are checked against.
func compileHeaders(o Options) (headerSet, error) {
	hdrs := o.AllowedHeaders
	if len(hdrs) == 0 {
		hdrs = []string{"Accept", "Content-Type", "X-Requested-With"}
	}
	var s headerSet
	for _, h := range hdrs {
		if h == "*" {
			if o.AllowCredentials {
				return s, errs.Configf(`cors: allowed header "*" together with AllowCredentials would let every allowed origin send Authorization and cookies-bearing custom headers; list the headers`)
			}
			s.all = true
			continue
		}
		if !httpx.IsToken(h) || len(h) > maxHeaderLen {
			return s, errs.Configf("cors: allowed header %q is not a valid header name", h)
		}
		s.add(strings.ToLower(h))
	}
	return s, nil
}

// exposedHeaders validates ExposedHeaders and returns the field value.
func exposedHeaders(o Options) (string, error) {
	exposed := make([]string, 0, len(o.ExposedHeaders))
	for _, h := range o.ExposedHeaders {
		if !httpx.IsToken(h) {
			return "", errs.Configf("cors: exposed header %q is not a valid header name", h)
		}
		if h == "*" && o.AllowCredentials {
			return "", errs.Configf(`cors: exposed header "*" means the literal name "*" when credentials are allowed; list the headers`)
		}
		exposed = append(exposed, http.CanonicalHeaderKey(h))
	}
	return strings.Join(exposed, ", "), nil
}

// maxAgeValue validates MaxAge and DisablePreflightCache and returns the
// Access-Control-Max-Age value, "" for none.
func maxAgeValue(o Options) (string, error) {
	switch {
	case o.MaxAge < 0:
		return "", errs.Configf("cors: MaxAge %v is negative; set DisablePreflightCache to send Access-Control-Max-Age: 0", o.MaxAge)
	case o.MaxAge > MaxMaxAge:
		return "", errs.Configf("cors: MaxAge %v is over 24h (86400 s), which browsers ignore; Chromium caps it at 2h", o.MaxAge)
	case o.DisablePreflightCache && o.MaxAge != 0:
		return "", errs.Configf("cors: DisablePreflightCache together with MaxAge %v: choose one", o.MaxAge)
	case o.DisablePreflightCache:
		return "0", nil
	case o.MaxAge >= time.Second:
		return strconv.FormatInt(int64(o.MaxAge/time.Second), 10), nil
	}
	return "", nil
}

// newPreflightEngine configures rs/cors for the preflights this policy
// lets it answer.
func (c *Policy) newPreflightEngine() *rscors.Cors {
	ro := rscors.Options{
		AllowedMethods: append(slices.Clip(safelisted), c.methods...),
		// The request headers are checked here before rs/cors runs (see
		// acceptsRequestHeaders); rs/cors only echoes them.
		AllowedHeaders: []string{"*"},
		// Allow-Credentials and Max-Age are constants that rs/cors would
		// share between responses; they are added here, from memory of each
		// response's own, when rs/cors has allowed a request.
		AllowPrivateNetwork: c.privateNetwork,
		// The status, the refusal and the hand-over to next are decided
		// here, once the headers are this response's own.
		OptionsPassthrough: true,
	}
	if c.allOrigins {
		ro.AllowedOrigins = []string{"*"}
	} else {
		// preflight has checked the Origin before rs/cors sees it.
		ro.AllowOriginVaryRequestFunc = originChecked
	}
	return rscors.New(ro)
}

// checkOriginFunc refuses an AllowOriginFunc that cannot be used safely.
func (c *Policy) checkOriginFunc(o Options) error {
	if o.AllowOriginFunc == nil {
		return nil
	}
	if c.allOrigins {
		return errs.Configf(`cors: AllowOriginFunc together with allowed origin "*": "*" already allows every origin; list the origins`)
	}
	if !o.AllowCredentials {
		return nil
	}
	r, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://localhost/", nil)
	if err != nil {
		return errs.Configf("cors: building the AllowOriginFunc probe: %v", err)
	}
	r.Header.Set("Origin", probeOrigin)
	if o.AllowOriginFunc(r, probeOrigin) {
		return errs.Configf("cors: AllowOriginFunc allows %q, a name that cannot exist, so it allows every origin; together with AllowCredentials that lets every site act as the user", probeOrigin)
	}
	return nil
}

// checkPreflightOptions validates the options that shape preflight answers.
func (c *Policy) checkPreflightOptions(o Options) error {
	switch {
	case o.PreflightStatus == 0:
		c.status = http.StatusNoContent
	case o.PreflightPassthrough:
		return errs.Configf("cors: PreflightStatus %d together with PreflightPassthrough: the next handler writes the status", o.PreflightStatus)
	case o.PreflightStatus < 200 || o.PreflightStatus > 299:
		return errs.Configf("cors: PreflightStatus %d: browsers fail a preflight answered with anything but 2xx", o.PreflightStatus)
	default:
		c.status = o.PreflightStatus
	}
	if o.AllowPrivateNetwork {
		if c.allOrigins {
			return errs.Configf(`cors: AllowPrivateNetwork together with allowed origin "*" would let every public site reach this private-network server; list the origins`)
		}
		if c.none {
			return errs.Configf("cors: AllowPrivateNetwork without any allowed origin can never take effect")
		}
	}
	return nil
}

// Must is New that panics on a configuration error, for package-level
// policies built from constants.
func Must(o Options) *Policy {
	c, err := New(o)
	if err != nil {
		panic(err)
	}
	return c
}

// originChecked is the origin check rs/cors calls: it is only given
// preflights whose Origin the policy allows.
func originChecked(*http.Request, string) (bool, []string) { return true, nil }

// allowsOrigin checks the static allowlist, then AllowOriginFunc on
// well-formed origins only.
func (c *Policy) allowsOrigin(r *http.Request, origin string) bool {
	if c.match.allowed(origin) {
		return true
	}
	if c.originFunc == nil {
		return false
	}
	o, err := httpx.ParseOrigin(origin)
	if err != nil || (o.Scheme == "http" && !c.funcHTTP) {
		return false
	}
	return c.originFunc(r, origin)
}
