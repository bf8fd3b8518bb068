package authn

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/redis/go-redis/v9"
)

// RedisRefreshStore is a RefreshStore in Redis (6.2 or later). Each token is
// a hash under Prefix+"rt:"+hash, kept until its family ends so reuse is
// recognized; a revoked family is a key under Prefix+"rf:"+family. Rotation
// and reuse detection run in one Lua script, so they are atomic across
// processes. It needs a single Redis node (the script derives the family
// key, which Redis Cluster does not allow).
type RedisRefreshStore struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisRefreshStore returns a store on rdb whose keys start with prefix
// (for example "myapp:auth:"); prefix is required so the keys cannot
// collide with the application's.
func NewRedisRefreshStore(rdb redis.UniversalClient, prefix string) (*RedisRefreshStore, error) {
	if rdb == nil {
		return nil, errs.Configf("authn: NewRedisRefreshStore needs a client")
	}
	if prefix == "" {
		return nil, errs.Configf("authn: NewRedisRefreshStore needs a key prefix")
	}
	return &RedisRefreshStore{rdb: rdb, prefix: prefix}, nil
}

func (s *RedisRefreshStore) tokenKey(hash string) string { return s.prefix + "rt:" + hash }

// Create implements RefreshStore.
func (s *RedisRefreshStore) Create(ctx context.Context, hash string, rec RefreshRecord) error {
	g, err := json.Marshal(rec.Grant)
	if err != nil {
		return err
	}
	key := s.tokenKey(hash)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "grant", g, "fam", rec.Family, "used", "0",
			"exp", rec.ExpiresAt.UnixMilli(), "fexp", rec.FamilyExpiresAt.UnixMilli())
		p.PExpireAt(ctx, key, rec.FamilyExpiresAt)
		return nil
	})
	return err
}

// rotateScript: KEYS[1] the presented token, KEYS[2] its successor;
// ARGV[1] the family key prefix, ARGV[2] now (ms), ARGV[3] the successor's
// expiry (ms). It returns {status, grant, family, exp, fexp}.
var rotateScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'grant', 'fam', 'used', 'exp', 'fexp')
if not v[1] then return {'unknown'} end
local now = tonumber(ARGV[2])
local fexp = tonumber(v[5])
if fexp <= now then return {'unknown'} end
local famkey = ARGV[1] .. v[2]
if redis.call('EXISTS', famkey) == 1 then return {'revoked'} end
if v[3] == '1' then
  redis.call('SET', famkey, '1', 'PXAT', v[5])
  return {'reused'}
end
if tonumber(v[4]) <= now then return {'unknown'} end
redis.call('HSET', KEYS[1], 'used', '1')
local nexp = math.min(tonumber(ARGV[3]), fexp)
redis.call('HSET', KEYS[2], 'grant', v[1], 'fam', v[2], 'used', '0', 'exp', nexp, 'fexp', v[5])
redis.call('PEXPIREAT', KEYS[2], v[5])
return {'ok', v[1], v[2], tostring(nexp), v[5]}
`)

// Rotate implements RefreshStore.
func (s *RedisRefreshStore) Rotate(ctx context.Context, hash, nextHash string, now, nextExpiresAt time.Time) (RefreshRecord, error) {
	res, err := rotateScript.Run(ctx, s.rdb, []string{s.tokenKey(hash), s.tokenKey(nextHash)},
		s.prefix+"rf:", now.UnixMilli(), nextExpiresAt.UnixMilli()).StringSlice()
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
		return RefreshRecord{}, ErrRefreshRevoked
	case "reused":
		return RefreshRecord{}, ErrRefreshReused
	case "ok":
	default:
		return RefreshRecord{}, errors.New("authn: unexpected reply from the rotate script")
	}
	if len(res) != 5 {
		return RefreshRecord{}, errors.New("authn: short reply from the rotate script")
	}
	rec := RefreshRecord{Family: res[2]}
	if err := json.Unmarshal([]byte(res[1]), &rec.Grant); err != nil {
		return RefreshRecord{}, err
	}
	exp, err1 := strconv.ParseInt(res[3], 10, 64)
	fexp, err2 := strconv.ParseInt(res[4], 10, 64)
	if err1 != nil || err2 != nil {
		return RefreshRecord{}, errors.New("authn: bad expiry in the rotate script's reply")
	}
	rec.ExpiresAt, rec.FamilyExpiresAt = time.UnixMilli(exp), time.UnixMilli(fexp)
	return rec, nil
}

var revokeScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'fam', 'fexp')
if not v[1] then return 0 end
redis.call('SET', ARGV[1] .. v[1], '1', 'PXAT', v[2])
return 1
`)

// Revoke implements RefreshStore.
func (s *RedisRefreshStore) Revoke(ctx context.Context, hash string) error {
	return revokeScript.Run(ctx, s.rdb, []string{s.tokenKey(hash)}, s.prefix+"rf:").Err()
}
