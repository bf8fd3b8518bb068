package cors

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/covetgo/covet/errs"
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

	// AllowedMethods lists the methods a preflight may ask for. Empty: GET,
	// HEAD and POST. Methods are case-sensitive ("PATCH" does not allow
	// "patch"; browsers uppercase only DELETE, GET, HEAD, OPTIONS, POST and
	// PUT). GET, HEAD and POST are always accepted in a preflight, as
	// browsers never need permission for them.
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

	// MaxAge is how long browsers may cache a preflight answer, in whole
	// seconds, at most MaxMaxAge (Chromium still caps it at 2 hours). Zero
	// sends no Access-Control-Max-Age, so browsers use their default of 5
	// seconds.
	MaxAge time.Duration

	// RefusePreflightWith403 answers a refused preflight with 403 and a
	// problem+json body (code "cors_preflight_refused") instead of a 204
	// without CORS headers. Browsers fail the request either way; the 403
	// makes the refusal visible in logs and developer tools.
	RefusePreflightWith403 bool
}

// CORS is a compiled policy. It is safe for concurrent use.
type CORS struct {
	match       *matcher
	allOrigins  bool // "*" without credentials
	none        bool // empty allowlist: same-origin only
	methods     []string
	headers     headerSet
	credentials bool
	exposed     string
	maxAge      string
	refuse403   bool

	actualValues    int // fresh values an allowed actual request needs
	preflightValues int // fresh values an allowed preflight needs
}

var errPreflightRefused = errs.New(errs.KindAuthorization, "cors_preflight_refused",
	"The cross-origin request is not allowed by the CORS policy.")

// New validates o and compiles the policy. Invalid or insecure settings give
// a configuration error naming the offending entry.
func New(o Options) (*CORS, error) {
	c := &CORS{credentials: o.AllowCredentials, refuse403: o.RefusePreflightWith403}
	var ps []pattern
	for _, raw := range o.AllowedOrigins {
		if raw == "*" {
			if o.AllowCredentials {
				return nil, errs.Configf(`cors: allowed origin "*" together with AllowCredentials would let every site act as the user; list the origins`)
			}
			if len(o.AllowedOrigins) > 1 {
				return nil, errs.Configf(`cors: allowed origin "*" must be the only entry`)
			}
			c.allOrigins = true
			continue
		}
		p, err := parsePattern(raw)
		if err != nil {
			return nil, err
		}
		if o.AllowCredentials && p.scheme == "http" && !o.DangerouslyAllowHTTPOriginsWithCredentials {
			return nil, errs.Configf("cors: allowed origin %q: an http: origin with AllowCredentials lets anyone on its network path act as the user; use https, or set DangerouslyAllowHTTPOriginsWithCredentials for local development", raw)
		}
		ps = append(ps, p)
	}
	c.none = !c.allOrigins && len(ps) == 0
	c.match = newMatcher(ps)

	methods := o.AllowedMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodHead, http.MethodPost}
	}
	for _, m := range methods {
		if !validToken(m) {
			return nil, errs.Configf("cors: allowed method %q is not a valid method token", m)
		}
		if m == "*" {
			return nil, errs.Configf(`cors: allowed method "*": list the methods`)
		}
	}
	c.methods = append([]string(nil), methods...)

	hdrs := o.AllowedHeaders
	if len(hdrs) == 0 {
		hdrs = []string{"Accept", "Content-Type", "X-Requested-With"}
	}
	c.headers.names = make(map[string]struct{}, len(hdrs))
	for _, h := range hdrs {
		if h == "*" {
			if o.AllowCredentials {
				return nil, errs.Configf(`cors: allowed header "*" together with AllowCredentials would let every allowed origin send Authorization and cookies-bearing custom headers; list the headers`)
			}
			c.headers.all = true
			continue
		}
		if !validToken(h) || len(h) > maxHeaderLen {
			return nil, errs.Configf("cors: allowed header %q is not a valid header name", h)
		}
		lh := strings.ToLower(h)
		c.headers.names[lh] = struct{}{}
		c.headers.maxLen = max(c.headers.maxLen, len(lh))
	}

	exposed := make([]string, 0, len(o.ExposedHeaders))
	for _, h := range o.ExposedHeaders {
		if !validToken(h) {
			return nil, errs.Configf("cors: exposed header %q is not a valid header name", h)
		}
		if h == "*" && o.AllowCredentials {
			return nil, errs.Configf(`cors: exposed header "*" means the literal name "*" when credentials are allowed; list the headers`)
		}
		exposed = append(exposed, http.CanonicalHeaderKey(h))
	}
	c.exposed = strings.Join(exposed, ", ")

	switch {
	case o.MaxAge < 0:
		return nil, errs.Configf("cors: MaxAge %v is negative", o.MaxAge)
	case o.MaxAge > MaxMaxAge:
		return nil, errs.Configf("cors: MaxAge %v is over 24h (86400 s), which browsers ignore; Chromium caps it at 2h", o.MaxAge)
	case o.MaxAge >= time.Second:
		c.maxAge = strconv.FormatInt(int64(o.MaxAge/time.Second), 10)
	}
	c.actualValues, c.preflightValues = 1, 1
	if c.credentials {
		c.actualValues++
		c.preflightValues++
	}
	if c.exposed != "" {
		c.actualValues++
	}
	if c.allOrigins {
		c.preflightValues++
	}
	if c.maxAge != "" {
		c.preflightValues++
	}
	return c, nil
}

// Must is New that panics on a configuration error, for package-level
// policies built from constants.
func Must(o Options) *CORS {
	c, err := New(o)
	if err != nil {
		panic(err)
	}
	return c
}

