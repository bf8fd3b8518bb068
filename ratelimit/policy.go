package ratelimit

import (
	"cmp"
	"math"
	"math/bits"
	"strconv"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/ulule/limiter/v3"
)

// Algorithm is how a Policy counts requests.
type Algorithm uint8

const (
	// TokenBucket is the generic cell rate algorithm (GCRA): a bucket of
	// Burst tokens refilled at Limit per Period, one token every
	// Period/Limit. It is the zero Algorithm.
	TokenBucket Algorithm = iota
	// SlidingWindow approximates a window that slides with the request
	// time from two fixed-window counters: the current window's count plus
	// the previous window's count weighted by the part of it the sliding
	// window still covers. It never admits more than Limit in one aligned
	// window and never more than 2×Limit in any interval of length Period;
	// with traffic spread evenly over the previous window it admits Limit
	// per sliding window.
	SlidingWindow
	// FixedWindow counts requests in windows of Period aligned to the Unix
	// epoch and admits at most Limit per window. It is the algorithm of
	// github.com/ulule/limiter; LimiterStore runs it on a limiter.Store.
	FixedWindow
	algorithmCount
)

// String returns "token_bucket", "sliding_window" or "fixed_window".
func (a Algorithm) String() string {
	switch a {
	case TokenBucket:
		return "token_bucket"
	case SlidingWindow:
		return "sliding_window"
	case FixedWindow:
		return "fixed_window"
	}
	return "algorithm(" + strconv.Itoa(int(a)) + ")"
}

// code is the one-letter tag of the algorithm in store keys and scripts.
func (a Algorithm) code() byte { return "tsf"[a] }

// Limits that keep every store's arithmetic exact (Redis scripts compute in
// double-precision microseconds).
const (
	// MaxPolicies is the most policies one Limiter (or one plan) enforces.
	MaxPolicies = 8
	// MaxLimit is the largest Limit or Burst a Policy may have.
	MaxLimit = 1 << 50
	// MinPeriod is the shortest Period a Policy may have.
	MinPeriod = time.Millisecond
	// MaxPeriod is the longest Period a Policy may have, and the longest
	// time a token bucket may take to fill.
	MaxPeriod = 10 * 366 * 24 * time.Hour
)

// Policy is one rate limit: Limit units per Period, counted by Algorithm.
// A request's cost (1 unless Options.Cost says otherwise) is taken from
// every policy of the Limiter at once or from none.
type Policy struct {
	// Name identifies the policy in the RateLimit and RateLimit-Policy
	// headers and in store keys: 1 to 32 characters of [a-z0-9_-]
	// (a lower-case letter first). Policies sharing a store and a Limiter
	// name share their counters when their names match.
	Name string
	// Algorithm counts the requests. Zero: TokenBucket.
	Algorithm Algorithm
	// Limit is the number of units admitted per Period (for TokenBucket
	// the refill rate). It must be 1 to MaxLimit.
	Limit int64
	// Period is the window (MinPeriod to MaxPeriod).
	Period time.Duration
	// Burst is the size of a TokenBucket: how many units a client that has
	// been idle can spend at once. Zero: Limit. Windows ignore it (Burst
	// must then be zero or equal Limit).
	Burst int64
}

// PerSecond, PerMinute and PerHour return a TokenBucket policy of limit
// units per period with a burst of limit; set Burst or Algorithm on the
// result to change them.
func PerSecond(name string, limit int64) Policy {
	return Policy{Name: name, Limit: limit, Period: time.Second}
}

// PerMinute returns a TokenBucket policy of limit per minute (see PerSecond).
func PerMinute(name string, limit int64) Policy {
	return Policy{Name: name, Limit: limit, Period: time.Minute}
}

// PerHour returns a TokenBucket policy of limit per hour (see PerSecond).
func PerHour(name string, limit int64) Policy {
	return Policy{Name: name, Limit: limit, Period: time.Hour}
}

// FromRate returns a FixedWindow policy with the limit and period of a
// github.com/ulule/limiter Rate (for example one parsed by
// limiter.NewRateFromFormatted("1000-H")).
func FromRate(name string, rate limiter.Rate) Policy {
	return Policy{Name: name, Algorithm: FixedWindow, Limit: rate.Limit, Period: rate.Period}
}

// Rate returns the policy's limit and period as a ulule limiter.Rate.
func (p Policy) Rate() limiter.Rate {
	return limiter.Rate{Limit: p.Limit, Period: p.Period}
}

