package session

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
)

// memKey returns a distinct key for i.
func memKey(i int) Key {
	var k Key
	binary.BigEndian.PutUint64(k[:8], uint64(i))
	k[31] = 1
	return k
}

// TestMemoryStoreDefaultBound: with the zero options the store refuses a
// new session beyond DefaultMemoryMaxEntries instead of growing.
func TestMemoryStoreDefaultBound(t *testing.T) {
	t.Parallel()
	st := NewMemoryStore(MemoryOptions{})
	ctx := context.Background()
	refused := 0
	for i := range 100_000 + 100 {
		if err := st.Save(ctx, memKey(i), Record{}, time.Hour); err != nil {
			refused++
		}
	}
	if n := st.Len(); n > 100_000 {
		t.Fatalf("store holds %d records, want at most 100000", n)
	}
	if refused != 100 {
		t.Fatalf("%d saves refused, want 100", refused)
	}
}

func TestMemoryStoreOptions(t *testing.T) {
	t.Parallel()
	if _, err := NewMemoryStoreChecked(MemoryOptions{MaxEntries: -1}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("MaxEntries -1: %v, want a configuration error", err)
	}
	func() {
		defer func() {
			if err, _ := recover().(error); !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("NewMemoryStore with MaxEntries -1 panicked with %v", err)
			}
		}()
		NewMemoryStore(MemoryOptions{MaxEntries: -1})
	}()
	st, err := NewMemoryStoreChecked(MemoryOptions{})
	if err != nil || st.max != DefaultMemoryMaxEntries {
		t.Fatalf("zero options: %v, bound %d", err, st.max)
	}
}

