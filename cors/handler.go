package cors

import (
	"net/http"
	"slices"
	"strings"

	"github.com/covetgo/covet/errs"
)

// Response header names.
const (
	hVary   = "Vary"
	hACAO   = "Access-Control-Allow-Origin"
	hACAC   = "Access-Control-Allow-Credentials"
	hACAH   = "Access-Control-Allow-Headers"
	hACAM   = "Access-Control-Allow-Methods"
	hACEH   = "Access-Control-Expose-Headers"
	hMaxAge = "Access-Control-Max-Age"
	hACAPN  = "Access-Control-Allow-Private-Network"
)

const varyOrigin = "Origin"

// noop is the "next" rs/cors is given: rs/cors only sets headers, and this
// package decides what happens after.
func noop(http.ResponseWriter, *http.Request) {}

// Handler returns the CORS stage. Preflights (OPTIONS with Origin and a
// non-empty Access-Control-Request-Method) are answered here and never
// reach next, unless PreflightPassthrough is set; every other request,
// including a plain OPTIONS, goes to next, with CORS headers added when its
// Origin is allowed.
//
// The headers are in place before next runs, in slices that belong to this
// response alone, so next may read, edit or extend them. Vary is appended
// to: a handler that adds its own field should use Header().Add("Vary", ...),
// since Set would drop Origin and let caches mix up responses for different
// origins.
func (c *Policy) Handler(next http.Handler) http.Handler {
	if c.none {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if acrm := preflightMethod(r); acrm != nil && hasOrigin(r) {
				c.refuse(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if acrm := preflightMethod(r); acrm != nil {
			c.preflight(w, r, next, acrm)
			return
		}
		if c.allOrigins {
			c.actualAny(w, r)
		} else {
			c.actual(w, r)
		}
		next.ServeHTTP(w, r)
	})
}

// preflightMethod returns the Access-Control-Request-Method lines of what
// rs/cors takes for a preflight: OPTIONS with a non-empty first line.
func preflightMethod(r *http.Request) []string {
	if r.Method != http.MethodOptions {
		return nil
	}
	if acrm := r.Header["Access-Control-Request-Method"]; len(acrm) > 0 && acrm[0] != "" {
		return acrm
	}
	return nil
}

func hasOrigin(r *http.Request) bool {
	o := r.Header["Origin"]
	return len(o) > 0 && o[0] != ""
}

// actual adds the headers of an actual (non-preflight) request under an
// origin list. rs/cors is not asked: for an actual request it would only
// compare the method and echo the Origin, and it would hand out its shared
// Vary and Allow-Credentials slices (and allocate for its debug log), all
// of which this package would then have to undo. Instead, every value this
// response needs beyond the request's own Origin comes from one fresh
// array, in the order Vary, Allow-Credentials, Expose-Headers.
func (c *Policy) actual(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin := r.Header["Origin"]
	// Several Origin lines: no browser sends that, so nothing is allowed.
	allowed := len(origin) == 1 && c.methodAllowed(r.Method) && c.allowsOrigin(r, origin[0])
	prior := h[hVary]
	n := 0
	if prior == nil || !listsOrigin(prior) {
		n = len(prior) + 1
	}
	if allowed {
		n += c.actualValues
	}
	if n == 0 {
		return // Origin is listed already, and nothing is allowed
	}
	v := make([]string, n)
	i := 0
	if prior == nil || !listsOrigin(prior) {
		i = copy(v, prior)
		v[i] = varyOrigin
		i++
		h[hVary] = v[:i:i]
	}
	if !allowed {
		return
	}
	h[hACAO] = origin[:1:1]
	if c.credentials {
		v[i] = "true"
		h[hACAC] = v[i : i+1 : i+1]
		i++
	}
	if c.exposed != "" {
		v[i] = c.exposed
		h[hACEH] = v[i : i+1 : i+1]
	}
}

// methodAllowed reports whether a method is allowed, for an actual request
// or the one a preflight asks for: OPTIONS, the CORS-safelisted methods and
// AllowedMethods, compared case-sensitively, as rs/cors does.
func (c *Policy) methodAllowed(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions:
		return true
	}
	return slices.Contains(c.methods, m)
}

// actualAny serves an actual request under AllowedOrigins "*". The answer
// is the same for every request, Origin or not, so nothing varies, and a
// request without Origin gets "*" too.
func (c *Policy) actualAny(w http.ResponseWriter, r *http.Request) {
	if hasOrigin(r) && !c.methodAllowed(r.Method) {
		return
	}
	c.setAny(w.Header())
}

// withoutOrigin adds what an actual request without Origin gets.
func (c *Policy) withoutOrigin(h http.Header) {
	if c.allOrigins {
		c.setAny(h)
		return
	}
	addVary(h, varyOrigin)
}

// setAny sets Allow-Origin "*" and Expose-Headers from fresh values.
func (c *Policy) setAny(h http.Header) {
	v := []string{"*", c.exposed}
	h[hACAO] = v[0:1:1]
	if c.exposed != "" {
		h[hACEH] = v[1:2:2]
	}
}