// policy is a validated Policy with everything a decision needs
// precomputed, in nanoseconds for the memory store and microseconds for
// Redis.
type policy struct {
	Policy
	burst    int64 // capacity: Burst for TokenBucket, Limit for windows
	periodNS int64
	interval int64 // TokenBucket: ns per unit, rounded up
	periodUS int64
	interUS  int64 // TokenBucket: µs per unit, rounded up
	// header fragments
	policyItem string // `"name";q=100;w=60`
	nameItem   string // `"name"`
	rateItem   string // `"name";r=`
	redisArgs  [4]string
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func compilePolicy(p Policy) (policy, error) {
	c := policy{Policy: p}
	if err := checkPolicy(p); err != nil {
		return c, err
	}
	c.periodNS = int64(p.Period)
	c.periodUS = int64(p.Period / time.Microsecond)
	c.burst = p.Limit
	if p.Algorithm == TokenBucket {
		if err := c.compileBucket(); err != nil {
			return c, err
		}
	} else if p.Burst != 0 && p.Burst != p.Limit {
		return c, errs.Configf("ratelimit: policy %q: burst applies only to token buckets", p.Name)
	}
	w := ceilDiv(c.periodNS, int64(time.Second))
	c.nameItem = `"` + p.Name + `"`
	c.rateItem = c.nameItem + ";r="
	c.policyItem = c.nameItem + ";q=" + strconv.FormatInt(p.Limit, 10) + ";w=" + strconv.FormatInt(w, 10)
	// The Redis script's arguments: algorithm, limit, then the interval
	// and burst of a bucket or the period of a window.
	c.redisArgs = [4]string{string(p.Algorithm.code()), strconv.FormatInt(p.Limit, 10), strconv.FormatInt(c.periodUS, 10), "0"}
	if p.Algorithm == TokenBucket {
		c.redisArgs[2] = strconv.FormatInt(c.interUS, 10)
		c.redisArgs[3] = strconv.FormatInt(c.burst, 10)
	}
	return c, nil
}

// checkPolicy checks the fields every algorithm has.
func checkPolicy(p Policy) error {
	switch {
	case !validName(p.Name):
		return errs.Configf("ratelimit: policy name %q must be 1-32 characters of [a-z0-9_-] starting with a letter", p.Name)
	case p.Algorithm >= algorithmCount:
		return errs.Configf("ratelimit: policy %q: unknown algorithm %d", p.Name, p.Algorithm)
	case p.Limit < 1 || p.Limit > MaxLimit:
		return errs.Configf("ratelimit: policy %q: limit %d must be between 1 and %d", p.Name, p.Limit, int64(MaxLimit))
	case p.Period < MinPeriod || p.Period > MaxPeriod:
		return errs.Configf("ratelimit: policy %q: period %v must be between %v and %v", p.Name, p.Period, MinPeriod, MaxPeriod)
	}
	return nil
}

// compileBucket checks a token bucket's burst and rate and derives its
// emission interval.
func (c *policy) compileBucket() error {
	p := c.Policy
	b := cmp.Or(p.Burst, p.Limit)
	if b < 1 || b > MaxLimit {
		return errs.Configf("ratelimit: policy %q: burst %d must be between 1 and %d", p.Name, p.Burst, int64(MaxLimit))
	}
	c.burst = b
	c.interval = ceilDiv(c.periodNS, p.Limit)
	c.interUS = ceilDiv(c.periodUS, p.Limit)
	if p.Period/time.Duration(p.Limit) < time.Microsecond {
		return errs.Configf("ratelimit: policy %q: %d per %v is faster than one unit per microsecond", p.Name, p.Limit, p.Period)
	}
	if c.interUS > math.MaxInt64/b || time.Duration(c.interUS*b)*time.Microsecond > MaxPeriod {
		return errs.Configf("ratelimit: policy %q: a bucket of %d units takes longer than %v to fill", p.Name, b, MaxPeriod)
	}
	return nil
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// policySet is the validated list of policies one decision enforces.
type policySet struct {
	name    string // Limiter name, part of every store key
	ps      []policy
	fp      uint64 // fingerprint of name and policies: memory-store key space
	header  []string
	maxCost int64
	// How the memory store keeps a key's state: one word changed by
	// compare-and-swap for a lone token bucket or fixed window, else
	// state records under a per-key lock.
	kind  entryKind
	shift uint8 // kindWindow: bits of the window count in the word
}

var errNoPolicies = errs.Configf("ratelimit: at least one policy is required")

func compileSet(name string, in []Policy) (*policySet, error) {
	if len(in) == 0 {
		return nil, errNoPolicies
	}
	if len(in) > MaxPolicies {
		return nil, errs.Configf("ratelimit: %d policies given, at most %d are allowed", len(in), MaxPolicies)
	}
	s := &policySet{name: name, ps: make([]policy, 0, len(in))}
	hdr := ""
	h := fnvString(fnvOffset, name)
	for i, p := range in {
		c, err := compilePolicy(p)
		if err != nil {
			return nil, err
		}
		for _, q := range s.ps {
			if q.Name == c.Name {
				return nil, errs.Configf("ratelimit: policy name %q is used twice", c.Name)
			}
		}
		s.ps = append(s.ps, c)
		if i > 0 {
			hdr += ", "
		}
		hdr += c.policyItem
		h = fnvString(h, c.Name)
		for _, v := range []int64{int64(c.Algorithm), c.Limit, c.periodNS, c.burst} {
			h = fnvString(h, strconv.FormatInt(v, 10))
		}
		if s.maxCost == 0 || c.burst < s.maxCost {
			s.maxCost = c.burst
		}
	}
	s.fp = h
	s.header = []string{hdr}
	s.kind = kindLocked
	if len(s.ps) == 1 {
		switch s.ps[0].Algorithm {
		case TokenBucket:
			s.kind = kindBucket
		case FixedWindow:
			s.kind = kindWindow
			s.shift = uint8(bits.Len64(uint64(s.ps[0].Limit)))
		}
	}
	return s, nil
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	h ^= 0xff
	h *= fnvPrime
	return h
}
