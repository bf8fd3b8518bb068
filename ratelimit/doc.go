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
// Client addresses come from package clientip: pass a *clientip.Resolver
// as Options.ClientIP, or mount its Handler earlier. IPv6 clients are
// counted per /64. A request without a usable key is never let through
// unlimited: it shares one bucket with all such requests, or is refused.
package ratelimit
