package issuer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
	gjwt "github.com/golang-jwt/jwt/v5"
)

// revEntries counts what a MemoryRevocations holds.
func revEntries(m *MemoryRevocations) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := len(m.subjects)
	for _, r := range m.subjects {
		n += len(r.jtis) + len(r.sids)
	}
	return n
}

// claimsAt returns claims of subject's token jti in login sid, issued at iat.
func claimsAt(subject, jti, sid string, iat time.Time) *authn.Claims {
	c := &authn.Claims{SessionID: sid}
	c.Subject, c.ID = subject, jti
	c.IssuedAt = gjwt.NewNumericDate(iat)
	return c
}

// TestMemoryRevocationsDefaultBound: logouts of many subjects stop
// growing the list at its default bound, and every revoked token stays
// revoked.
func TestMemoryRevocationsDefaultBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	m := NewMemoryRevocations(nil)
	const n = 160_000 // two entries each: a subject and a token
	for i := range n {
		if err := m.RevokeToken(ctx, "s"+strconv.Itoa(i), "j"+strconv.Itoa(i), now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if got := revEntries(m); got > 300_000 {
		t.Fatalf("list holds %d entries after %d logouts", got, n)
	}
	for _, i := range []int{0, 1, n / 2, n - 1} {
		s := strconv.Itoa(i)
		if ok, _ := m.Revoked(ctx, claimsAt("s"+s, "j"+s, "", now.Add(-time.Second))); !ok {
			t.Fatalf("token %d is no longer revoked", i)
		}
	}
}

func TestMemoryRevocationsOptions(t *testing.T) {
	t.Parallel()
	if _, err := NewMemoryRevocationsWith(MemoryRevocationsOptions{MaxEntries: -1}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("MaxEntries -1: %v, want a configuration error", err)
	}
	if m := NewMemoryRevocations(nil); m.max != DefaultRevocationsMaxEntries {
		t.Fatalf("default bound %d", m.max)
	}
}

// TestMemoryRevocationsFull: a full list keeps every revocation, in a
// coarser form: the subject's cut-off when it knows the subject, else the
// cut-off for everyone, and stays within its bound.
func TestMemoryRevocationsFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, c, revoked := newBoundedRevocations(t, 10)
	issued := c.Now().Add(-time.Minute)
	exp := c.Now().Add(time.Hour)
	for i := range 4 {
		s := strconv.Itoa(i)
		_ = m.RevokeToken(ctx, "s"+s, "j"+s, exp)
	}
	_ = m.RevokeLogin(ctx, "s0", "login0", exp)
	_ = m.RevokeLogin(ctx, "s1", "login1", exp)
	if got := revEntries(m); got != 10 {
		t.Fatalf("%d entries, want 10", got)
	}
	// Precise so far: other tokens of the subjects are fine.
	if revoked("s0", "other", "", issued) {
		t.Fatal("an unrevoked token of s0 is revoked")
	}

	// Full, known subject: s0's cut-off moves to now.
	if err := m.RevokeToken(ctx, "s0", "j0b", exp); err != nil {
		t.Fatal(err)
	}
	if got := revEntries(m); got > 10 {
		t.Fatalf("%d entries beyond the bound", got)
	}
	for _, tok := range [][2]string{{"j0", ""}, {"j0b", ""}, {"x", "login0"}, {"other", ""}} {
		if !revoked("s0", tok[0], tok[1], issued) {
			t.Fatalf("s0 token %v is not revoked after the fold", tok)
		}
	}
	if revoked("s0", "later", "", c.Now().Add(2*time.Second)) {
		t.Fatal("a token of s0 issued after the fold is revoked")
	}
	if revoked("s1", "other", "", issued) || !revoked("s1", "j1", "", issued) || !revoked("s1", "x", "login1", issued) {
		t.Fatal("s1's revocations changed with s0's fold")
	}
	if before, _ := m.RevokedBefore(ctx, "s0"); before.Before(c.Now()) {
		t.Fatalf("s0's cut-off %v is before now", before)
	}

	// Fill again, then a subject the list does not know: the subject
	// holding the most entries (s1) gives way, and nobody else's tokens
	// change.
	for i := 4; revEntries(m) < 10; i++ {
		s := strconv.Itoa(i)
		_ = m.RevokeToken(ctx, "s"+s, "j"+s, exp)
	}
	if err := m.RevokeLogin(ctx, "newcomer", "loginN", exp); err != nil {
		t.Fatal(err)
	}
	if got := revEntries(m); got > 10 {
		t.Fatalf("%d entries beyond the bound", got)
	}
	if !revoked("s1", "other", "", issued) || !revoked("newcomer", "y", "loginN", issued) {
		t.Fatal("the largest subject did not give way, or the newcomer's login is not revoked")
	}
	if revoked("newcomer", "y", "other", issued) || revoked("s4", "other", "", issued) || !revoked("s4", "j4", "", issued) {
		t.Fatal("a revocation of a subject that did not fill the list became coarser")
	}

	// The list stays precise, and a fold ends when what it covers
	// has expired.
	_ = m.RevokeToken(ctx, "late", "jl", exp)
	later := c.Now().Add(2 * time.Second)
	if !revoked("late", "jl", "", later) || revoked("late", "other", "", later) {
		t.Fatal("the list is not precise after the fold")
	}
	c.Add(time.Hour + RevocationMargin + time.Second)
	_ = m.RevokeToken(ctx, "sweeper", "js", c.Now().Add(time.Hour))
	if revoked("bystander", "z", "", issued) || revoked("s0", "other", "", issued) {
		t.Fatal("a cut-off outlived what it covered")
	}
	if got := revEntries(m); got != 2 {
		t.Fatalf("%d entries after expiry, want 2", got)
	}
}

