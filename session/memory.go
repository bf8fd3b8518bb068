package session

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/covetgo/covet/errs"
)

// MemoryStore keeps records in process memory: for tests, single-instance
// deployments and the embedded default. Records are shared with callers
// read-only, so a Load costs a map lookup and no decoding. Expired records
// are dropped by a sweep every few thousand saves, and when the store is
// full.
//
// The store holds at most MemoryOptions.MaxEntries records. A save of a
// new session into a full store first drops the expired records; when
// every record is still live it is refused with ErrMemoryStoreFull, which
// the Manager answers with ErrStoreUnavailable (503, Retry-After), and the
// store takes new sessions again as soon as old ones expire. Sessions it
// already holds keep working: they are saved, touched, renewed and ended
// as usual. The store never evicts a live session to make room: whoever
// can create sessions (any anonymous visitor who gets a CSRF token or a
// flash) would then decide which signed-in users are logged out, and lose
// their carts and tokens. Refusing new sessions is what a Store backed by
// Redis does at its memory limit under the default noeviction policy, and
// what a gorilla/sessions user expects from a store that cannot save: an
// error from Save, never a session silently dropped. Limit how fast one
// client can create sessions with the ratelimit stage, and use the Redis
// or SQL store when one process cannot hold every live session.
type MemoryStore struct {
	now func() time.Time
	max int

	mu     sync.RWMutex
	recs   map[Key]memEntry
	users  map[string]map[Key]struct{}
	writes uint32
	// earliest is at or before the expiry of every record: until then a
	// sweep would free nothing. lastFull is when a full store last swept.
	earliest, lastFull time.Time
	sweeps             int // sweeps done, for tests
}

type memEntry struct {
	rec   Record
	until time.Time
}

// MemoryOptions configures a MemoryStore.
type MemoryOptions struct {
	// Now is the store's clock for TTLs. Nil: time.Now.
	Now func() time.Time
	// MaxEntries is how many records the store holds at most, live and
	// expired. Zero means DefaultMemoryMaxEntries; a negative value is a
	// configuration error.
	MaxEntries int
}

// DefaultMemoryMaxEntries is the default MemoryOptions.MaxEntries. It is
// sized for one process: 100,000 sessions of a few hundred bytes to a few
// kilobytes each are tens to a few hundred megabytes, more signed-in users
// than one instance serves within an idle timeout, while a script that
// creates sessions as fast as it can fills it in seconds and then only
// gets 503s.
const DefaultMemoryMaxEntries = 100_000

// ErrMemoryStoreFull is the error a MemoryStore returns when it holds
// MaxEntries live records and is asked to save a new one.
var ErrMemoryStoreFull = errors.New("session: memory store is full")

// sweepEvery is how many saves pass between sweeps of expired records.
const sweepEvery = 4096

// fullSweepGap is the least time between two sweeps of a full store: a
// store full of live records refuses a new session at the cost of a map
// lookup, not a scan of every record.
const fullSweepGap = time.Second

// NewMemoryStoreChecked returns an empty MemoryStore, or a configuration
// error for invalid options (a negative MaxEntries).
func NewMemoryStoreChecked(o MemoryOptions) (*MemoryStore, error) {
	if o.MaxEntries < 0 {
		return nil, errs.Configf("session: MemoryOptions.MaxEntries must not be negative")
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultMemoryMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MemoryStore{now: o.Now, max: o.MaxEntries, recs: make(map[Key]memEntry), users: make(map[string]map[Key]struct{})}, nil
}

// NewMemoryStore returns an empty MemoryStore. It panics with the
// configuration error of NewMemoryStoreChecked when the options are
// invalid (a negative MaxEntries), as regexp.MustCompile does; options
// that come from configuration belong in NewMemoryStoreChecked.
func NewMemoryStore(o MemoryOptions) *MemoryStore {
	s, err := NewMemoryStoreChecked(o)
	if err != nil {
		panic(err)
	}
	return s
}

// Load implements Store.
func (s *MemoryStore) Load(_ context.Context, key Key) (Record, error) {
	s.mu.RLock()
	e, ok := s.recs[key]
	s.mu.RUnlock()
	if !ok || !s.now().Before(e.until) {
		return Record{}, ErrNotFound
	}
	return e.rec, nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, key Key, rec Record, ttl time.Duration) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked(now, key, rec, ttl)
}

