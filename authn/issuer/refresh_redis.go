package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redisstore"
	"github.com/redis/go-redis/v9"
)

// RedisRefreshStore is a RefreshStore in Redis (6.2 or later), single node,
// Sentinel or Cluster. Each token is a hash under
// Prefix+"rt:{"+family+"}:"+hash, kept until its family ends so reuse is
// recognized; a revoked family is the key Prefix+"rf:{"+family+"}", and
// the login's subject the key Prefix+"rs:{"+family+"}" (so that a family
// revoked by its ID alone names the subject whose access tokens go with
// it). The family is the hash tag, so a family's keys share a Cluster
// slot, and rotation with reuse detection runs in one Lua script that
// receives every key it touches in KEYS.
//
// While Redis is down or stalled, each call fails after RedisOptions.Timeout
// and the Issuer answers 503 (ErrUnavailable, with Retry-After): it fails
// closed for the request, and nobody is logged out. A rotation whose reply
// was lost (a timeout, a retry by go-redis) is answered with the same
// successor when the client presents the token again within the reuse
// interval (Options.RefreshReuseGrace), so a stall does not turn a
// retry into reuse.
type RedisRefreshStore struct {
	r redisstore.Store
}

// NewRedisRefreshStore returns a store on rdb. The client must be built with
// ContextTimeoutEnabled: true, so that opts.Timeout bounds each call; the
// store does not own the client.
func NewRedisRefreshStore(rdb redis.UniversalClient, opts authn.RedisOptions) (*RedisRefreshStore, error) {
	s, err := redisstore.New("issuer.NewRedisRefreshStore", rdb, opts.Prefix, opts.Timeout, authn.DefaultRedisTimeout)
	if err != nil {
		return nil, err
	}
	return &RedisRefreshStore{s}, nil
}

func (s *RedisRefreshStore) tokenKey(family, hash string) string {
	return s.r.Prefix + "rt:" + redisstore.HashTag(family) + ":" + hash
}

func (s *RedisRefreshStore) familyKey(family string) string {
	return s.r.Prefix + "rf:" + redisstore.HashTag(family)
}

func (s *RedisRefreshStore) subjectKey(family string) string {
	return s.r.Prefix + "rs:" + redisstore.HashTag(family)
}

// Create implements RefreshStore.
func (s *RedisRefreshStore) Create(ctx context.Context, hash string, rec RefreshRecord) error {
	g, err := json.Marshal(rec.Grant)
	if err != nil {
		return err
	}
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	key := s.tokenKey(rec.Family, hash)
	_, err = s.r.RDB.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "grant", g, "used", "0", "next", "",
			"exp", rec.ExpiresAt.UnixMilli(), "fexp", rec.FamilyExpiresAt.UnixMilli(), "auth", rec.AuthTime.UnixMilli())
		p.PExpireAt(ctx, key, rec.FamilyExpiresAt)
		p.Do(ctx, "SET", s.subjectKey(rec.Family), rec.Grant.Subject, "PXAT", rec.FamilyExpiresAt.UnixMilli())
		return nil
	})
	return err
}

// rotateScript: KEYS[1] the presented token, KEYS[2] its successor, KEYS[3]
// the family's revocation key, KEYS[4] its subject key (one hash tag);
// ARGV[1] now (ms), ARGV[2] the successor's expiry (ms), ARGV[3] the reuse
// interval (ms), ARGV[4] the successor's hash. It returns {status, grant,
// exp, fexp, auth}; "revoked" and "reused" return {status, grant}. A
// family created without a subject key gets one at its next rotation.
//
// A used token presented with the successor it was rotated to, within the
// reuse interval and while that successor is unused, returns that
// successor again: this makes the script safe
// to run twice (a retry after a lost reply sends the same arguments) and
// lets a client retry a refresh whose answer it did not get.
var rotateScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'grant', 'used', 'exp', 'fexp', 'next', 'auth')
if not v[1] then return {'unknown'} end
local now = tonumber(ARGV[1])
local fexp = tonumber(v[4])
if fexp <= now then return {'unknown'} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'revoked', v[1]} end
local used = tonumber(v[2])
if used > 0 then
  if v[5] == ARGV[4] and now < used + tonumber(ARGV[3]) then
    local n = redis.call('HMGET', KEYS[2], 'exp', 'used')
    if n[1] and n[2] == '0' then return {'ok', v[1], n[1], v[4], v[6]} end
  end
  redis.call('SET', KEYS[3], '1', 'PXAT', v[4])
  return {'reused', v[1]}