// Header values. They are copied into a fresh array for every response,
// never shared between requests: a handler may modify the slices it finds
// in its header map.
const (
	varyOrigin    = "Origin"
	varyPreflight = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
)

// Handler returns the CORS stage. Preflights (OPTIONS with Origin and
// Access-Control-Request-Method) are answered here and never reach next;
// every other request, including a plain OPTIONS, goes to next, with CORS
// headers added when its Origin is allowed.
//
// The headers are in place before next runs, in slices that belong to this
// response alone, so next may read, edit or extend them. Vary is appended
// to: a handler that adds its own field should use Header().Add("Vary", ...),
// since Set would drop Origin and let caches mix up responses for different
// origins.
func (c *CORS) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header["Origin"]
		if r.Method == http.MethodOptions && len(origin) > 0 {
			if acrm := r.Header["Access-Control-Request-Method"]; len(acrm) > 0 {
				c.preflight(w, r, origin, acrm)
				return
			}
		}
		c.actual(w, origin)
		next.ServeHTTP(w, r)
	})
}

// actual adds the headers of an actual (non-preflight) request.
func (c *CORS) actual(w http.ResponseWriter, origin []string) {
	if c.none {
		return
	}
	h := w.Header()
	if c.allOrigins {
		// The same answer for every request, Origin or not: nothing varies.
		v := new([2]string)
		v[0] = "*"
		h["Access-Control-Allow-Origin"] = v[0:1:1]
		if c.exposed != "" {
			v[1] = c.exposed
			h["Access-Control-Expose-Headers"] = v[1:2:2]
		}
		return
	}
	// The answer depends on Origin whether or not one was sent: a cache must
	// not serve a same-origin response to a cross-origin request.
	if len(origin) != 1 || !c.match.allowed(origin[0]) {
		addVary(h, varyOrigin, nil)
		return
	}
	// Allow-Origin reuses the request's own Origin slice: it belongs to
	// this request alone. The constant values get one fresh array.
	h["Access-Control-Allow-Origin"] = origin
	v := make([]string, c.actualValues)
	v[0] = varyOrigin
	i := 1
	if c.credentials {
		v[i] = "true"
		h["Access-Control-Allow-Credentials"] = v[i : i+1 : i+1]
		i++
	}
	if c.exposed != "" {
		v[i] = c.exposed
		h["Access-Control-Expose-Headers"] = v[i : i+1 : i+1]
	}
	addVary(h, varyOrigin, v[0:1:1])
}

// preflight answers a preflight request.
func (c *CORS) preflight(w http.ResponseWriter, r *http.Request, origins, acrm []string) {
	h := w.Header()
	if c.none {
		c.refuse(w, r)
		return
	}
	ok := len(acrm) == 1 && c.methodAllowed(acrm[0])
	acrh := r.Header["Access-Control-Request-Headers"]
	if ok {
		ok = c.allOrigins || (len(origins) == 1 && c.match.allowed(origins[0]))
	}
	if ok && len(acrh) > 0 {
		ok = c.headers.acceptsRequestHeaders(acrh)
	}
	if !ok {
		addVary(h, varyPreflight, nil)
		c.refuse(w, r)
		return
	}
	// Values taken from the request reuse its own header slices (each holds
	// one value, checked above, and belongs to this request alone); the
	// constant values get one fresh array.
	v := make([]string, c.preflightValues)
	v[0] = varyPreflight
	addVary(h, varyPreflight, v[0:1:1])
	i := 1
	if c.allOrigins {
		v[i] = "*"
		h["Access-Control-Allow-Origin"] = v[i : i+1 : i+1]
		i++
	} else {
		h["Access-Control-Allow-Origin"] = origins
	}
	if c.credentials {
		v[i] = "true"
		h["Access-Control-Allow-Credentials"] = v[i : i+1 : i+1]
		i++
	}
	h["Access-Control-Allow-Methods"] = acrm
	switch {
	case len(acrh) == 1:
		if acrh[0] != "" {
			h["Access-Control-Allow-Headers"] = acrh
		}
	case len(acrh) > 1:
		h["Access-Control-Allow-Headers"] = []string{strings.Join(acrh, ",")}
	}
	if c.maxAge != "" {
		v[i] = c.maxAge
		h["Access-Control-Max-Age"] = v[i : i+1 : i+1]
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *CORS) refuse(w http.ResponseWriter, r *http.Request) {
	if c.refuse403 {
		errs.Write(w, r, errPreflightRefused)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// methodAllowed compares case-sensitively; the CORS-safelisted methods are
// always allowed because browsers never ask permission for them.
func (c *CORS) methodAllowed(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost:
		return true
	}
	for _, a := range c.methods {
		if a == m {
			return true
		}
	}
	return false
}

// addVary appends value to the Vary header unless a field line already lists
// Origin (or "*"). It never replaces what is there. fresh, when not nil, is
// a one-element slice holding value, owned by this response.
func addVary(h http.Header, value string, fresh []string) {
	old := h["Vary"]
	if len(old) == 0 {
		if fresh == nil {
			fresh = []string{value}
		}
		h["Vary"] = fresh
		return
	}
	for _, line := range old {
		if varyListsOrigin(line) {
			if value == varyOrigin {
				return
			}
			break
		}
	}
	nv := make([]string, len(old)+1)
	copy(nv, old)
	nv[len(old)] = value
	h["Vary"] = nv
}

// varyListsOrigin reports whether a Vary field line lists Origin or "*".
func varyListsOrigin(line string) bool {
	for line != "" {
		var item string
		item, line, _ = strings.Cut(line, ",")
		item = strings.TrimSpace(item)
		if item == "*" || strings.EqualFold(item, "Origin") {
			return true
		}
	}
	return false
}
