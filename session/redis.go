package session

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/redisclient"
	"github.com/redis/go-redis/v9"
)

// RedisStore keeps records in Redis (github.com/redis/go-redis/v9). Each
// session is a hash under Prefix+"s:"+key with the encoded record, the
// last-seen time, the user ID and, for an ID a renewal left behind, the end
// of its grace window, expiring when the session would: its TTL
// is the time left until the idle or the absolute deadline, whichever comes
// first. Each user's sessions are indexed in a sorted set under
// Prefix+"u:"+userID, scored by absolute expiry.
//
// A Load is one round trip (HMGET), a Touch one (a script, so a touch never
// resurrects a deleted session), a Replace one (a script, so a write never
// resurrects a destroyed session), plus one to index the session when its
// user changed; a Save is one, plus one to index a session bound to a user.
//
// # Redis Cluster
//
// Every command and script touches one key, so the store runs unchanged on
// Redis Cluster. A session's record is found by its key alone (a load knows
// no user), so it cannot share a slot with its user's index; the store keeps
// the two consistent by ordering instead of by transactions: a record is
// written before its index entry, and DeleteUser removes only the index
// entries it has read. A session bound to a user concurrently with
// DeleteUser therefore either is deleted or stays listed in the index,
// where the next DeleteUser finds it; it is never left unlisted.
//
// # While Redis is down
//
// Every call has its own deadline (RedisOptions.Timeout, 300 ms by
// default), dials and the client's retries included, so a paused, refusing
// or unreachable Redis costs a request at most that long. The Manager then
// fails closed: a request that reads its session gets Session.Err, and one
// that would write it is answered with 503 problem+json, code
// "session_store_unavailable", with Retry-After; a session that could not
// be loaded is never written back, so the outage destroys no session and
// logs nobody out. When Redis answers again the next request uses it: no
// restart is needed.
type RedisStore struct {
	c       redis.UniversalClient
	prefix  string
	timeout time.Duration
}

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	// Prefix starts every key the store writes. Empty: "covet:session:".
	Prefix string
	// Timeout bounds every call to Redis. Zero: DefaultRedisTimeout.
	Timeout time.Duration
}

// DefaultRedisPrefix is the key prefix a RedisStore uses by default.
const DefaultRedisPrefix = "covet:session:"

// DefaultRedisTimeout bounds each call of a RedisStore when
// RedisOptions.Timeout is zero.
const DefaultRedisTimeout = 300 * time.Millisecond

// NewRedisStore returns a RedisStore on client (single node, Sentinel or
// Cluster), or a configuration error without a client, with a client that
// ignores context deadlines (it must be built with ContextTimeoutEnabled:
// true, so that Timeout bounds every call), or with a negative timeout.
func NewRedisStore(client redis.UniversalClient, o RedisOptions) (*RedisStore, error) {
	if client == nil {
		return nil, errs.Configf("session: NewRedisStore needs a Redis client")
	}
	if !redisclient.HonoursDeadlines(client) {
		return nil, errs.Configf("session: the Redis client must set ContextTimeoutEnabled, or RedisOptions.Timeout cannot bound a call (go-redis otherwise waits its own ReadTimeout)")
	}
	if o.Timeout < 0 {
		return nil, errs.Configf("session: RedisOptions.Timeout must not be negative")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultRedisTimeout
	}
	if o.Prefix == "" {
		o.Prefix = DefaultRedisPrefix
	}
	return &RedisStore{c: client, prefix: o.Prefix, timeout: o.Timeout}, nil
}

// call returns ctx bounded by the store's timeout.
func (s *RedisStore) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
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
	ctx, cancel := s.call(ctx)
	defer cancel()
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

// Save implements Store: the record in one MULTI/EXEC round trip, then,
// for a session bound to a user, the index entry in another.
func (s *RedisStore) Save(ctx context.Context, key Key, rec Record, ttl time.Duration) error {
	blob, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	ttl = max(ttl, time.Millisecond)
	rk := s.recKey(key)
	_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, rk)
		fields := []any{"r", blob, "t", rec.LastSeen.UnixMilli(), "u", rec.UserID}
		if !rec.GraceUntil.IsZero() {
			fields = append(fields, "g", rec.GraceUntil.UnixMilli())
		}
		p.HSet(ctx, rk, fields...)
		p.PExpire(ctx, rk, ttl)
		return nil
	})
	if err != nil || rec.UserID == "" {
		return err
	}
	return s.index(ctx, key, &rec, ttl)
}

