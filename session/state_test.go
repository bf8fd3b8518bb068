package session

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStateTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		st                       state
		changed, renewed         state
		stored, retired, pending bool
	}{
		{stateUnread, stateUnread, stateUnread, false, false, false},
		{stateAbsent, stateCreated, stateCreated, false, false, false},
		{stateRejected, stateCreated, stateCreated, false, false, false},
		{stateLive, stateModified, stateRenewed, true, false, false},
		{stateRetired, stateRetiredChanged, stateRetired, true, true, false},
		{stateRetiredChanged, stateRetiredChanged, stateRetiredChanged, true, true, true},
		{stateModified, stateModified, stateRenewed, true, false, true},
		{stateRenewed, stateRenewed, stateRenewed, true, false, true},
		{stateCreated, stateCreated, stateCreated, false, false, true},
		{stateDestroyed, stateCreated, stateCreated, false, false, false},
	}
	if len(tests) != int(numStates) {
		t.Fatalf("table covers %d states, want %d", len(tests), numStates)
	}
	for i, tt := range tests {
		if tt.st != state(i) {
			t.Fatalf("row %d is %v; keep the rows in state order", i, tt.st)
		}
		t.Run(tt.st.String(), func(t *testing.T) {
			if got := tt.st.changed(); got != tt.changed {
				t.Errorf("changed() = %v, want %v", got, tt.changed)
			}
			if got := tt.st.renewed(); got != tt.renewed {
				t.Errorf("renewed() = %v, want %v", got, tt.renewed)
			}
			if got := tt.st.stored(); got != tt.stored {
				t.Errorf("stored() = %v, want %v", got, tt.stored)
			}
			if got := tt.st.retired(); got != tt.retired {
				t.Errorf("retired() = %v, want %v", got, tt.retired)
			}
			if got := tt.st.hasChanges(); got != tt.pending {
				t.Errorf("hasChanges() = %v, want %v", got, tt.pending)
			}
		})
	}
	if got := numStates.String(); got != "invalid" {
		t.Errorf("String of an out-of-range state = %q", got)
	}
}

// TestDecideEveryState pins the plan of every state, with the session kept
// in a store and in the cookie, and with a touch due or not.
func TestDecideEveryState(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tm := timing{idle: time.Hour, absolute: 10 * time.Hour, touch: time.Minute, grace: 5 * time.Second}
	recent, stale := now.Add(-time.Second), now.Add(-2*time.Minute)
	expires := now.Add(10 * time.Hour)
	retire := now.Add(5 * time.Second)

	type row struct {
		st       state
		lastSeen time.Time
		stored   plan // the session kept in the store
		cookie   plan // the session kept in the cookie
	}
	rows := []row{
		{stateUnread, stale, plan{}, plan{}},
		{stateAbsent, stale, plan{}, plan{}},
		{stateRejected, stale, plan{expireCookie: true}, plan{expireCookie: true}},
		{stateLive, recent, plan{}, plan{}},
		{stateLive, stale, plan{write: writeTouch}, plan{write: writeTouch, setCookie: true}},
		{stateRetired, stale, plan{}, plan{}},
		{stateRetiredChanged, stale, plan{dropChanges: true}, plan{dropChanges: true}},
		{stateModified, recent, plan{write: writeReplace}, plan{write: writeReplace, setCookie: true}},
		{stateRenewed, recent, plan{write: writeRotate, retireUntil: retire, setCookie: true}, plan{write: writeRotate, setCookie: true}},
		{stateCreated, time.Time{}, plan{write: writeCreate, expires: expires, setCookie: true}, plan{write: writeCreate, expires: expires, setCookie: true}},
		{stateDestroyed, time.Time{}, plan{expireCookie: true}, plan{expireCookie: true}},
	}
	seen := map[state]bool{}
	for _, r := range rows {
		seen[r.st] = true
		for _, inCookie := range []bool{false, true} {
			tc := tm
			tc.inCookie = inCookie
			want := r.stored
			if inCookie {
				want = r.cookie
			}
			got := tc.decide(commitFacts{state: r.st, lastSeen: r.lastSeen}, now)
			if got != want {
				t.Errorf("%v (last seen %v ago, in cookie %v): plan %+v, want %+v", r.st, now.Sub(r.lastSeen), inCookie, got, want)
			}
		}
	}
	if len(seen) != int(numStates) {
		t.Errorf("rows cover %d states, want %d", len(seen), numStates)
	}
}

