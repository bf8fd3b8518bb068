package session

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/redis/go-redis/v9"
)

// RedisStore keeps records in Redis (github.com/redis/go-redis/v9). Each
// session is a hash under Prefix+"s:"+key with the encoded record and the
// last-seen time, expiring when the session would: its TTL is the time left
// until the idle or the absolute deadline, whichever comes first. A Load is
// one round trip (HMGET), a Save one (MULTI/EXEC pipeline with the user
// index), a Touch one (a script, so a touch never resurrects a deleted
// session). Each user's sessions are indexed in a sorted set under
// Prefix+"u:"+userID, scored by absolute expiry.
type RedisStore struct {
	c      redis.UniversalClient
	prefix string
}

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	// Client is the Redis client. Required.
	Client redis.UniversalClient
	// Prefix starts every key the store writes. Empty: "covet:session:".
	Prefix string
}

// DefaultRedisPrefix is the key prefix a RedisStore uses by default.
const DefaultRedisPrefix = "covet:session:"

// NewRedisStore returns a RedisStore, or a configuration error without a
// client.
func NewRedisStore(o RedisOptions) (*RedisStore, error) {
	if o.Client == nil {
		return nil, errs.Configf("session: RedisOptions.Client is required")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultRedisPrefix
	}
	return &RedisStore{c: o.Client, prefix: o.Prefix}, nil
}

func (s *RedisStore) recKey(k Key) string {
	b := make([]byte, 0, len(s.prefix)+2+2*len(k))
	b = append(b, s.prefix...)
	b = append(b, 's', ':')
	b = appendHex(b, k[:])
	return string(b)
}

func (s *RedisStore) userKey(userID string) string { return s.prefix + "u:" + userID }

func appendHex(b, src []byte) []byte {
	const digits = "0123456789abcdef"
	for _, c := range src {
		b = append(b, digits[c>>4], digits[c&0xf])
	}
	return b
}

// Load implements Store with one HMGET.
func (s *RedisStore) Load(ctx context.Context, key Key) (Record, error) {
	vals, err := s.c.HMGet(ctx, s.recKey(key), "r", "t").Result()
	if err != nil {
		return Record{}, err
	}
	return decodeRedis(vals)
}

func decodeRedis(vals []any) (Record, error) {
	if len(vals) != 2 {
		return Record{}, ErrNotFound
	}
	raw, ok := vals[0].(string)
	if !ok {
		return Record{}, ErrNotFound
	}
	var rec Record
	if err := rec.UnmarshalBinary([]byte(raw)); err != nil {
		return Record{}, err
	}
	if t, ok := vals[1].(string); ok {
		if ms, err := strconv.ParseInt(t, 10, 64); err == nil && ms > 0 {
			rec.LastSeen = time.UnixMilli(ms)
		}
	}
	return rec, nil
}

// Save implements Store in one MULTI/EXEC round trip.
func (s *RedisStore) Save(ctx context.Context, key Key, rec Record, ttl time.Duration) error {
	blob, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	ttl = max(ttl, time.Millisecond)
	rk := s.recKey(key)
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, rk)
		p.HSet(ctx, rk, "r", blob, "t", rec.LastSeen.UnixMilli())
		p.PExpire(ctx, rk, ttl)
		if rec.UserID != "" {
			uk := s.userKey(rec.UserID)
			life := max(rec.Expires.Sub(rec.LastSeen), ttl)
			now := time.Now()
			p.ZAdd(ctx, uk, redis.Z{Score: float64(now.Add(life).UnixMilli()), Member: key.String()})
			p.ZRemRangeByScore(ctx, uk, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
			p.Do(ctx, "PEXPIRE", uk, life.Milliseconds(), "NX")
			p.Do(ctx, "PEXPIRE", uk, life.Milliseconds(), "GT")
		}
		return nil
	})
	return err
}