// TestMemoryRevocationsExpiredMakeRoom: expired revocations give their
// room to new ones, which stay precise.
func TestMemoryRevocationsExpiredMakeRoom(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	m, _ := NewMemoryRevocationsWith(MemoryRevocationsOptions{MaxEntries: 100, Now: c.Now})
	for i := range 25 { // kept until 10s from now
		_ = m.RevokeToken(ctx, "s"+strconv.Itoa(i), "j", c.Now().Add(10*time.Second-RevocationMargin))
	}
	for i := range 25 {
		_ = m.RevokeToken(ctx, "t"+strconv.Itoa(i), "j", c.Now().Add(time.Hour))
	}
	if got := revEntries(m); got != 100 {
		t.Fatalf("%d entries, want 100", got)
	}
	c.Add(20 * time.Second)
	sweeps := m.sweeps
	if err := m.RevokeToken(ctx, "t0", "j2", c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if m.sweeps != sweeps+1 || revEntries(m) != 51 {
		t.Fatalf("sweeps %d→%d, %d entries", sweeps, m.sweeps, revEntries(m))
	}
	issued := c.Now().Add(-time.Second)
	if ok, _ := m.Revoked(ctx, claimsAt("t0", "j2", "", issued)); !ok {
		t.Fatal("new revocation lost")
	}
	if ok, _ := m.Revoked(ctx, claimsAt("t0", "other", "", issued)); ok {
		t.Fatal("the list folded although the sweep made room")
	}
}

// TestMemoryRevocationsConcurrentBound: concurrent logouts never push the
// list past its bound, and every revoked token stays revoked.
func TestMemoryRevocationsConcurrentBound(t *testing.T) {
	t.Parallel()
	const bound, writers, each = 200, 8, 100
	ctx := context.Background()
	m, _ := NewMemoryRevocationsWith(MemoryRevocationsOptions{MaxEntries: bound})
	issued := time.Now().Add(-time.Second)
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				s := "s" + strconv.Itoa(w*each+i)
				_ = m.RevokeToken(ctx, s, "j", exp)
				_ = m.RevokeLogin(ctx, "w"+strconv.Itoa(w), s, exp)
				if ok, _ := m.Revoked(ctx, claimsAt(s, "j", "", issued)); !ok {
					t.Errorf("%s lost its revocation", s)
				}
				if n := revEntries(m); n > bound {
					t.Errorf("%d entries beyond the bound", n)
				}
			}
		})
	}
	wg.Wait()
	for i := range writers * each {
		s := "s" + strconv.Itoa(i)
		if ok, _ := m.Revoked(ctx, claimsAt(s, "j", "", issued)); !ok {
			t.Fatalf("%s lost its revocation", s)
		}
		if ok, _ := m.Revoked(ctx, claimsAt("w"+strconv.Itoa(i/each), "k", s, issued)); !ok {
			t.Fatalf("login %s lost its revocation", s)
		}
	}
}

// TestLogoutWithFullRevocations: logouts through the Issuer keep revoking
// once the list is full.
func TestLogoutWithFullRevocations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	list, _ := NewMemoryRevocationsWith(MemoryRevocationsOptions{MaxEntries: 4, Now: c.Now})
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: NewMemoryRefreshStore(), Revocations: list, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := iss.Verifier(jwt.VerifierOptions{})
	var toks []string
	for i := range 20 {
		c.Add(2 * time.Second) // a fold revokes what was issued up to its second
		pair, err := iss.IssuePair(ctx, Grant{Subject: "u" + strconv.Itoa(i%3)})
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := iss.Logout(ctx, p.Claims); err != nil {
			t.Fatalf("logout %d: %v", i, err)
		}
		toks = append(toks, pair.AccessToken)
		if _, err := iss.Refresh(ctx, pair.RefreshToken); authn.Reason(err) != "revoked" {
			t.Fatalf("refresh after logout %d: %v", i, err)
		}
	}
	for i, tok := range toks {
		if _, err := v.Verify(ctx, tok); authn.Reason(err) != "revoked" {
			t.Fatalf("token %d after its logout: %v", i, err)
		}
	}
	if n := revEntries(list); n > 4 {
		t.Fatalf("%d entries beyond the bound", n)
	}
}

