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
//
// # Token bucket, sliding and fixed windows
//
// ratelimit limits requests with a token bucket (GCRA), a sliding window or a
// fixed window (the algorithm of github.com/ulule/limiter, whose stores it can
// run on). It counts per client IP (through clientip, IPv6 per /64), per
// principal, per API key (hashed before it reaches a store), per route, or any
// combination. Several policies on one stage are all-or-nothing: the request
// passes only if every policy has room, and a refused request takes nothing.
// State lives in a sharded, capped in-memory store, or in Redis, where one Lua
// script decides all of a request's policies in one round trip using the
// server's clock.
//
// Responses carry the IETF RateLimit-Policy and RateLimit fields; a refused
// request gets 429 problem+json with Retry-After and Cache-Control: no-store.
// If Redis fails, the stage refuses with 503 (the default), lets requests
// through, or falls back to a local memory limiter, as configured.
//
//	import (
//		"net/http"
//		"time"
//
//		"github.com/go-chi/chi/v5"
//		"github.com/redis/go-redis/v9"
//
//		"github.com/covetgo/covet/ratelimit"
//	)
//
//	func routes(rdb *redis.Client) (http.Handler, error) {
//		// rdb must be built with ContextTimeoutEnabled: true.
//		store, err := ratelimit.NewRedisStore(rdb, ratelimit.RedisOptions{Prefix: "myapp:rl:"})
//		if err != nil {
//			return nil, err
//		}
//		limit, err := ratelimit.New(ratelimit.Options{
//			Store: store,
//			Policies: []ratelimit.Policy{
//				ratelimit.PerSecond("burst", 20),
//				{Name: "hour", Algorithm: ratelimit.FixedWindow, Limit: 1000, Period: time.Hour},
//			},
//			OnStoreError: ratelimit.FailLocal,
//		})
//		if err != nil {
//			return nil, err
//		}
//		r := chi.NewRouter()
//		r.Group(func(r chi.Router) {
//			r.Use(limit.Handler)
//			r.Get("/api/notes", func(w http.ResponseWriter, r *http.Request) {})
//		})
//		return r, nil
//	}
//
// Limiter.Allow(ctx, key, n) is the same decision without HTTP (for example
// per WebSocket message).
package ratelimit