// replaceScript is Save that only writes over a live record: the existence
// check and the write are one atomic step, so a concurrent Delete or
// DeleteUser cannot be undone by a request that loaded the session before.
var replaceScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'r', ARGV[1], 't', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if #KEYS > 1 then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[7])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[6], 'NX')
  redis.call('PEXPIRE', KEYS[2], ARGV[6], 'GT')
end
return 1`)

// Replace implements Replacer in one round trip.
func (s *RedisStore) Replace(ctx context.Context, key Key, rec Record, ttl time.Duration) (bool, error) {
	blob, err := rec.MarshalBinary()
	if err != nil {
		return false, err
	}
	ttl = max(ttl, time.Millisecond)
	keys := []string{s.recKey(key)}
	args := []any{blob, rec.LastSeen.UnixMilli(), ttl.Milliseconds()}
	if rec.UserID != "" {
		life := max(rec.Expires.Sub(rec.LastSeen), ttl)
		now := time.Now()
		keys = append(keys, s.userKey(rec.UserID))
		args = append(args, now.Add(life).UnixMilli(), now.UnixMilli(), life.Milliseconds(), key.String())
	}
	n, err := replaceScript.Run(ctx, s.c, keys, args...).Int()
	return n == 1, err
}

var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 't', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// Touch implements Store with one script call.
func (s *RedisStore) Touch(ctx context.Context, key Key, lastSeen time.Time, ttl time.Duration) error {
	ttl = max(ttl, time.Millisecond)
	return touchScript.Run(ctx, s.c, []string{s.recKey(key)}, lastSeen.UnixMilli(), ttl.Milliseconds()).Err()
}

// Delete implements Store. The user index forgets the key lazily.
func (s *RedisStore) Delete(ctx context.Context, key Key) error {
	return s.c.Del(ctx, s.recKey(key)).Err()
}

// UserSessions implements Store: the index, then one pipelined HMGET per
// indexed session. Index entries whose record is gone are removed.
func (s *RedisStore) UserSessions(ctx context.Context, userID string) ([]Entry, error) {
	uk := s.userKey(userID)
	members, err := s.c.ZRange(ctx, uk, 0, -1).Result()
	if err != nil || len(members) == 0 {
		return nil, err
	}
	keys := make([]Key, 0, len(members))
	cmds := make([]*redis.SliceCmd, 0, len(members))
	var stale []any
	for _, m := range members {
		k, err := ParseKey(m)
		if err != nil {
			stale = append(stale, m)
			continue
		}
		keys = append(keys, k)
	}
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			cmds = append(cmds, p.HMGet(ctx, s.recKey(k), "r", "t"))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]Entry, 0, len(keys))
	for i, k := range keys {
		rec, err := decodeRedis(cmds[i].Val())
		if err != nil {
			stale = append(stale, k.String())
			continue
		}
		out = append(out, Entry{Key: k, Record: rec})
	}
	if len(stale) > 0 {
		_ = s.c.ZRem(ctx, uk, stale...).Err()
	}
	return out, nil
}

var deleteUserScript = redis.NewScript(`
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local n = 0
for _, m in ipairs(members) do
  n = n + redis.call('DEL', ARGV[1] .. m)
end
redis.call('DEL', KEYS[1])
return n`)

// DeleteUser implements Store atomically, in one script call.
func (s *RedisStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := deleteUserScript.Run(ctx, s.c, []string{s.userKey(userID)}, s.prefix+"s:").Int()
	return n, err
}

// UserVersion implements UserVersions (for a CookieStore) with a counter
// under Prefix+"v:"+userID.
func (s *RedisStore) UserVersion(ctx context.Context, userID string) (uint64, error) {
	v, err := s.c.Get(ctx, s.prefix+"v:"+userID).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

// BumpUserVersion implements UserVersions.
func (s *RedisStore) BumpUserVersion(ctx context.Context, userID string) (uint64, error) {
	v, err := s.c.Incr(ctx, s.prefix+"v:"+userID).Uint64()
	return v, err
}
