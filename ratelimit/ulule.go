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
// already keep ulule counters keep them. New refuses token buckets and
// sliding windows on this store.
//
// ulule stores count every hit and start a window at a key's first hit,
// so the adapter first peeks every policy and takes the cost only when all
// of them have room; if a concurrent request won the race for the last
// units, it gives them back with a negative increment. Each policy is
// atomic in its store; the check across policies is not, but no policy
// keeps the cost of a refused request.
func LimiterStore(s limiter.Store) Store { return &ululeStore{s: s} }

type ululeStore struct{ s limiter.Store }

func (u *ululeStore) supports(a Algorithm) bool { return a == FixedWindow }

// Close does nothing: the ulule store belongs to the caller.
func (u *ululeStore) Close() error { return nil }

func (u *ululeStore) decide(ctx context.Context, set *policySet, key []byte, cost int64, res *Result) error {
	sum := sha256.Sum256(key)
	base := set.name + ":" + hex.EncodeToString(sum[:16]) + ":"
	var keys [MaxPolicies]string
	var ctxs [MaxPolicies]limiter.Context
	n := len(set.ps)
	res.n = n
	allowed := true
	for i := range set.ps {
		keys[i] = base + set.ps[i].Name
		c, err := u.s.Peek(ctx, keys[i], set.ps[i].Rate())
		if err != nil {
			return errors.Join(ErrStore, err)
		}
		ctxs[i] = c
		if cost > c.Remaining {
			allowed = false
		}
	}
	if allowed && cost > 0 {
		done := 0
		var err error
		for i := range set.ps {
			var c limiter.Context
			c, err = u.s.Increment(ctx, keys[i], cost, set.ps[i].Rate())
			if err != nil {
				break
			}
			done++
			ctxs[i] = c
			if c.Reached {
				allowed = false
			}
		}
		if err != nil || !allowed {
			for i := 0; i < done; i++ {
				c, _ := u.s.Increment(ctx, keys[i], -cost, set.ps[i].Rate())
				ctxs[i] = c
			}
			if err != nil {
				return errors.Join(ErrStore, err)
			}
		}
	}
	now := time.Now()
	for i := range set.ps {
		c := ctxs[i]
		reset := max(time.Unix(c.Reset, 0).Sub(now), 0)
		d := Decision{Policy: set.ps[i].Name, Limit: set.ps[i].Limit, Remaining: max(c.Remaining, 0), ResetAfter: reset, Allowed: allowed}
		if !allowed && cost > 0 {
			d.Allowed = cost <= c.Remaining
			if !d.Allowed {
				d.RetryAfter = reset
				if cost > set.ps[i].Limit {
					d.RetryAfter += set.ps[i].Period
				}
			}
		}
		res.d[i] = d
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
