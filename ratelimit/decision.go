package ratelimit

import (
	"math/bits"
	"time"
)

// Decision is one policy's answer to one request.
type Decision struct {
	// Policy is the policy's name.
	Policy string
	// Allowed reports whether this policy had room for the request's cost.
	// The request passes only when every policy allows it.
	Allowed bool
	// Limit is the policy's Limit (units per Period).
	Limit int64
	// Remaining is how many units the policy would admit right now, after
	// this request when it passed.
	Remaining int64
	// ResetAfter is how long until the policy is back to full quota for a
	// token bucket, or until the current window ends for the windows.
	ResetAfter time.Duration
	// RetryAfter, for a policy that refused, is how long until the same
	// request would be admitted (as far as this policy is concerned). It
	// is zero when the policy allowed the request.
	RetryAfter time.Duration
}

// Result is the outcome of one decision over all of a Limiter's policies.
// Its top-level fields describe the policy that decided: when the request
// passed, the one with the fewest remaining units; when it was refused, the
// refusing policy with the longest RetryAfter.
type Result struct {
	// Allowed reports whether every policy admitted the request (and the
	// cost was taken from all of them).
	Allowed bool
	// Limit is the deciding policy's Limit.
	Limit int64
	// Remaining is the deciding policy's remaining units.
	Remaining int64
	// ResetAfter is the deciding policy's ResetAfter.
	ResetAfter time.Duration
	// RetryAfter is how long a refused request should wait (zero when it
	// passed).
	RetryAfter time.Duration
	// Policy is the name of the deciding policy.
	Policy string

	n int
	d [MaxPolicies]Decision
}

// Decisions returns each policy's decision, in the order the policies were
// declared. The slice aliases r.
func (r *Result) Decisions() []Decision { return r.d[:r.n] }

// summarize fills the top-level fields from the per-policy decisions.
func (r *Result) summarize() {
	r.Allowed = true
	best := -1
	for i := 0; i < r.n; i++ {
		if !r.d[i].Allowed {
			r.Allowed = false
		}
	}
	for i := 0; i < r.n; i++ {
		d := &r.d[i]
		if best < 0 {
			if r.Allowed || !d.Allowed {
				best = i
			}
			continue
		}
		b := &r.d[best]
		if r.Allowed {
			if d.Remaining < b.Remaining || d.Remaining == b.Remaining && d.ResetAfter > b.ResetAfter {
				best = i
			}
		} else if !d.Allowed && d.RetryAfter > b.RetryAfter {
			best = i
		}
	}
	if best < 0 {
		return
	}
	b := &r.d[best]
	r.Limit, r.Remaining, r.ResetAfter, r.RetryAfter, r.Policy = b.Limit, b.Remaining, b.ResetAfter, b.RetryAfter, b.Policy
}

// state is one policy's stored state for one key: the theoretical arrival
// time of a token bucket (a), or a window's index (a), its count (b) and
// the previous window's count (c).
type state struct{ a, b, c int64 }

// step decides one policy for one key at time now (nanoseconds since the
// Unix epoch, never negative) into d, and returns the state to store if
// every policy of the request agrees, and when that state stops
// mattering. (d is written in place: a Decision is too big to return
// cheaply on every request.)
func (p *policy) step(st state, now, cost int64, d *Decision) (state, int64) {
	switch p.Algorithm {
	case FixedWindow:
		return p.fixedWindow(st, now, cost, d)
	case SlidingWindow:
		return p.slidingWindow(st, now, cost, d)
	}
	return p.tokenBucket(st, now, cost, d)
}

func (p *policy) tokenBucket(st state, now, cost int64, d *Decision) (state, int64) {
	t := p.interval
	capacity := p.burst * t
	tat := st.a
	if tat < now {
		tat = now
	}
	*d = Decision{Policy: p.Name, Limit: p.Limit}
	if cost > p.burst {
		d.Remaining = (capacity - (tat - now)) / t
		d.ResetAfter = time.Duration(tat - now)
		d.RetryAfter = time.Duration(capacity)
		return st, tat
	}
	next := tat + cost*t
	if allowAt := next - capacity; allowAt > now {
		d.Remaining = (capacity - (tat - now)) / t
		d.ResetAfter = time.Duration(tat - now)
		d.RetryAfter = time.Duration(allowAt - now)
		return st, tat
	}
	d.Allowed = true
	d.Remaining = (capacity - (next - now)) / t
	d.ResetAfter = time.Duration(next - now)
	return state{a: next}, next
}

func (p *policy) fixedWindow(st state, now, cost int64, d *Decision) (state, int64) {
	// Most requests fall in the stored window: no division then.
	win := st.a
	if start := win * p.periodNS; now < start || now-start >= p.periodNS {
		win = now / p.periodNS
	}
	end := (win + 1) * p.periodNS
	var count int64
	if st.a == win {
		count = st.b
	}
	*d = Decision{Policy: p.Name, Limit: p.Limit, ResetAfter: time.Duration(end - now)}
	if cost > p.Limit || count+cost > p.Limit {
		d.Remaining = max(p.Limit-count, 0)
		d.RetryAfter = d.ResetAfter
		if cost > p.Limit {
			d.RetryAfter += time.Duration(p.periodNS)
		}
		return st, end
	}
	count += cost
	d.Allowed = true
	d.Remaining = p.Limit - count
	return state{a: win, b: count}, end
}

// mulDiv returns a*b/c rounded down and whether it had to round; a*b/c
// must fit in an int64 (the callers guarantee a < c or b < c).
func mulDiv(a, b, c int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, r := bits.Div64(hi, lo, uint64(c))
	return int64(q), r != 0
}

func (p *policy) slidingWindow(st state, now, cost int64, d *Decision) (state, int64) {
	per := p.periodNS
	win := now / per
	elapsed := now - win*per
	var curr, prev int64
	switch st.a {
	case win:
		curr, prev = st.b, st.c
	case win - 1:
		prev = st.b
	}
	// The previous window still counts for the part of it the sliding
	// window covers, rounded up so the estimate never undercounts.
	weighted, inexact := mulDiv(prev, per-elapsed, per)
	if inexact {
		weighted++
	}
	estimate := weighted + curr
	*d = Decision{Policy: p.Name, Limit: p.Limit, ResetAfter: time.Duration(per - elapsed)}
	expires := (win + 2) * per
	if cost <= p.Limit && estimate+cost <= p.Limit {
		curr += cost
		d.Allowed = true
		d.Remaining = p.Limit - estimate - cost
		return state{a: win, b: curr, c: prev}, expires
	}
	d.Remaining = max(p.Limit-estimate, 0)
	switch {
	case cost > p.Limit:
		d.RetryAfter = time.Duration(2*per - elapsed)
	case curr+cost <= p.Limit:
		// Wait until the previous window's weight has shrunk enough:
		// ceil(prev*(per-e)/per) <= room  <=>  e >= per - floor(room*per/prev).
		room := p.Limit - curr - cost
		q, _ := mulDiv(room, per, prev)
		d.RetryAfter = time.Duration(per - q - elapsed)
	default:
		// Wait for the next window, where this window becomes the previous.
		room := p.Limit - cost
		var q int64
		if curr > 0 {
			q, _ = mulDiv(room, per, curr)
		}
		d.RetryAfter = time.Duration(per - elapsed + per - q)
	}
	return st, expires
}