// index adds key to its user's index, which lives as long as the longest
// of the user's sessions; entries of expired sessions are trimmed.
func (s *RedisStore) index(ctx context.Context, key Key, rec *Record, ttl time.Duration) error {
	uk := s.userKey(rec.UserID)
	life := max(rec.Expires.Sub(rec.LastSeen), ttl)
	now := time.Now()
	_, err := s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, uk, redis.Z{Score: float64(now.Add(life).UnixMilli()), Member: key.String()})
		p.ZRemRangeByScore(ctx, uk, "-inf", strconv.FormatInt(now.UnixMilli(), 10))
		p.Do(ctx, "PEXPIRE", uk, life.Milliseconds(), "NX")
		p.Do(ctx, "PEXPIRE", uk, life.Milliseconds(), "GT")
		return nil
	})
	return err
}

// replaceScript is Save that only writes over a live record: the check and
// the write are one atomic step, so a concurrent Delete, DeleteUser or
// renewal cannot be undone by a request that loaded the session before.
// It touches only the record's key and returns the user ID the record had,
// false when there was no record, or 0 when the record is retired (it has
// the "g" field).
var replaceScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
if redis.call('HEXISTS', KEYS[1], 'g') == 1 then
  return 0
end
local old = redis.call('HGET', KEYS[1], 'u') or ''
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'r', ARGV[1], 't', ARGV[2], 'u', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'g', ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return old`)

// Replace implements Replacer in one round trip, plus one to index the
// session when its user changed.
func (s *RedisStore) Replace(ctx context.Context, key Key, rec Record, ttl time.Duration) (bool, error) {
	blob, err := rec.MarshalBinary()
	if err != nil {
		return false, err
	}
	ctx, cancel := s.call(ctx)
	defer cancel()
	ttl = max(ttl, time.Millisecond)
	grace := ""
	if !rec.GraceUntil.IsZero() {
		grace = strconv.FormatInt(rec.GraceUntil.UnixMilli(), 10)
	}
	res, err := replaceScript.Run(ctx, s.c, []string{s.recKey(key)}, blob, rec.LastSeen.UnixMilli(), ttl.Milliseconds(), rec.UserID, grace).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	old, ok := res.(string)
	if !ok {
		return false, ErrRenewedElsewhere
	}
	if rec.UserID != "" && old != rec.UserID {
		// Records written before the user ID had its own field also come
		// here (old is empty): indexing again is harmless.
		return true, s.index(ctx, key, &rec, ttl)
	}
	return true, nil
}

// endScript deletes a record unless it is retired: a retired record (one a
// renewal left behind) carries its grace deadline in the "g" field, which
// Save and Replace write only for such a record. It returns 1 when the
// record is gone, 0 when it is retired.
var endScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], 'g') == 1 then
  return 0
end
redis.call('DEL', KEYS[1])
return 1`)

// End implements Ender with one script call. The user index forgets the
// key lazily, as with Delete.
func (s *RedisStore) End(ctx context.Context, key Key) (bool, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	n, err := endScript.Run(ctx, s.c, []string{s.recKey(key)}).Int()
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
	ctx, cancel := s.call(ctx)
	defer cancel()
	ttl = max(ttl, time.Millisecond)
	return touchScript.Run(ctx, s.c, []string{s.recKey(key)}, lastSeen.UnixMilli(), ttl.Milliseconds()).Err()
}

// Delete implements Store. The user index forgets the key lazily.
func (s *RedisStore) Delete(ctx context.Context, key Key) error {
	ctx, cancel := s.call(ctx)
	defer cancel()
	return s.c.Del(ctx, s.recKey(key)).Err()
}

// UserSessions implements Store: the index, then one pipelined HMGET per
// indexed session (one round trip per node on a cluster). Index entries
// whose record is gone are removed.
func (s *RedisStore) UserSessions(ctx context.Context, userID string) ([]Entry, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
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

// DeleteUser implements Store in two round trips: it reads the user's
// index, then deletes the listed records and removes just those entries
// from the index (one pipeline; on a cluster, one round trip per node). An
// entry added meanwhile stays, with its record.
func (s *RedisStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	uk := s.userKey(userID)
	members, err := s.c.ZRange(ctx, uk, 0, -1).Result()
	if err != nil || len(members) == 0 {
		return 0, err
	}
	dels := make([]*redis.IntCmd, 0, len(members))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range members {
			if k, err := ParseKey(m); err == nil {
				dels = append(dels, p.Del(ctx, s.recKey(k)))
			}
		}
		rem := make([]any, len(members))
		for i, m := range members {
			rem[i] = m
		}
		p.ZRem(ctx, uk, rem...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}

// UserVersion implements UserVersions (for a CookieStore) with a counter
// under Prefix+"v:"+userID.
func (s *RedisStore) UserVersion(ctx context.Context, userID string) (uint64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	v, err := s.c.Get(ctx, s.prefix+"v:"+userID).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

// BumpUserVersion implements UserVersions.
func (s *RedisStore) BumpUserVersion(ctx context.Context, userID string) (uint64, error) {
	ctx, cancel := s.call(ctx)
	defer cancel()
	v, err := s.c.Incr(ctx, s.prefix+"v:"+userID).Uint64()
	return v, err
}