// TestMemoryRevocationsSweptSubjectCounts: a subject whose entries the
// sweep of a full list removes needs its entry again, within the bound.
func TestMemoryRevocationsSweptSubjectCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	m, _ := NewMemoryRevocationsWith(MemoryRevocationsOptions{MaxEntries: 4, Now: c.Now})
	_ = m.RevokeSubject(ctx, "a", c.Now(), c.Now().Add(10*time.Second))
	_ = m.RevokeToken(ctx, "b", "j1", c.Now().Add(time.Hour))
	_ = m.RevokeToken(ctx, "b", "j2", c.Now().Add(time.Hour))
	c.Add(20 * time.Second)
	// Full; the sweep removes a's cut-off, and a needs its entry again.
	_ = m.RevokeToken(ctx, "a", "j", c.Now().Add(time.Hour))
	if n := revEntries(m); n > 4 || n != m.n {
		t.Fatalf("%d entries, counted %d, bound 4", n, m.n)
	}
}

// TestMemoryRevocationsFullOfSubjects: a list full of subjects holding a
// single entry each (their cut-offs) has no subject to fold; a new
// subject's revocation moves everyone's cut-off to now, and nothing
// revoked comes back.
func TestMemoryRevocationsFullOfSubjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, c, revoked := newBoundedRevocations(t, 4)
	issued := c.Now().Add(-time.Minute)
	exp := c.Now().Add(time.Hour)
	for i := range 4 {
		if err := m.RevokeSubject(ctx, "s"+strconv.Itoa(i), c.Now(), exp); err != nil {
			t.Fatal(err)
		}
	}
	if got := revEntries(m); got != 4 {
		t.Fatalf("%d entries, want 4", got)
	}
	if err := m.RevokeLogin(ctx, "newcomer", "login", exp); err != nil {
		t.Fatal(err)
	}
	if got := revEntries(m); got > 1 {
		t.Fatalf("%d entries after the fold for everyone", got)
	}
	if !revoked("s0", "x", "", issued) || !revoked("newcomer", "y", "login", issued) || !revoked("bystander", "z", "", issued) {
		t.Fatal("a token issued before the fold for everyone is not revoked")
	}
	if revoked("bystander", "z", "", c.Now().Add(2*time.Second)) {
		t.Fatal("a token issued after the fold is revoked")
	}
}

// TestMemoryRevocationsFillerGivesWay: one account that logs in and out in
// a loop fills the list; another user's logout then folds that account's
// revocations into its cut-off, and every other user's tokens are as they
// were.
func TestMemoryRevocationsFillerGivesWay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, c, revokedAt := newBoundedRevocations(t, 100)
	issued := c.Now().Add(-time.Minute)
	exp := c.Now().Add(time.Hour)
	revoked := func(subject, jti, sid string) bool { return revokedAt(subject, jti, sid, issued) }
	_ = m.RevokeToken(ctx, "carol", "c1", exp)
	for i := 0; revEntries(m) < 100; i++ {
		_ = m.RevokeLogin(ctx, "mallory", "login"+strconv.Itoa(i), exp)
	}
	if err := m.RevokeToken(ctx, "alice", "a1", exp); err != nil {
		t.Fatal(err)
	}
	if got := revEntries(m); got > 100 {
		t.Fatalf("%d entries beyond the bound", got)
	}
	switch {
	case !revoked("alice", "a1", ""):
		t.Fatal("alice's logout is lost")
	case revoked("alice", "a2", ""), revoked("bob", "b1", ""), revoked("carol", "c2", ""):
		t.Fatal("a token of a user who did not fill the list is revoked")
	case !revoked("carol", "c1", ""):
		t.Fatal("carol's revoked token came back")
	case !revoked("mallory", "any", ""):
		t.Fatal("the account that filled the list keeps its tokens")
	}
}

// newBoundedRevocations returns a list of max entries on a test clock, and
// a check of whether a token of subject (jti, login sid, issued at iat) is
// revoked.
func newBoundedRevocations(t *testing.T, max int) (*MemoryRevocations, *clock, func(subject, jti, sid string, iat time.Time) bool) {
	t.Helper()
	c := &clock{t: time.Now()}
	m, err := NewMemoryRevocationsWith(MemoryRevocationsOptions{MaxEntries: max, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	revoked := func(subject, jti, sid string, iat time.Time) bool {
		ok, err := m.Revoked(context.Background(), claimsAt(subject, jti, sid, iat))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	return m, c, revoked
}