// TestDecideRefusalsAndDeletes checks, for every combination of state and
// facts, the rules that hold across states: which commits are refused,
// when the ended record is deleted, and that a refused commit does nothing
// else.
func TestDecideRefusalsAndDeletes(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for st := range numStates {
		for mask := range 32 {
			f := commitFacts{
				state:      st,
				lastSeen:   now.Add(-time.Duration(mask&1) * time.Hour), // a touch due or not
				ended:      mask&2 != 0,
				loadFailed: mask&4 != 0,
				csrfFailed: mask&8 != 0,
			}
			tm := timing{idle: 2 * time.Hour, absolute: 10 * time.Hour, touch: time.Minute, grace: time.Second, inCookie: mask&16 != 0}
			got := tm.decide(f, now)
			base := tm.decide(commitFacts{state: st, lastSeen: f.lastSeen}, now)

			want := wantRefusal(f, base)
			if got.refuse != want {
				t.Errorf("%v %+v in cookie %v: refuse %v, want %v", st, f, tm.inCookie, got.refuse, want)
				continue
			}
			if want != refuseNone {
				if got != (plan{refuse: want}) {
					t.Errorf("%v %+v: a refused plan also acts: %+v", st, f, got)
				}
				continue
			}
			wantDelete := f.ended && !tm.inCookie && st != stateUnread
			if got.deleteEnded != wantDelete {
				t.Errorf("%v %+v in cookie %v: deleteEnded %v, want %v", st, f, tm.inCookie, got.deleteEnded, wantDelete)
			}
			got.deleteEnded = false
			if got != base {
				t.Errorf("%v %+v in cookie %v: facts changed the plan to %+v from %+v", st, f, tm.inCookie, got, base)
			}
		}
	}
}

// wantRefusal is the refusal the commit of f must make, given base, the
// plan of its state without facts.
func wantRefusal(f commitFacts, base plan) refusal {
	switch f.state {
	case stateUnread:
		return refuseNone
	case stateModified, stateRenewed, stateCreated, stateRetiredChanged:
		if f.csrfFailed {
			return refuseCSRF
		}
	}
	if f.loadFailed && base.write != writeNone {
		return refuseLoad
	}
	return refuseNone
}

func TestDecideRotateWithoutGraceDeletes(t *testing.T) {
	t.Parallel()
	now := time.Unix(1e9, 0)
	tm := timing{idle: time.Hour, absolute: 2 * time.Hour, touch: time.Minute}
	p := tm.decide(commitFacts{state: stateRenewed, lastSeen: now}, now)
	if p.write != writeRotate || !p.retireUntil.IsZero() || !p.setCookie {
		t.Errorf("renewal without a grace window: %+v, want a rotation that deletes the old record", p)
	}
}

func TestTimingExpiredAndTTL(t *testing.T) {
	t.Parallel()
	now := time.Unix(1e9, 0)
	tm := timing{idle: 10 * time.Minute, absolute: time.Hour}
	tests := []struct {
		name    string
		rec     Record
		expired bool
		ttl     time.Duration
	}{
		{"fresh", Record{LastSeen: now, Expires: now.Add(time.Hour)}, false, 10 * time.Minute},
		{"absolute first", Record{LastSeen: now, Expires: now.Add(time.Minute)}, false, time.Minute},
		{"idle over", Record{LastSeen: now.Add(-10 * time.Minute), Expires: now.Add(time.Hour)}, true, time.Millisecond},
		{"absolute over", Record{LastSeen: now, Expires: now}, true, time.Millisecond},
		{"in grace", Record{LastSeen: now, Expires: now.Add(time.Hour), GraceUntil: now.Add(time.Second)}, false, time.Second},
		{"grace over", Record{LastSeen: now, Expires: now.Add(time.Hour), GraceUntil: now}, true, time.Millisecond},
	}
	for _, tt := range tests {
		if got := tm.expired(&tt.rec, now); got != tt.expired {
			t.Errorf("%s: expired = %v, want %v", tt.name, got, tt.expired)
		}
		if got := tm.ttl(&tt.rec, now); got != tt.ttl {
			t.Errorf("%s: ttl = %v, want %v", tt.name, got, tt.ttl)
		}
	}
}

