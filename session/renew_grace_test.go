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
