package session

import (
	"errors"
	"net/http"
	"testing"
)

// The ID a renewal retires stays readable for requests in flight, but it
// cannot be renewed into a new live session.
func TestRenewRefusedOnRetiredID(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{}) // default RenewGrace 5s
	var renewErr error
	h := func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		switch r.URL.Path {
		case "/login":
			_ = s.Renew()
			s.SetUserID("alice")
		case "/renew":
			renewErr = s.Renew()
		case "/whoami":
			_, _ = w.Write([]byte(s.UserID()))
		}
	}
	victim := newClient(t, m, h)
	victim.get("/login")
	stolen := victim.cookie
	victim.get("/renew")
	if renewErr != nil {
		t.Fatalf("renewing a live session: %v", renewErr)
	}
	attacker := newClient(t, m, h)
	attacker.cookie = stolen
	if got := attacker.get("/whoami").Body.String(); got != "alice" {
		t.Fatalf("within the grace window the old ID reads %q, want alice", got)
	}
	attacker.get("/renew")
	if !errors.Is(renewErr, ErrRenewedElsewhere) {
		t.Fatalf("renewing the retired ID: %v, want ErrRenewedElsewhere", renewErr)
	}
	if attacker.cookie != stolen {
		if got := attacker.get("/whoami").Body.String(); got == "alice" {
			t.Fatal("the retired ID forked into a new live session")
		}
	}
}

// Logging out with the ID a renewal left behind cannot end the session
// that renewal created: Destroy says so (409, retry with the new cookie)
// instead of reporting a logout while the session stays live.
func TestDestroyRefusedOnRetiredID(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{}) // default RenewGrace 5s
	var destroyErr error
	h := func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		switch r.URL.Path {
		case "/login":
			_ = s.Renew()
			s.SetUserID("alice")
		case "/renew":
			_ = s.Renew()
		case "/logout":
			destroyErr = s.Destroy()
		case "/whoami":
			_, _ = w.Write([]byte(s.UserID()))
		}
	}
	current := newClient(t, m, h)
	current.get("/login")
	inFlight := newClient(t, m, h)
	inFlight.cookie = current.cookie
	current.get("/renew")
	inFlight.get("/logout")
	if got := current.get("/whoami").Body.String(); got == "alice" && destroyErr == nil {
		t.Fatal("Destroy on the retired ID reported success while the renewed session stayed live")
	}
	if !errors.Is(destroyErr, ErrRenewedElsewhere) {
		t.Fatalf("Destroy on the retired ID: %v, want ErrRenewedElsewhere", destroyErr)
	}
	current.get("/logout")
	if destroyErr != nil {
		t.Fatalf("Destroy on the live ID: %v", destroyErr)
	}
	if got := current.get("/whoami").Body.String(); got != "" {
		t.Fatalf("after logout the session reads user %q", got)
	}
}