// preflight decides on a preflight (see preflightAllowed), lets rs/cors
// write the answer, adds the constant-valued headers from fresh memory, and
// writes the status or hands over to next.
func (c *Policy) preflight(w http.ResponseWriter, r *http.Request, next http.Handler, acrm []string) {
	acrh := r.Header["Access-Control-Request-Headers"]
	if !c.preflightAllowed(r, acrm, acrh) {
		c.refusePreflight(w, r, next)
		return
	}
	h := w.Header()
	v := make([]string, c.preflightValues)
	presetVary(h, v)
	// rs/cors allows what preflightAllowed allows: it writes Allow-Origin,
	// -Methods and -Headers, Allow-Private-Network and Vary.
	c.rs.ServeHTTP(w, r, noop)
	c.setPreflightValues(h, v)
	if len(acrh) > 1 {
		// rs/cors echoes the field lines as they came; one line is what
		// browsers expect.
		h[hACAH] = []string{strings.Join(acrh, ",")}
	}
	if c.passthrough {
		next.ServeHTTP(w, r)
		return
	}
	w.WriteHeader(c.status)
}

// preflightAllowed checks a preflight before rs/cors sees it: a single
// Origin line that the policy allows, a single method line naming an
// allowed method (case-sensitively, as rs/cors compares), and request
// headers within bounds that are all allowed.
func (c *Policy) preflightAllowed(r *http.Request, acrm, acrh []string) bool {
	origin := r.Header["Origin"]
	if len(acrm) != 1 || len(origin) != 1 || origin[0] == "" || !c.methodAllowed(acrm[0]) {
		return false
	}
	if !c.allOrigins && !c.allowsOrigin(r, origin[0]) {
		return false
	}
	return len(acrh) == 0 || c.headers.acceptsRequestHeaders(acrh)
}

// setPreflightValues writes the constant-valued headers of an allowed
// preflight from v, this response's own array; v[0] holds Vary.
func (c *Policy) setPreflightValues(h http.Header, v []string) {
	i := 1
	set := func(key, value string) {
		v[i] = value
		h[key] = v[i : i+1 : i+1]
		i++
	}
	if c.allOrigins {
		set(hACAO, "*")
	}
	if c.credentials {
		set(hACAC, "true")
	}
	if c.maxAge != "" {
		set(hMaxAge, c.maxAge)
	}
	if c.privateNetwork {
		if _, ok := h[hACAPN]; ok { // rs/cors answered a private-network request
			set(hACAPN, "true")
		}
	}
}

// refusePreflight refuses a preflight rs/cors was not asked about. Without
// Origin the request was no preflight: it goes to next as an actual
// request that nothing allows.
func (c *Policy) refusePreflight(w http.ResponseWriter, r *http.Request, next http.Handler) {
	h := w.Header()
	if !hasOrigin(r) {
		c.withoutOrigin(h)
		next.ServeHTTP(w, r)
		return
	}
	addVary(h, c.varyPreflight)
	c.refuse(w, r, next)
}

// refuse answers a refused preflight.
func (c *Policy) refuse(w http.ResponseWriter, r *http.Request, next http.Handler) {
	switch {
	case c.refuse403:
		errs.Write(w, r, errPreflightRefused)
	case c.passthrough:
		next.ServeHTTP(w, r)
	default:
		w.WriteHeader(c.status)
	}
}

// presetVary puts a Vary slice of this response's own into h before
// rs/cors runs. rs/cors appends its field to whatever Vary it finds, and
// assigns a slice shared between responses when it finds none; with room
// for exactly one more element, its append writes into this response's
// memory instead: v[0] without a prior Vary, else a copy of the prior one.
func presetVary(h http.Header, v []string) {
	prior := h[hVary]
	if prior == nil {
		h[hVary] = v[0:0:1]
		return
	}
	nv := make([]string, len(prior), len(prior)+1)
	copy(nv, prior)
	h[hVary] = nv
}

// addVary appends value to the Vary header unless value is Origin and a
// field line already lists Origin (or "*"). It never replaces what is
// there, and the slice it leaves belongs to this response.
func addVary(h http.Header, value string) {
	old := h[hVary]
	if len(old) == 0 {
		h[hVary] = []string{value}
		return
	}
	if value == varyOrigin && listsOrigin(old) {
		return
	}
	nv := make([]string, len(old)+1)
	copy(nv, old)
	nv[len(old)] = value
	h[hVary] = nv
}

// listsOrigin reports whether a Vary field line lists Origin or "*".
func listsOrigin(lines []string) bool {
	for _, line := range lines {
		for line != "" {
			var item string
			item, line, _ = strings.Cut(line, ",")
			item = strings.TrimSpace(item)
			if item == "*" || strings.EqualFold(item, "Origin") {
				return true
			}
		}
	}
	return false
}
