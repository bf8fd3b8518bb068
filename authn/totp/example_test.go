package totp_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/totp"
	"github.com/pquerna/otp"
	potp "github.com/pquerna/otp/totp"
)

// TOTP with RFC 6238's stronger options: SHA-256 and 8 digits. The default
// (SHA-1, 6 digits) is what every authenticator app supports; use these
// only with apps that read the algorithm and digits from the enrolment URL.
func ExampleNew() {
	now := time.Unix(1_800_000_000, 0)
	store := totp.NewMemoryStore(nil) // or totp.NewRedisStore
	t, err := totp.New(totp.Options{
		Issuer: "Notes", Store: store,
		Algorithm: "SHA256", Digits: 8,
		Now: func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	e, _ := t.Enroll("alice@example.com")
	fmt.Println(strings.Contains(e.URL, "algorithm=SHA256"), strings.Contains(e.URL, "digits=8"))

	// What the user's app shows.
	code, _ := potp.GenerateCodeCustom(e.Secret, now, potp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA256})
	_, err = t.Verify(context.Background(), "alice", e.Secret, code)
	fmt.Println("accepted:", err == nil)
	_, err = t.Verify(context.Background(), "alice", e.Secret, code)
	fmt.Println("replayed:", authn.Reason(err))
	// Output:
	// true true
	// accepted: true
	// replayed: replayed
}
