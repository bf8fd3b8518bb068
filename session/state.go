package session

import "time"

// state is what a session is in the current request. A request starts
// unread; loading settles it on what came with the request (absent,
// rejected, live or retired); the handler's changes, Renew and Destroy move
// it on (see changed, renewed, destroyed); decide turns it into what the
// commit must do.
type state uint8

const (
	// stateUnread: the request never looked at its session. Nothing is
	// loaded, and nothing is written or sent.
	stateUnread state = iota
	// stateAbsent: no live session came with the request: no cookie, or
	// the store failed while loading it (Session.err), in which case the
	// session acts empty and refuses every write.
	stateAbsent
	// stateRejected: a cookie came that names no live session (bad
	// signature, unknown ID, expired, revoked); the cookie is expired.
	stateRejected
	// stateLive: a live session was loaded and is unchanged; its idle
	// timer is refreshed when a touch is due.
	stateLive
	// stateRetired: the request holds an ID that a renewal left behind,
	// within its grace window. It is read-only: nothing is written.
	stateRetired
	// stateRetiredChanged: a retired session the handler changed. The
	// changes are dropped, with a warning.
	stateRetiredChanged
	// stateModified: a live session the handler changed; it is saved
	// under its own ID.
	stateModified
	// stateRenewed: a live session moving to a new ID (Renew); the old ID
	// is retired.
	stateRenewed
	// stateCreated: a session that was not live gets values (or Renew):
	// it is saved under a new ID and the cookie is set.
	stateCreated
	// stateDestroyed: the session was ended in this request (Destroy) and
	// nothing was set since; the cookie is expired.
	stateDestroyed

	numStates // for exhaustive tests
)

var stateNames = [numStates]string{
	"unread", "absent", "rejected", "live", "retired", "retired-changed",
	"modified", "renewed", "created", "destroyed",
}

func (st state) String() string {
	if st < numStates {
		return stateNames[st]
	}
	return "invalid"
}

// stored reports whether a record exists under the session's key.
func (st state) stored() bool {
	switch st {
	case stateLive, stateRetired, stateRetiredChanged, stateModified, stateRenewed:
		return true
	}
	return false
}

// retired reports whether the session is an ID a renewal left behind.
func (st state) retired() bool { return st == stateRetired || st == stateRetiredChanged }

// hasChanges reports whether the handler changed the session's data (or
// asked for a new ID) and the change is still pending.
func (st state) hasChanges() bool {
	switch st {
	case stateRetiredChanged, stateModified, stateRenewed, stateCreated:
		return true
	}
	return false
}

// changed is the state after the handler changes a value or the user.
func (st state) changed() state {
	switch st {
	case stateAbsent, stateRejected, stateDestroyed:
		return stateCreated
	case stateLive:
		return stateModified
	case stateRetired:
		return stateRetiredChanged
	}
	return st
}

// renewed is the state after Renew, which callers refuse for a retired
// session.
func (st state) renewed() state {
	switch st {
	case stateLive, stateModified:
		return stateRenewed
	case stateAbsent, stateRejected, stateDestroyed:
		return stateCreated
	}
	return st
}

// write is the store (or, stateless, cookie) write a commit makes.
type write uint8

const (
	writeNone write = iota
	// writeTouch refreshes the idle timer of an unchanged session.
	writeTouch
	// writeReplace saves the changed session under its own ID, unless it
	// was destroyed meanwhile.
	writeReplace
	// writeRotate saves the session under a new ID and retires the old
	// one (see plan.retireUntil).
	writeRotate
	// writeCreate saves a new session under a new ID.
	writeCreate
)

// refusal is why a commit must fail instead of writing.
type refusal uint8

const (
	refuseNone refusal = iota
	// refuseCSRF: a request without a session cookie failed the CSRF
	// checks and tries to start or change a session.
	refuseCSRF
	// refuseLoad: the session could not be loaded, so it cannot be saved
	// without overwriting what the store holds.
	refuseLoad
)

// commitFacts is what decide needs to know about the session besides its
// state.
type commitFacts struct {
	state state
	// lastSeen is the loaded record's last activity.
	lastSeen time.Time
	// ended: Destroy ended a stored record whose key must be deleted.
	ended bool
	// loadFailed: the store failed while loading (Session.err).
	loadFailed bool
	// csrfFailed: the request came without a session cookie and failed
	// the CSRF checks (Session.csrfErr).
	csrfFailed bool
}

// plan is what a commit does, in this order: refuse, or delete the ended
// record, warn about dropped changes, write, and set or expire the cookie.
type plan struct {
	refuse      refusal
	deleteEnded bool
	dropChanges bool
	write       write
	// expires is a created session's absolute deadline.
	expires time.Time
	// retireUntil is how long, with writeRotate, the old ID keeps working
	// read-only; zero: its record is deleted at once.
	retireUntil time.Time
	// setCookie: the cookie gets a new value (the new ID, or for a
	// stateless session the sealed record).
	setCookie    bool
	expireCookie bool
}

// timing is a Manager's clock-related configuration, which decides when
// sessions end and what commits write.
type timing struct {
	idle, absolute, touch, grace time.Duration
	inCookie                     bool // sessions live in the cookie (CookieStore)
}

// decide returns what the commit of a session described by f must do at
// now. It reads nothing but its arguments.
func (t timing) decide(f commitFacts, now time.Time) plan {
	var p plan
	if f.state == stateUnread {
		return p
	}
	p.write = t.writeFor(f, now)
	switch {
	case f.csrfFailed && f.state.hasChanges():
		return plan{refuse: refuseCSRF}
	case f.loadFailed && p.write != writeNone:
		return plan{refuse: refuseLoad}
	}
	p.deleteEnded = f.ended && !t.inCookie
	p.dropChanges = f.state == stateRetiredChanged
	p.expireCookie = f.state == stateRejected || f.state == stateDestroyed
	switch p.write {
	case writeCreate:
		p.expires = now.Add(t.absolute)
		p.setCookie = true
	case writeRotate:
		if !t.inCookie && t.grace > 0 {
			p.retireUntil = now.Add(t.grace)
		}
		p.setCookie = true
	case writeTouch, writeReplace:
		// A server-side session keeps its ID; a stateless one is its
		// cookie.
		p.setCookie = t.inCookie
	}
	return p
}

func (t timing) writeFor(f commitFacts, now time.Time) write {
	switch f.state {
	case stateLive:
		if now.Sub(f.lastSeen) >= t.touch {
			return writeTouch
		}
	case stateModified:
		return writeReplace
	case stateRenewed:
		return writeRotate
	case stateCreated:
		return writeCreate
	}
	return writeNone
}

// expired reports whether rec is dead at now: past its absolute or idle
// deadline, or a retired ID past its grace window.
func (t timing) expired(rec *Record, now time.Time) bool {
	return !now.Before(rec.Expires) ||
		now.Sub(rec.LastSeen) >= t.idle ||
		(!rec.GraceUntil.IsZero() && !now.Before(rec.GraceUntil))
}

// ttl is the time left to rec as of now: until the idle or the absolute
// deadline, whichever is first.
func (t timing) ttl(rec *Record, now time.Time) time.Duration {
	d := min(rec.Expires.Sub(now), rec.LastSeen.Add(t.idle).Sub(now))
	if !rec.GraceUntil.IsZero() {
		d = min(d, rec.GraceUntil.Sub(now))
	}
	return max(d, time.Millisecond)
}