// TestDestroyThenSetStartsANewSession: a request that destroys its session
// and then sets a value deletes the old record and saves a new session
// under a new ID, in one response.
func TestDestroyThenSetStartsANewSession(t *testing.T) {
	t.Parallel()
	for _, stateless := range []bool{false, true} {
		t.Run(map[bool]string{false: "store", true: "cookie"}[stateless], func(t *testing.T) {
			t.Parallel()
			st := &countingStore{Store: NewMemoryStore(MemoryOptions{})}
			o := Options{Store: st}
			if stateless {
				cs, err := NewCookieStore(CookieStoreOptions{Keys: [][]byte{testKey}})
				if err != nil {
					t.Fatal(err)
				}
				o = Options{Stateless: cs}
			}
			m := newTestManager(t, o)
			c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
				s := From(r)
				if r.URL.Path == "/swap" {
					if err := s.Destroy(); err != nil {
						t.Error(err)
					}
					s.Set("v", "new")
				} else {
					s.Set("v", "old")
				}
				w.WriteHeader(http.StatusNoContent)
			})
			c.get("/set")
			old := c.cookie
			deletes := st.deletes.Load()
			rec := c.get("/swap")
			if c.cookie == "" || c.cookie == old {
				t.Fatalf("no new session cookie: %v", rec.Header().Values("Set-Cookie"))
			}
			if n := len(rec.Header().Values("Set-Cookie")); n != 1 {
				t.Errorf("%d Set-Cookie lines, want the new cookie only", n)
			}
			got := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
				v, _ := Get[string](From(r), "v")
				_, _ = w.Write([]byte(v))
			})
			got.cookie = c.cookie
			if v := got.get("/").Body.String(); v != "new" {
				t.Errorf("new session holds %q, want new", v)
			}
			if !stateless {
				if st.deletes.Load() != deletes+1 {
					t.Errorf("the destroyed record was not deleted")
				}
				got.cookie = old
				if v := got.get("/").Body.String(); v != "" {
					t.Errorf("the destroyed session still answers with %q", v)
				}
			}
		})
	}
}

// TestCommitByState checks, request by request, what reaches the store and
// the cookie for the states a request can end in without changes.
func TestCommitByState(t *testing.T) {
	t.Parallel()
	st := &countingStore{Store: NewMemoryStore(MemoryOptions{})}
	m := newTestManager(t, Options{Store: st})
	c := newClient(t, m, app)
	tests := []struct {
		name, cookie, path string
		writes             int64
		setCookie          string // "", "set" or "expire"
	}{
		{"absent, unread", "", "/noop", 0, ""},
		{"absent, read", "", "/get", 0, ""},
		{"absent, destroyed", "", "/logout", 0, "expire"},
		{"rejected", "bogus", "/get", 0, "expire"},
		{"created", "", "/set?v=1", 1, "set"},
	}
	for _, tt := range tests {
		before := st.writes()
		c.cookie = tt.cookie
		rec := c.get(tt.path)
		line := setCookieHeader(rec, m.CookieName())
		var got string
		switch {
		case line == "":
		case strings.Contains(line, "Max-Age=0"):
			got = "expire"
		default:
			got = "set"
		}
		if got != tt.setCookie {
			t.Errorf("%s: cookie %q, want %q", tt.name, line, tt.setCookie)
		}
		if w := st.writes() - before; w != tt.writes {
			t.Errorf("%s: %d store writes, want %d", tt.name, w, tt.writes)
		}
	}
}
