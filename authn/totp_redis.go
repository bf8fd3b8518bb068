package authn

import (
	"context"
	"strconv"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/redis/go-redis/v9"
)

// RedisTOTPStore is a TOTPStore and RecoveryStore in Redis, for
// deployments with several processes: the last used step is advanced by a
// Lua compare-and-swap, failures are a sorted set of timestamps, recovery
// code hashes a set (SREM makes each single-use). Keys start with the
// prefix given to NewRedisTOTPStore.
type RedisTOTPStore struct {
	rdb    redis.UniversalClient
	prefix string
	// stepTTL keeps the last used step around long enough to refuse any
	// code still inside the skew window.
	stepTTL time.Duration
}

// NewRedisTOTPStore returns a store on rdb whose keys start with prefix;
// prefix is required.
func NewRedisTOTPStore(rdb redis.UniversalClient, prefix string) (*RedisTOTPStore, error) {
	if rdb == nil || prefix == "" {
		return nil, errs.Configf("authn: NewRedisTOTPStore needs a client and a key prefix")
	}
	return &RedisTOTPStore{rdb: rdb, prefix: prefix, stepTTL: 10 * time.Minute}, nil
}

var useStepScript = redis.NewScript(`
local last = redis.call('GET', KEYS[1])
if last and tonumber(last) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// UseStep implements TOTPStore.
func (s *RedisTOTPStore) UseStep(ctx context.Context, account string, step int64) (bool, error) {
	n, err := useStepScript.Run(ctx, s.rdb, []string{s.prefix + "totp:step:" + account}, step, s.stepTTL.Milliseconds()).Int()
	return n == 1, err
}

func (s *RedisTOTPStore) failKey(account string) string { return s.prefix + "totp:fail:" + account }

// AddFailure implements TOTPStore.
func (s *RedisTOTPStore) AddFailure(ctx context.Context, account string, window time.Duration) (int, error) {
	key := s.failKey(account)
	now := time.Now()
	var card *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(now.Add(-window).UnixNano(), 10))
		p.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixNano()), Member: strconv.FormatInt(now.UnixNano(), 10) + ":" + randomToken()[:8]})
		card = p.ZCard(ctx, key)
		p.PExpire(ctx, key, window)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(card.Val()), nil
}

// Failures implements TOTPStore.
func (s *RedisTOTPStore) Failures(ctx context.Context, account string, window time.Duration) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.failKey(account), strconv.FormatInt(time.Now().Add(-window).UnixNano(), 10), "+inf").Result()
	return int(n), err
}

// ResetFailures implements TOTPStore.
func (s *RedisTOTPStore) ResetFailures(ctx context.Context, account string) error {
	return s.rdb.Del(ctx, s.failKey(account)).Err()
}

func (s *RedisTOTPStore) codesKey(account string) string { return s.prefix + "totp:codes:" + account }

// SetRecoveryCodes replaces the account's recovery code hashes.
func (s *RedisTOTPStore) SetRecoveryCodes(ctx context.Context, account string, hashes []string) error {
	key := s.codesKey(account)
	members := make([]any, len(hashes))
	for i, h := range hashes {
		members[i] = h
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		if len(members) > 0 {
			p.SAdd(ctx, key, members...)
		}
		return nil
	})
	return err
}

// ConsumeRecoveryCode implements RecoveryStore.
func (s *RedisTOTPStore) ConsumeRecoveryCode(ctx context.Context, account, hash string) (bool, error) {
	n, err := s.rdb.SRem(ctx, s.codesKey(account), hash).Result()
	return n == 1, err
}
