package session

import (
	"context"
	"sync"
	"time"
)

// MemoryStore keeps records in process memory: for tests, single-instance
// deployments and the embedded default. Records are shared with callers
// read-only, so a Load costs a map lookup and no decoding. Expired records
// are dropped when loaded and by a sweep every few thousand saves.
type MemoryStore struct {
	now func() time.Time

	mu     sync.RWMutex
	recs   map[Key]memEntry
	users  map[string]map[Key]struct{}
	writes uint32
}

type memEntry struct {
	rec   Record
	until time.Time
}

// MemoryOptions configures a MemoryStore.
type MemoryOptions struct {
	// Now is the store's clock for TTLs. Nil: time.Now.
	Now func() time.Time
}

// sweepEvery is how many saves pass between sweeps of expired records.
const sweepEvery = 4096

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(o MemoryOptions) *MemoryStore {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MemoryStore{now: o.Now, recs: make(map[Key]memEntry), users: make(map[string]map[Key]struct{})}
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
	s.saveLocked(now, key, rec, ttl)
	return nil
}

func (s *MemoryStore) saveLocked(now time.Time, key Key, rec Record, ttl time.Duration) {
	if old, ok := s.recs[key]; ok && old.rec.UserID != rec.UserID {
		s.unindex(old.rec.UserID, key)
	}
	s.recs[key] = memEntry{rec: rec, until: now.Add(ttl)}
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
	s.saveLocked(now, key, rec, ttl)
	return true, nil
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
	for k, e := range s.recs {
		if !now.Before(e.until) {
			s.unindex(e.rec.UserID, k)
			delete(s.recs, k)
		}
	}
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