end
if tonumber(v[3]) <= now then return {'unknown'} end
redis.call('HSET', KEYS[1], 'used', ARGV[1], 'next', ARGV[4])
local nexp = math.min(tonumber(ARGV[2]), fexp)
redis.call('HSET', KEYS[2], 'grant', v[1], 'used', '0', 'next', '', 'exp', string.format('%d', nexp), 'fexp', v[4], 'auth', v[6])
redis.call('PEXPIREAT', KEYS[2], v[4])
if redis.call('EXISTS', KEYS[4]) == 0 then
  local ok, g = pcall(cjson.decode, v[1])
  if ok and type(g) == 'table' and type(g.sub) == 'string' then
    redis.call('SET', KEYS[4], g.sub, 'PXAT', v[4])
  end
end
return {'ok', v[1], string.format('%d', nexp), v[4], v[6]}
`)

// Rotate implements RefreshStore.
func (s *RedisRefreshStore) Rotate(ctx context.Context, r Rotation) (RefreshRecord, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	keys := []string{s.tokenKey(r.Family, r.Hash), s.tokenKey(r.Family, r.NextHash), s.familyKey(r.Family), s.subjectKey(r.Family)}
	res, err := rotateScript.Run(ctx, s.r.RDB, keys,
		r.Now.UnixMilli(), r.NextExpiresAt.UnixMilli(), r.Grace.Milliseconds(), r.NextHash).StringSlice()
	if err != nil {
		return RefreshRecord{}, err
	}
	if len(res) == 0 {
		return RefreshRecord{}, errors.New("authn: empty reply from the rotate script")
	}
	switch res[0] {
	case "unknown":
		return RefreshRecord{}, ErrRefreshUnknown
	case "revoked":
		return endedRecord(r.Family, res), ErrRefreshRevoked
	case "reused":
		return endedRecord(r.Family, res), ErrRefreshReused
	case "ok":
	default:
		return RefreshRecord{}, errors.New("authn: unexpected reply from the rotate script")
	}
	if len(res) != 5 {
		return RefreshRecord{}, errors.New("authn: short reply from the rotate script")
	}
	rec := RefreshRecord{Family: r.Family}
	if err := json.Unmarshal([]byte(res[1]), &rec.Grant); err != nil {
		return RefreshRecord{}, err
	}
	var ms [3]int64
	for i := range ms {
		if ms[i], err = strconv.ParseInt(res[2+i], 10, 64); err != nil {
			return RefreshRecord{}, errors.New("authn: bad time in the rotate script's reply")
		}
	}
	rec.ExpiresAt, rec.FamilyExpiresAt, rec.AuthTime = time.UnixMilli(ms[0]), time.UnixMilli(ms[1]), time.UnixMilli(ms[2])
	return rec, nil
}

// endedRecord is the record of a token whose login has ended, from the
// rotate script's {status, grant} reply: what names the subject.
func endedRecord(family string, res []string) RefreshRecord {
	rec := RefreshRecord{Family: family}
	if len(res) > 1 {
		_ = json.Unmarshal([]byte(res[1]), &rec.Grant)
	}
	return rec
}

// revokeScript: KEYS[1] a token, KEYS[2] its family's revocation key. It
// returns the token's grant, or false when there is no such token.
var revokeScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'fexp', 'grant')
if not v[1] then return false end
redis.call('SET', KEYS[2], '1', 'PXAT', v[1])
return v[2]
`)

// Revoke implements RefreshStore.
func (s *RedisRefreshStore) Revoke(ctx context.Context, family, hash string) (string, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	grant, err := revokeScript.Run(ctx, s.r.RDB, []string{s.tokenKey(family, hash), s.familyKey(family)}).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var g Grant
	if err := json.Unmarshal([]byte(grant), &g); err != nil {
		return "", err
	}
	return g.Subject, nil
}

// RevokeFamily implements RefreshStore.
func (s *RedisRefreshStore) RevokeFamily(ctx context.Context, family string, until time.Time) (string, error) {
	ctx, cancel := s.r.Ctx(ctx)
	defer cancel()
	var get *redis.StringCmd
	_, err := s.r.RDB.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetArgs(ctx, s.familyKey(family), "1", redis.SetArgs{ExpireAt: until})
		get = p.Get(ctx, s.subjectKey(family))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", err
	}
	subject, err := get.Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return subject, err
}
