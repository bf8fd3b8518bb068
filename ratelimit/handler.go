package ratelimit

import (
	"net/http"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/covetgo/covet/errs"
)

// Canonical names of the response headers.
const (
	headerPolicy    = "Ratelimit-Policy"
	headerRateLimit = "Ratelimit"
	headerLimit     = "X-Ratelimit-Limit"
	headerRemaining = "X-Ratelimit-Remaining"
	headerReset     = "X-Ratelimit-Reset"
)

var (
	// ErrLimited is the error a refused request is answered with (429,
	// code "rate_limited"), plus a Retry-After header.
	ErrLimited = errs.New(errs.KindRateLimit, "rate_limited", "Too many requests. Retry after the number of seconds in the Retry-After header.")
	// ErrKeyMissing answers a request without a key under NoKeyDeny (400,
	// code "rate_limit_key_missing").
	ErrKeyMissing = errs.New(errs.KindBadRequest, "rate_limit_key_missing", "The request carries nothing to rate-limit it by.")
	// ErrUnavailable answers a request whose limit could not be checked
	// under FailClosed (503, code "rate_limit_unavailable"), plus a
	// Retry-After header.
	ErrUnavailable = errs.New(errs.KindServiceUnavailable, "rate_limit_unavailable", "The rate limit could not be checked. Retry after the number of seconds in the Retry-After header.")
)

// noKey is the shared key of requests without one (NoKeyShared); no key
// part starts with a zero byte.
var noKey = []byte{0}

// Handler is the rate-limit stage. For every request that is not exempt it
// builds the key, takes the cost from every policy (or from none), and
// sets the IETF RateLimit-Policy and RateLimit fields
// (`"burst";q=20;w=1, "hour";q=1000;w=3600` and `"burst";r=19;t=1, "hour";r=999;t=3600`,
// t rounded up to whole seconds), plus the legacy X-RateLimit-* fields
// when asked. A refused request gets 429 problem+json with Retry-After
// (whole seconds, rounded up, so never earlier than the real reset) and
// Cache-Control: no-store; nothing from the request is echoed. Chained
// limiter stages (say per IP, then per route) each add their own field line.
// The RateLimit-Policy value slice is shared between responses (it never
// changes), so a later handler must replace it (Header.Set, Header.Del)
// rather than assign into its elements.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res Result
		set, v, err := l.check(r, &res)
		l.record(r.Context(), v, &res)
		switch v {
		case verdictExempt:
			next.ServeHTTP(w, r)
			return
		case verdictNoKey:
			errs.Write(w, r, ErrKeyMissing)
			return
		case verdictStoreDown:
			retry := max(l.retry, time.Second)
			errs.Write(w, r, ErrUnavailable.WithCause(err).WithHeader("Retry-After", seconds(retry)))
			return
		}
		if res.n > 0 {
			l.setHeaders(w.Header(), set, &res)
		}
		if !res.Allowed {
			errs.Write(w, r, ErrLimited.WithHeader("Retry-After", seconds(max(res.RetryAfter, time.Second))))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// verdict is what check made of a request.
type verdict uint8

const (
	verdictDecided   verdict = iota // res holds the decision
	verdictExempt                   // not limited: passed on untouched
	verdictNoKey                    // no key under NoKeyDeny: 400
	verdictStoreDown                // the store failed under FailClosed: 503
)

// check builds the request's key, chooses its policies and cost, and
// decides it into res.
func (l *Limiter) check(r *http.Request, res *Result) (*policySet, verdict, error) {
	if l.exempt != nil && l.exempt(r) || l.exemptIPs != nil && l.exemptIP(l.clientAddr(r)) {
		return nil, verdictExempt, nil
	}
	var kb [320]byte
	var key []byte
	var addr netip.Addr
	outcome := keyOK
	if l.ipOnly {
		// The usual ByIP key on a memory store: hashed straight from the
		// address, without building the byte key.
		if addr = l.clientAddr(r); !addr.IsValid() {
			outcome = keyMissing
		}
	} else {
		key, outcome = l.appendKey(kb[:0], r)
	}
	switch outcome {
	case keyExempt:
		return nil, verdictExempt, nil
	case keyMissing:
		if l.noKey == NoKeyDeny {
			return nil, verdictNoKey, nil
		}
		key = noKey
	}
	set := l.planSet(r)
	cost := int64(1)
	if l.cost != nil {
		cost = l.cost(r)
	}
	if l.ipOnly && outcome == keyOK {
		if cost < 0 {
			cost = 1
		}
		l.mem.decideHash(set, l.mem.hashAddr(set, addr), cost, res)
		return set, verdictDecided, nil
	}
	if err := l.decide(r.Context(), set, key, cost, res); err != nil {
		return set, verdictStoreDown, err
	}
	return set, verdictDecided, nil
}

// planSet returns the policies of the request's plan.
func (l *Limiter) planSet(r *http.Request) *policySet {
	if l.plans != nil {
		if s, ok := l.plans[l.plan(r)]; ok {
			return s
		}
	}
	return l.def
}

// seconds formats d as whole seconds, rounded up.
func seconds(d time.Duration) string {
	return strconv.FormatInt(ceilSeconds(d), 10)
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// setHeaders sets the RateLimit fields (and the legacy X-RateLimit-*
// ones when asked) for res.
func (l *Limiter) setHeaders(h http.Header, set *policySet, res *Result) {
	var tmp [256]byte
	b, ends, nv := l.formatValues(tmp[:0], set, res)
	vals := storeValues(b, ends[:nv], set.header[0])
	policy := vals[nv : nv+1 : nv+1]
	var prev []string
	if len(h) > 0 {
		prev = h[headerRateLimit]
	}
	if len(prev) > 0 {
		// An earlier limiter stage set its own fields: both are lists, so
		// each stage adds its items as another field line.
		pol := h[headerPolicy]
		h[headerPolicy] = append(pol[:len(pol):len(pol)], set.header[0])
		h[headerRateLimit] = append(prev[:len(prev):len(prev)], vals[0])
	} else {
		h[headerPolicy] = policy
		h[headerRateLimit] = vals[0:1:1]
	}
	if l.legacy {
		h[headerLimit] = vals[1:2:2]
		h[headerRemaining] = vals[2:3:3]
		h[headerReset] = vals[3:4:4]
	}
}

// formatValues appends the RateLimit value (and the three legacy values)
// to b and returns where each value ends and how many there are.
func (l *Limiter) formatValues(b []byte, set *policySet, res *Result) ([]byte, [4]int, int) {
	for i := 0; i < res.n; i++ {
		d := &res.d[i]
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, set.ps[i].rateItem...)
		b = strconv.AppendInt(b, d.Remaining, 10)
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, ceilSeconds(d.ResetAfter), 10)
	}
	ends := [4]int{len(b)}
	if !l.legacy {
		return b, ends, 1
	}
	b = strconv.AppendInt(b, res.Limit, 10)
	ends[1] = len(b)
	b = strconv.AppendInt(b, res.Remaining, 10)
	ends[2] = len(b)
	b = strconv.AppendInt(b, ceilSeconds(res.ResetAfter), 10)
	ends[3] = len(b)
	return b, ends, 4
}