// TestMemoryStoreFull: a full store refuses a new session and keeps
// serving the sessions it holds.
func TestMemoryStoreFull(t *testing.T) {
	t.Parallel()
	clk := newClock()
	st := NewMemoryStore(MemoryOptions{Now: clk.Now, MaxEntries: 10})
	ctx := context.Background()
	for i := range 10 {
		if err := st.Save(ctx, memKey(i), Record{UserID: "u"}, time.Hour); err != nil {
			t.Fatalf("save %d: %v", i, err)
		}
	}
	if err := st.Save(ctx, memKey(10), Record{}, time.Hour); !errors.Is(err, ErrMemoryStoreFull) {
		t.Fatalf("save into a full store: %v, want ErrMemoryStoreFull", err)
	}
	if _, err := st.Load(ctx, memKey(10)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused record loads: %v", err)
	}
	// The sessions it holds are saved, touched, replaced and ended as usual.
	if err := st.Save(ctx, memKey(0), Record{UserID: "v"}, time.Hour); err != nil {
		t.Fatalf("save of a held session: %v", err)
	}
	if err := st.Touch(ctx, memKey(1), clk.Now(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Replace(ctx, memKey(2), Record{}, time.Hour); !ok || err != nil {
		t.Fatalf("replace of a held session: %v %v", ok, err)
	}
	if n := st.Len(); n != 10 {
		t.Fatalf("Len %d, want 10", n)
	}
	// Ending one makes room for one.
	if err := st.Delete(ctx, memKey(3)); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, memKey(10), Record{}, time.Hour); err != nil {
		t.Fatalf("save after a delete: %v", err)
	}
	if err := st.Save(ctx, memKey(11), Record{}, time.Hour); !errors.Is(err, ErrMemoryStoreFull) {
		t.Fatalf("save into the full store again: %v", err)
	}
	if n, _ := st.DeleteUser(ctx, "u"); n != 7 {
		t.Fatalf("DeleteUser ended %d sessions, want 7", n)
	}
	if err := st.Save(ctx, memKey(11), Record{}, time.Hour); err != nil {
		t.Fatalf("save after DeleteUser: %v", err)
	}
}

// TestMemoryStoreExpiredMakeRoom: expired records give their room to new
// ones, and a full store of live records does not scan itself per save.
func TestMemoryStoreExpiredMakeRoom(t *testing.T) {
	t.Parallel()
	clk := newClock()
	st := NewMemoryStore(MemoryOptions{Now: clk.Now, MaxEntries: 100})
	ctx := context.Background()
	for i := range 50 {
		_ = st.Save(ctx, memKey(i), Record{}, time.Minute)
	}
	for i := 50; i < 100; i++ {
		_ = st.Save(ctx, memKey(i), Record{}, time.Hour)
	}
	sweeps := st.sweeps
	for i := range 1000 {
		if err := st.Save(ctx, memKey(1000+i), Record{}, time.Hour); !errors.Is(err, ErrMemoryStoreFull) {
			t.Fatalf("save %d into a full store: %v", i, err)
		}
	}
	if st.sweeps != sweeps {
		t.Fatalf("a full store of live records swept %d times before any could expire", st.sweeps-sweeps)
	}
	clk.Advance(2 * time.Minute)
	for i := range 50 {
		if err := st.Save(ctx, memKey(2000+i), Record{}, time.Hour); err != nil {
			t.Fatalf("save %d after half the records expired: %v", i, err)
		}
	}
	if err := st.Save(ctx, memKey(3000), Record{}, time.Hour); !errors.Is(err, ErrMemoryStoreFull) {
		t.Fatalf("save beyond the bound: %v", err)
	}
	sweeps = st.sweeps
	for i := range 1000 {
		_ = st.Save(ctx, memKey(4000+i), Record{}, time.Hour)
		clk.Advance(time.Millisecond)
	}
	if st.sweeps-sweeps > 1 {
		t.Fatalf("1000 refused saves swept %d times", st.sweeps-sweeps)
	}
	if n := st.Len(); n != 100 {
		t.Fatalf("Len %d, want 100", n)
	}
	// A touch that shortens a record's life is seen by the next sweep.
	_ = st.Touch(ctx, memKey(50), clk.Now(), time.Second)
	clk.Advance(2 * time.Second)
	if err := st.Save(ctx, memKey(5000), Record{}, time.Hour); err != nil {
		t.Fatalf("save after a touched record expired: %v", err)
	}
}

// TestMemoryStoreConcurrentBound: concurrent writers never push the store
// past its bound, and every save it accepted is there.
func TestMemoryStoreConcurrentBound(t *testing.T) {
	t.Parallel()
	const bound, writers, each = 500, 8, 400
	st := NewMemoryStore(MemoryOptions{MaxEntries: bound})
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for w := range writers {
		wg.Go(func() {
			n := 0
			for i := range each {
				k := memKey(w*each + i)
				if err := st.Save(ctx, k, Record{UserID: "u"}, time.Hour); err == nil {
					n++
				} else if !errors.Is(err, ErrMemoryStoreFull) {
					t.Error(err)
				}
				if i%7 == 0 {
					_, _ = st.Load(ctx, k)
				}
				if l := st.Len(); l > bound {
					t.Errorf("Len %d beyond the bound", l)
				}
			}
			mu.Lock()
			accepted += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if accepted != bound || st.Len() != bound {
		t.Fatalf("accepted %d saves, holds %d records, want %d", accepted, st.Len(), bound)
	}
	if got, _ := st.UserSessions(ctx, "u"); len(got) != bound {
		t.Fatalf("user index holds %d sessions", len(got))
	}
}

// TestMemoryStoreFullIs503: a request that would create a session in a
// full store gets the store-unavailable problem; one with a session works.
func TestMemoryStoreFullIs503(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{Store: NewMemoryStore(MemoryOptions{MaxEntries: 1})})
	first := newClient(t, m, app)
	if rec := first.get("/set?v=a"); rec.Code != http.StatusNoContent || first.cookie == "" {
		t.Fatalf("first session: %d", rec.Code)
	}
	second := newClient(t, m, app)
	rec := second.get("/set?v=b")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "session_store_unavailable") || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("new session in a full store: %d %q", rec.Code, rec.Body)
	}
	if rec := first.get("/get"); rec.Body.String() != "a" {
		t.Fatalf("held session after the refusal: %d %q", rec.Code, rec.Body)
	}
	if rec := first.get("/set?v=c"); rec.Code != http.StatusNoContent {
		t.Fatalf("held session write: %d", rec.Code)
	}
}

// BenchmarkMemoryStoreSaveNew is the path of a new session: a save of a
// key the store does not hold, on a store whose old records keep expiring.
func BenchmarkMemoryStoreSaveNew(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	st := NewMemoryStore(MemoryOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	rec := Record{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := st.Save(ctx, memKey(i), rec, time.Minute); err != nil && !errors.Is(err, ErrMemoryStoreFull) {
			b.Fatal(err)
		}
		i++
		now = now.Add(time.Millisecond)
	}
}

// BenchmarkMemoryStoreLoad is the path of every request with a session.
func BenchmarkMemoryStoreLoad(b *testing.B) {
	st := NewMemoryStore(MemoryOptions{})
	ctx := context.Background()
	for i := range 1000 {
		_ = st.Save(ctx, memKey(i), Record{}, time.Hour)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := st.Load(ctx, memKey(i%1000)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
