package ratelimit

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/redisclient"
	"github.com/redis/go-redis/v9"
)

//go:embed script.lua
var decideScript string

var decideSHA = func() string {
	sum := sha1.Sum([]byte(decideScript))
	return hex.EncodeToString(sum[:])
}()

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	// Prefix starts every key the store writes. It must not contain '{'
	// or '}' (the store adds a Redis Cluster hash tag after it). Zero:
	// "covet:rl:".
	Prefix string
	// Timeout bounds every decision's round trip; a decision that misses
	// it is a store error, handled by the Limiter's failure policy. Zero:
	// 100 ms.
	Timeout time.Duration
}

// DefaultRedisTimeout is the deadline of a Redis decision when
// RedisOptions.Timeout is zero.
const DefaultRedisTimeout = 100 * time.Millisecond

// RedisStore keeps rate-limit state in Redis, so that every instance of a
// service shares it. Each decision is one round trip: one Lua script
// decides all of a request's policies atomically, with the time taken from
// the server (redis.call('TIME')), so instances whose clocks disagree still
// agree on the limits. The script is run by its SHA1 (EVALSHA) and sent
// again only when the server answers NOSCRIPT (after SCRIPT FLUSH or a
// restart). Every write sets a TTL of at least 1 ms, so idle keys expire.
// Keys reach the script only through KEYS[]; all keys of one decision share
// a hash tag derived from the request's key, so the script runs on Redis
// Cluster.
type RedisStore struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// NewRedisStore returns a store on client (a *redis.Client, a
// *redis.ClusterClient, a Sentinel failover client or a *redis.Ring). The
// client must be built with ContextTimeoutEnabled: true, so that
// RedisOptions.Timeout bounds every call, dials included; NewRedisStore
// refuses it otherwise. The store does not own the client.
func NewRedisStore(client redis.UniversalClient, opts RedisOptions) (*RedisStore, error) {
	if client == nil {
		return nil, errs.Configf("ratelimit: NewRedisStore needs a Redis client")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = "covet:rl:"
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, errs.Configf("ratelimit: RedisOptions.Prefix %q must not contain '{' or '}'", prefix)
	}
	if !redisclient.HonoursDeadlines(client) {
		return nil, errs.Configf("ratelimit: the Redis client must set ContextTimeoutEnabled, or RedisOptions.Timeout cannot bound a call (go-redis otherwise waits its own ReadTimeout)")
	}
	if opts.Timeout < 0 {
		return nil, errs.Configf("ratelimit: RedisOptions.Timeout must not be negative")
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultRedisTimeout
	}
	return &RedisStore{client: client, prefix: prefix, timeout: timeout}, nil
}

// Close does nothing: the client belongs to the caller.
func (s *RedisStore) Close() error { return nil }

func (s *RedisStore) supports(Algorithm) bool { return true }

// keys returns the Redis keys of set's policies for key:
// prefix + "{" + name + ":" + hex(sha256(key)[:16]) + "}:" + policy + ":" + algorithm.
func (s *RedisStore) keys(set *policySet, key []byte) []string {
	sum := sha256.Sum256(key)
	var tag [32]byte
	hex.Encode(tag[:], sum[:16])
	base := s.prefix + "{" + set.name + ":" + string(tag[:]) + "}:"
	out := make([]string, len(set.ps))
	for i := range set.ps {
		p := &set.ps[i]
		out[i] = base + p.Name + ":" + string(p.Algorithm.code())
	}
	return out
}

// ErrStore is the cause of every store failure (errors.Is works on what
// Allow returns).
var ErrStore = errors.New("ratelimit: store unavailable")

func (s *RedisStore) decide(ctx context.Context, set *policySet, key []byte, cost int64, res *Result) error {
	keys := s.keys(set, key)
	args := make([]any, 1, 1+4*len(set.ps))
	args[0] = strconv.FormatInt(cost, 10)
	for i := range set.ps {
		for _, a := range set.ps[i].redisArgs {
			args = append(args, a)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	reply, err := s.client.EvalSha(ctx, decideSHA, keys, args...).Result()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		reply, err = s.client.Eval(ctx, decideScript, keys, args...).Result()
	}
	if err != nil {
		return errors.Join(ErrStore, err)
	}
	vals, ok := reply.([]any)
	if !ok || len(vals) != 1+4*len(set.ps) {
		return errors.Join(ErrStore, errors.New("ratelimit: unexpected script reply"))
	}
	res.n = len(set.ps)
	for i := range set.ps {
		v := vals[1+4*i : 5+4*i]
		var n [4]int64
		for k := range n {
			x, ok := v[k].(int64)
			if !ok {
				return errors.Join(ErrStore, errors.New("ratelimit: unexpected script reply"))
			}
			n[k] = x
		}
		res.d[i] = Decision{
			Policy:     set.ps[i].Name,
			Allowed:    n[0] == 1,
			Limit:      set.ps[i].Limit,
			Remaining:  n[1],
			ResetAfter: time.Duration(n[2]) * time.Microsecond,
			RetryAfter: time.Duration(n[3]) * time.Microsecond,
		}
	}
	res.summarize()
	return nil
}