// Header values and their bytes in one allocation. A plain string plus a
// []string per response costs a second allocation, which measured at about
// a fifth of the stage's time (BenchmarkRatelimit in bench/: 332 vs 269
// ns/op on one hot key), so the values share their block. Each value slice
// is capped at length 1, so a later Header.Add copies instead of writing
// into the block. The block also holds this response's own slot for the
// policy value, so no header slice is shared between responses and a
// handler may edit any of them in place.
type (
	shortBlock struct {
		vals [2]string
		buf  [48]byte
	}
	longBlock struct {
		vals [5]string
		buf  [128]byte
	}
)

// storeValues copies b into memory the response keeps and slices it into
// the values that end at ends, followed by policy.
func storeValues(b []byte, ends []int, policy string) []string {
	var vals []string
	var dst []byte
	switch {
	case len(ends) == 1 && len(b) <= len(shortBlock{}.buf):
		blk := new(shortBlock)
		vals, dst = blk.vals[:], blk.buf[:len(b)]
	case len(b) <= len(longBlock{}.buf):
		blk := new(longBlock)
		vals, dst = blk.vals[:len(ends)+1], blk.buf[:len(b)]
	default:
		vals, dst = make([]string, len(ends)+1), make([]byte, len(b))
	}
	vals[len(ends)] = policy
	copy(dst, b)
	start := 0
	for i, end := range ends {
		if end > start {
			vals[i] = unsafe.String(&dst[start], end-start)
		}
		start = end
	}
	return vals
}

func cloneBytes(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
