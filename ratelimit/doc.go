// Package ratelimit is Covet's rate-limit stage: token bucket (GCRA),
// sliding window and fixed window limits, per client IP, principal, API key,
// route or any function of the request, kept in process memory or shared
// through Redis.
//
// A Limiter enforces one or more Policies together. A request passes only
// if every policy has room for its cost, and a refused request takes
// nothing from any of them:
//
//	limit, err := ratelimit.New(ratelimit.Options{
//		Policies: []ratelimit.Policy{
//			ratelimit.PerSecond("burst", 20),                                   // token bucket
//			{Name: "hour", Algorithm: ratelimit.FixedWindow, Limit: 1000, Period: time.Hour},
//		},
//	})
//	r.Use(limit.Handler)
//
// Every answer carries the IETF RateLimit-Policy and RateLimit fields
// (draft-ietf-httpapi-ratelimit-headers); a refused request gets 429
// problem+json (through errs) with Retry-After and Cache-Control: no-store.
// Limiter.Allow is the same decision without HTTP.
//
// Stores: MemoryStore (sharded, capped, swept incrementally), RedisStore
// (one Lua script, one round trip per decision, server time, TTLs, Cluster
// hash tags) and LimiterStore, which runs fixed windows on any
// github.com/ulule/limiter Store. When a store fails, Options.OnStoreError
// chooses between refusing (503), letting through, or a local memory
// limiter.
//
// # While the store is down
//
// RedisStore bounds every decision with RedisOptions.Timeout (100 ms by
// default; the client's dials and retries run inside it, as the client must
// honour context deadlines), so a paused Redis, one that refuses
// connections and one that is unreachable all cost a request at most that
// long. The failure policy then decides:
//
//   - FailClosed (the default) answers 503 problem+json, code
//     "rate_limit_unavailable", with Retry-After (StoreRetry, at least one
//     second). Never 401 or 403: the request was not judged.
//   - FailOpen lets the request through without RateLimit headers.
//   - FailLocal limits it with a per-instance memory store.
//
// For StoreRetry after a failure (one second by default) the store is not
// asked again, so during an outage most requests do not even wait for the
// timeout. The next decision after that asks Redis again: nothing needs a
// restart when it comes back. Counters written before the outage are kept
// by Redis; a restarted empty Redis starts every limit afresh.
//
// # Redis Cluster
//
// NewRedisStore takes a redis.UniversalClient. All keys of one decision
// (one per policy) share a hash tag made from the limiter's name and a hash
// of the request's key, so the decision script runs on one node, and the
// script touches only the keys passed to it.
//
// Client addresses come from package clientip: pass a *clientip.Resolver
// as Options.ClientIP, or mount its Handler earlier. IPv6 clients are
// counted per /64. A request without a usable key is never let through
// unlimited: it shares one bucket with all such requests, or is refused.
package ratelimit
