package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/ulule/limiter/v3"
)

// LimiterStore runs FixedWindow policies on a github.com/ulule/limiter
// Store (its memory, Redis or any third-party driver), so services that
// already keep ulule counters keep them, and a backend this package has no
// store for comes in by implementing that interface. New refuses token
// buckets and sliding windows on this store.
//
// ulule stores count every hit and start a window at a key's first hit,
// so the adapter first peeks every policy and takes the cost only when all
// of them have room; if a concurrent request won the race for the last
// units, it gives them back with a negative increment. Each policy is
// atomic in its store; the check across policies is not, but no policy
// keeps the cost of a refused request.
func LimiterStore(s limiter.Store) *UluleStore { return &UluleStore{s: s} }

// UluleStore is the Options.Store LimiterStore returns.
type UluleStore struct{ s limiter.Store }

func (u *UluleStore) supports(a Algorithm) bool { return a == FixedWindow }

// Close does nothing: the ulule store belongs to the caller.
func (u *UluleStore) Close() error { return nil }

func (u *UluleStore) decide(ctx context.Context, set *policySet, key []byte, cost int64, res *Result) error {
	sum := sha256.Sum256(key)
	base := set.name + ":" + hex.EncodeToString(sum[:16]) + ":"
	var keys [MaxPolicies]string
	var ctxs [MaxPolicies]limiter.Context
	for i := range set.ps {
		keys[i] = base + set.ps[i].Name
	}
	allowed, err := u.peek(ctx, set, keys[:len(set.ps)], cost, ctxs[:])
	if err != nil {
		return err
	}
	if allowed && cost > 0 {
		if allowed, err = u.take(ctx, set, keys[:len(set.ps)], cost, ctxs[:]); err != nil {
			return err
		}
	}
	res.n = len(set.ps)
	now := time.Now()
	for i := range set.ps {
		res.d[i] = ululeDecision(&set.ps[i], ctxs[i], now, cost, allowed)
	}
	res.summarize()
	if !allowed && res.Allowed {
		// Every policy had room when looked at again, but the race was
		// lost; report the request as refused for a moment.
		res.Allowed = false
		res.RetryAfter = time.Second
	}
	return nil
}

// peek reads every policy's counter into ctxs and reports whether all of
// them have room for cost.
func (u *UluleStore) peek(ctx context.Context, set *policySet, keys []string, cost int64, ctxs []limiter.Context) (bool, error) {
	allowed := true
	for i := range keys {
		c, err := u.s.Peek(ctx, keys[i], set.ps[i].Rate())
		if err != nil {
			return false, errors.Join(ErrStore, err)
		}
		ctxs[i] = c
		allowed = allowed && cost <= c.Remaining
	}
	return allowed, nil
}

// take adds cost to every policy's counter. When one of them reached its
// limit meanwhile, or the store failed, it gives back what it took and
// reports false.
func (u *UluleStore) take(ctx context.Context, set *policySet, keys []string, cost int64, ctxs []limiter.Context) (bool, error) {
	done := 0
	var err error
	allowed := true
	for i := range keys {
		var c limiter.Context
		if c, err = u.s.Increment(ctx, keys[i], cost, set.ps[i].Rate()); err != nil {
			break
		}
		done++
		ctxs[i] = c
		allowed = allowed && !c.Reached
	}
	if err == nil && allowed {
		return true, nil
	}
	for i := 0; i < done; i++ {
		ctxs[i], _ = u.s.Increment(ctx, keys[i], -cost, set.ps[i].Rate())
	}
	if err != nil {
		return false, errors.Join(ErrStore, err)
	}
	return false, nil
}

// ululeDecision is policy p's decision from its counter c.
func ululeDecision(p *policy, c limiter.Context, now time.Time, cost int64, allowed bool) Decision {
	reset := max(time.Unix(c.Reset, 0).Sub(now), 0)
	d := Decision{Policy: p.Name, Limit: p.Limit, Remaining: max(c.Remaining, 0), ResetAfter: reset, Allowed: allowed}
	if allowed || cost <= 0 {
		return d
	}
	d.Allowed = cost <= c.Remaining
	if !d.Allowed {
		d.RetryAfter = reset
		if cost > p.Limit {
			d.RetryAfter += p.Period
		}
	}
	return d
}
