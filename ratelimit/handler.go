package ratelimit

import (
	"math/bits"
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
		if l.exempt != nil && l.exempt(r) || l.exemptIPs != nil && l.exemptIP(l.clientAddr(r)) {
			next.ServeHTTP(w, r)
			return
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
			next.ServeHTTP(w, r)
			return
		case keyMissing:
			if l.noKey == NoKeyDeny {
				errs.Write(w, r, ErrKeyMissing)
				return
			}
			key = noKey
		}
		set := l.def
		if l.plans != nil {
			if s, ok := l.plans[l.plan(r)]; ok {
				set = s
			}
		}
		cost := int64(1)
		if l.cost != nil {
			cost = l.cost(r)
		}
		var res Result
		if l.ipOnly && outcome == keyOK {
			if cost < 0 {
				cost = 1
			}
			l.mem.decideHash(set, l.mem.hashAddr(set, addr), cost, &res)
		} else if err := l.decide(r.Context(), set, key, cost, &res); err != nil {
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

// The blocks hold a response's dynamic header values and their bytes in
// one allocation, sized to the common cases: one or two short policy
// items (block32, block48) and the legacy fields (legacyBlock). Each value
// slice is capped at length 1, so Header.Add copies instead of writing
// into the block.
type block32 struct {
	vals [1]string
	buf  [32]byte
}

type block48 struct {
	vals [1]string
	buf  [48]byte
}

type block112 struct {
	vals [1]string
	buf  [112]byte
}

type legacyBlock struct {
	vals [4]string
	buf  [192]byte
}

func (l *Limiter) setHeaders(h http.Header, set *policySet, res *Result) {
	// Size the values first, then write them once, straight into the
	// block the response keeps. Each number's length is measured once.
	var ends [4]int
	var lens [2 * MaxPolicies]uint8
	n := 2 * (res.n - 1)
	for i := 0; i < res.n; i++ {
		d := &res.d[i]
		rl, tl := intLen(d.Remaining), intLen(ceilSeconds(d.ResetAfter))
		lens[2*i], lens[2*i+1] = uint8(rl), uint8(tl)
		n += len(set.ps[i].rateItem) + rl + len(";t=") + tl
	}
	ends[0] = n
	nv := 1
	if l.legacy {
		ends[1] = ends[0] + intLen(res.Limit)
		ends[2] = ends[1] + intLen(res.Remaining)
		ends[3] = ends[2] + intLen(ceilSeconds(res.ResetAfter))
		n, nv = ends[3], 4
	}
	var vals []string
	var b []byte
	switch {
	case l.legacy && n <= len(legacyBlock{}.buf):
		blk := new(legacyBlock)
		vals, b = blk.vals[:], blk.buf[:n]
	case l.legacy:
		vals, b = make([]string, nv), make([]byte, n)
	case n <= len(block32{}.buf):
		blk := new(block32)
		vals, b = blk.vals[:], blk.buf[:n]
	case n <= len(block48{}.buf):
		blk := new(block48)
		vals, b = blk.vals[:], blk.buf[:n]
	case n <= len(block112{}.buf):
		blk := new(block112)
		vals, b = blk.vals[:], blk.buf[:n]
	default:
		vals, b = make([]string, nv), make([]byte, n)
	}
	p := 0
	for i := 0; i < res.n; i++ {
		d := &res.d[i]
		if i > 0 {
			p += copy(b[p:], ", ")
		}
		p += copy(b[p:], set.ps[i].rateItem)
		p += putIntN(b[p:], d.Remaining, int(lens[2*i]))
		p += copy(b[p:], ";t=")
		p += putIntN(b[p:], ceilSeconds(d.ResetAfter), int(lens[2*i+1]))
	}
	if l.legacy {
		p += putIntN(b[p:], res.Limit, ends[1]-ends[0])
		p += putIntN(b[p:], res.Remaining, ends[2]-ends[1])
		putIntN(b[p:], ceilSeconds(res.ResetAfter), ends[3]-ends[2])
	}
	start := 0
	for i := 0; i < nv; i++ {
		if ends[i] > start {
			vals[i] = unsafe.String(&b[start], ends[i]-start)
		}
		start = ends[i]
	}
	var prev []string
	if len(h) > 0 {
		prev = h[headerRateLimit]
	}
	if len(prev) > 0 {
		// An earlier limiter stage set its own fields: both are lists, so
		// each stage adds its items as another field line.
		h[headerPolicy] = append(h[headerPolicy][:len(h[headerPolicy]):len(h[headerPolicy])], set.header[0])
		h[headerRateLimit] = append(prev[:len(prev):len(prev)], vals[0])
	} else {
		h[headerPolicy] = set.header
		h[headerRateLimit] = vals[0:1:1]
	}
	if l.legacy {
		h[headerLimit] = vals[1:2:2]
		h[headerRemaining] = vals[2:3:3]
		h[headerReset] = vals[3:4:4]
	}
}

// pow10 holds the powers of ten an int64 can reach.
var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// intLen is the length of v in decimal.
func intLen(v int64) int {
	n := 0
	u := uint64(v)
	if v < 0 {
		n, u = 1, -u
	}
	// bits*1233>>12 is log10 of 2^bits, rounded down: one below the
	// length or the length itself.
	d := bits.Len64(u) * 1233 >> 12
	if u >= pow10[d] {
		d++
	}
	return n + max(d, 1)
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// putIntN writes v in decimal at the start of b, which has room for its
// length n = intLen(v), and returns n.
func putIntN(b []byte, v int64, n int) int {
	u := uint64(v)
	if v < 0 {
		b[0] = '-'
		u = -u
	}
	i := n
	for u >= 10000 {
		q := u / 10000
		r := u - q*10000
		hi, lo := r/100, r%100
		i -= 4
		b[i], b[i+1], b[i+2], b[i+3] = digitPairs[2*hi], digitPairs[2*hi+1], digitPairs[2*lo], digitPairs[2*lo+1]
		u = q
	}
	if u >= 100 {
		q := u / 100
		r := u - q*100
		i -= 2
		b[i], b[i+1] = digitPairs[2*r], digitPairs[2*r+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		b[i], b[i+1] = digitPairs[2*u], digitPairs[2*u+1]
	} else {
		b[i-1] = byte('0' + u)
	}
	return n
}

func cloneBytes(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
