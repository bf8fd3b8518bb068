package totp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redisstore"
	"github.com/redis/go-redis/v9"
)

// RedisStore is a Store and RecoveryStore in Redis, for
// deployments with several processes, on a single node, Sentinel or
// Cluster: the last used step is advanced by a Lua compare-and-swap,
// failures are a sorted set of timestamps, recovery code hashes a set (SREM
// makes each single-use). An account's keys are
// Prefix+"totp:{"+account+"}:step", ":fail", ":codes" and ":used:"+hash;
// the account is the hash tag, so they share a Cluster slot. The step and
// recovery-code scripts are safe to run twice for one call.
//
// While Redis is down or stalled, each call fails after
// authn.RedisOptions.Timeout and Verifier.Verify answers 503 (authn.ErrUnavailable): the
// check fails closed, since neither replay protection nor the attempt
// limit could be kept, and the user may simply try again.
type RedisStore struct {
	r redisstore.Store
	// stepTTL keeps the last used step around long enough to refuse any
	// code still inside the skew window.
	stepTTL time.Duration
}

// NewRedisStore returns a store on rdb. The client must be built with
// ContextTimeoutEnabled: true, so that opts.Timeout bounds each call; the
// store does not own the client.
func NewRedisStore(rdb redis.UniversalClient, opts authn.RedisOptions) (*RedisStore, error) {
	s, err := redisstore.New("totp.NewRedisStore", rdb, opts.Prefix, opts.Timeout, authn.DefaultRedisTimeout)
	if err != nil {
		return nil, err
	}
	return &RedisStore{r: s, stepTTL: 10 * time.Minute}, nil
}

func (s *RedisStore) key(account, what string) string {
	return s.r.Prefix + "totp:" + redisstore.HashTag(account) + ":" + what
}

// useStepScript: KEYS[1] the account's last step; ARGV[1] the step,
// ARGV[2] the key's life (ms), ARGV[3] a nonce of this call. The value is
// "step:nonce", so the same call run twice (go-redis retrying after a lost
// reply) succeeds twice instead of refusing its own step as a replay.
var useStepScript = redis.NewScript(`
local last = redis.call('GET', KEYS[1])
if last then
  if last == ARGV[1] .. ':' .. ARGV[3] then return 1 end
  local i = string.find(last, ':', 1, true)
  local n = tonumber(i and string.sub(last, 1, i - 1) or last)
  if n and n >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[3], 'PX', ARGV[2])
return 1
`)

// UseStep implements Store.
func (s *RedisStore) UseStep(ctx context.Context, account string, step int64) (bool, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	n, err := useStepScript.Run(ctx, s.r.RDB, []string{s.key(account, "step")}, step, s.stepTTL.Milliseconds(), callNonce()).Int()
	return n == 1, err
}

func (s *RedisStore) failKey(account string) string { return s.key(account, "fail") }

// AddFailure implements Store.
func (s *RedisStore) AddFailure(ctx context.Context, account string, window time.Duration) (int, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	key := s.failKey(account)
	now := time.Now()
	var card *redis.IntCmd
	_, err := s.r.RDB.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(now.Add(-window).UnixNano(), 10))
		p.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixNano()), Member: strconv.FormatInt(now.UnixNano(), 10) + ":" + callNonce()})
		card = p.ZCard(ctx, key)
		p.PExpire(ctx, key, window)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(card.Val()), nil
}

// Failures implements Store.
func (s *RedisStore) Failures(ctx context.Context, account string, window time.Duration) (int, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	n, err := s.r.RDB.ZCount(ctx, s.failKey(account), strconv.FormatInt(time.Now().Add(-window).UnixNano(), 10), "+inf").Result()
	return int(n), err
}

// ResetFailures implements Store.
func (s *RedisStore) ResetFailures(ctx context.Context, account string) error {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	return s.r.RDB.Del(ctx, s.failKey(account)).Err()
}

func (s *RedisStore) codesKey(account string) string { return s.key(account, "codes") }

// SetRecoveryCodes replaces the account's recovery code hashes.
func (s *RedisStore) SetRecoveryCodes(ctx context.Context, account string, hashes []string) error {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	key := s.codesKey(account)
	members := make([]any, len(hashes))
	for i, h := range hashes {
		members[i] = h
	}
	_, err := s.r.RDB.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		if len(members) > 0 {
			p.SAdd(ctx, key, members...)
		}
		return nil
	})
	return err
}

// consumeScript: KEYS[1] the account's recovery codes, KEYS[2] the
// marker of this code's use; ARGV[1] the code's hash, ARGV[2] a nonce of
// this call. The marker makes the same call run twice (go-redis retrying
// after a lost reply) succeed twice, instead of reporting the code it just
// consumed as wrong.
var consumeScript = redis.NewScript(`
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', 60000)
  return 1
end
if redis.call('GET', KEYS[2]) == ARGV[2] then return 1 end
return 0
`)

// ConsumeRecoveryCode implements RecoveryStore.
func (s *RedisStore) ConsumeRecoveryCode(ctx context.Context, account, hash string) (bool, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	n, err := consumeScript.Run(ctx, s.r.RDB, []string{s.codesKey(account), s.key(account, "used:"+hash)}, hash, callNonce()).Int()
	return n == 1, err
}

// callNonce returns 12 random hex digits that tell one store call from
// another.
func callNonce() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