func (s *MemoryStore) saveLocked(now time.Time, key Key, rec Record, ttl time.Duration) error {
	old, ok := s.recs[key]
	if !ok && len(s.recs) >= s.max && !s.makeRoomLocked(now) {
		return ErrMemoryStoreFull
	}
	if ok && old.rec.UserID != rec.UserID {
		s.unindex(old.rec.UserID, key)
	}
	until := now.Add(ttl)
	s.recs[key] = memEntry{rec: rec, until: until}
	if until.Before(s.earliest) || len(s.recs) == 1 {
		s.earliest = until
	}
	if rec.UserID != "" {
		set := s.users[rec.UserID]
		if set == nil {
			set = make(map[Key]struct{}, 1)
			s.users[rec.UserID] = set
		}
		set[key] = struct{}{}
	}
	s.writes++
	if s.writes%sweepEvery == 0 {
		s.sweepLocked(now)
	}
	return nil
}

// makeRoomLocked sweeps a full store when a record may have expired, at
// most once per fullSweepGap, and reports whether it has room now.
func (s *MemoryStore) makeRoomLocked(now time.Time) bool {
	if now.Before(s.earliest) || (!s.lastFull.IsZero() && now.Sub(s.lastFull) < fullSweepGap) {
		return false
	}
	s.lastFull = now
	s.sweepLocked(now)
	return len(s.recs) < s.max
}

// Replace implements Replacer: the check and the save happen under one
// lock, so a Delete, DeleteUser or renewal cannot slip in between.
func (s *MemoryStore) Replace(_ context.Context, key Key, rec Record, ttl time.Duration) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.recs[key]
	if !ok || !now.Before(e.until) {
		return false, nil
	}
	if !e.rec.GraceUntil.IsZero() {
		return false, ErrRenewedElsewhere
	}
	return true, s.saveLocked(now, key, rec, ttl)
}

// Touch implements Store.
func (s *MemoryStore) Touch(_ context.Context, key Key, lastSeen time.Time, ttl time.Duration) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.recs[key]
	if !ok {
		return nil
	}
	e.rec.LastSeen = lastSeen
	e.until = now.Add(ttl)
	s.recs[key] = e
	if e.until.Before(s.earliest) {
		s.earliest = e.until
	}
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, key Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.recs[key]; ok {
		s.unindex(e.rec.UserID, key)
		delete(s.recs, key)
	}
	return nil
}

// End implements Ender.
func (s *MemoryStore) End(_ context.Context, key Key) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.recs[key]
	if !ok {
		return true, nil
	}
	if now.Before(e.until) && !e.rec.GraceUntil.IsZero() {
		return false, nil
	}
	s.unindex(e.rec.UserID, key)
	delete(s.recs, key)
	return true, nil
}

// UserSessions implements Store.
func (s *MemoryStore) UserSessions(_ context.Context, userID string) ([]Entry, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Entry, 0, len(s.users[userID]))
	for k := range s.users[userID] {
		if e, ok := s.recs[k]; ok && now.Before(e.until) {
			out = append(out, Entry{Key: k, Record: e.rec})
		}
	}
	return out, nil
}

// DeleteUser implements Store.
func (s *MemoryStore) DeleteUser(_ context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.users[userID] {
		if _, ok := s.recs[k]; ok {
			delete(s.recs, k)
			n++
		}
	}
	delete(s.users, userID)
	return n, nil
}

// Len reports how many records the store holds, expired ones included.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.recs)
}

// Cleanup drops expired records now.
func (s *MemoryStore) Cleanup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(s.now())
}

func (s *MemoryStore) sweepLocked(now time.Time) {
	s.sweeps++
	var earliest time.Time
	for k, e := range s.recs {
		if !now.Before(e.until) {
			s.unindex(e.rec.UserID, k)
			delete(s.recs, k)
		} else if earliest.IsZero() || e.until.Before(earliest) {
			earliest = e.until
		}
	}
	s.earliest = earliest
}

func (s *MemoryStore) unindex(userID string, key Key) {
	if userID == "" {
		return
	}
	if set := s.users[userID]; set != nil {
		delete(set, key)
		if len(set) == 0 {
			delete(s.users, userID)
		}
	}
}
