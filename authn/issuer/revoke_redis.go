package issuer

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redisstore"
	"github.com/redis/go-redis/v9"
)

// RedisRevocations is a RevocationStore in Redis (7.0 or later), shared by
// every instance, single node, Sentinel or Cluster. A subject's cut-off is the key
// Prefix+"rv:{"+subject+"}:before" (Unix seconds), a revoked token the
// key Prefix+"rv:{"+subject+"}:jti:"+jti and a revoked login the key
// Prefix+"rv:{"+subject+"}:sid:"+sid, each expiring when it can no
// longer matter. A check is one MGET of the keys that apply to the token
// (at most three), which share the subject's hash tag and so one Cluster
// slot: one round trip per verified request (bench/ states the cost).
//
// While Redis is down or stalled, each check fails after
// RedisOptions.Timeout and the request gets 503 (ErrUnavailable, with
// Retry-After): the list fails closed, since a revoked token must not pass
// because the list could not be read, and a 503 logs nobody out.
type RedisRevocations struct {
	r redisstore.Store
}

// NewRedisRevocations returns a revocation list on rdb. The client must be
// built with ContextTimeoutEnabled: true, so that opts.Timeout bounds each
// call; the store does not own the client.
func NewRedisRevocations(rdb redis.UniversalClient, opts authn.RedisOptions) (*RedisRevocations, error) {
	s, err := redisstore.New("issuer.NewRedisRevocations", rdb, opts.Prefix, opts.Timeout, authn.DefaultRedisTimeout)
	if err != nil {
		return nil, err
	}
	return &RedisRevocations{s}, nil
}

func (s *RedisRevocations) base(subject string) string {
	return s.r.Prefix + "rv:" + redisstore.HashTag(subject) + ":"
}

// Revoked implements RevocationList.
func (s *RedisRevocations) Revoked(ctx context.Context, c *authn.Claims) (bool, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	base := s.base(c.Subject)
	var buf [3]string
	keys := append(buf[:0], base+"before")
	if c.ID != "" {
		keys = append(keys, base+"jti:"+c.ID)
	}
	if c.SessionID != "" {
		keys = append(keys, base+"sid:"+c.SessionID)
	}
	vals, err := s.r.RDB.MGet(ctx, keys...).Result()
	if err != nil {
		return false, err
	}
	if len(vals) != len(keys) {
		return false, errors.New("authn: short reply to the revocation check")
	}
	for _, v := range vals[1:] {
		if v != nil {
			return true, nil
		}
	}
	cutoff, err := parseCutoff(vals[0])
	if err != nil {
		return false, err
	}
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time
	}
	return revokedByCutoff(iat, cutoff, c.IssuedAt != nil), nil
}

func parseCutoff(v any) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	str, ok := v.(string)
	if !ok {
		return time.Time{}, errors.New("authn: unexpected revocation value")
	}
	sec, err := strconv.ParseInt(str, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("authn: bad revocation cut-off")
	}
	return time.Unix(sec, 0), nil
}

// RevokeToken implements RevocationStore.
func (s *RedisRevocations) RevokeToken(ctx context.Context, subject, jti string, exp time.Time) error {
	until := exp.Add(RevocationMargin)
	if jti == "" || !until.After(time.Now()) {
		return nil
	}
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	return s.r.RDB.SetArgs(ctx, s.base(subject)+"jti:"+jti, "1", redis.SetArgs{ExpireAt: until}).Err()
}

// RevokeLogin implements RevocationStore.
func (s *RedisRevocations) RevokeLogin(ctx context.Context, subject, loginID string, keepUntil time.Time) error {
	if loginID == "" || !keepUntil.After(time.Now()) {
		return nil
	}
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	// A login revoked again keeps the later of the two expiries.
	key := s.base(subject) + "sid:" + loginID
	until := keepUntil.UnixMilli()
	var set, extend *redis.Cmd
	_, err := s.r.RDB.TxPipelined(ctx, func(p redis.Pipeliner) error {
		set = p.Do(ctx, "SET", key, "1", "PXAT", until, "NX")
		extend = p.Do(ctx, "PEXPIREAT", key, until, "GT")
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if err := set.Err(); err != nil && !errors.Is(err, redis.Nil) {
		return err // NX answers nil when the login was already revoked
	}
	return extend.Err()
}

// cutoffScript: KEYS[1] the cut-off key; ARGV[1] the cut-off (Unix s),
// ARGV[2] keep-until (Unix ms). It raises the cut-off, never lowers it,
// and extends the key's life, never shortens it.
var cutoffScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then
  if redis.call('PEXPIRETIME', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
  return 0
end
local keep = tonumber(ARGV[2])
local old = redis.call('PEXPIRETIME', KEYS[1])
if old > keep then keep = old end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', string.format('%d', keep))
return 1
`)

// RevokeSubject implements RevocationStore.
func (s *RedisRevocations) RevokeSubject(ctx context.Context, subject string, before, keepUntil time.Time) error {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	return cutoffScript.Run(ctx, s.r.RDB, []string{s.base(subject) + "before"}, before.Unix(), keepUntil.UnixMilli()).Err()
}

// RevokedBefore implements RevocationStore.
func (s *RedisRevocations) RevokedBefore(ctx context.Context, subject string) (time.Time, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	v, err := s.r.RDB.Get(ctx, s.base(subject)+"before").Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return parseCutoff(v)
}
