package password_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/password"
	"github.com/covetgo/covet/errs"
)

// A login handler with Hasher: every kind of account (Argon2id, legacy
// bcrypt, unknown) gets the same answer to a wrong password, and a burst
// of logins past MaxQueue gets 503 with Retry-After instead of queuing.
func ExampleHasher_Verify() {
	pw, err := password.New(password.Options{MaxConcurrent: 2, MaxQueue: 16})
	if err != nil {
		panic(err)
	}
	stored, _ := pw.Hash(context.Background(), "correct horse battery staple")
	accounts := map[string]string{"alice": stored}

	login := errs.Handle(func(w http.ResponseWriter, r *http.Request) error {
		// An unknown user is checked against "" so it costs the same.
		ok, err := pw.Verify(r.Context(), accounts[r.PostFormValue("user")], r.PostFormValue("password"))
		if errors.Is(err, password.ErrBusy) {
			return err // 503 with Retry-After
		}
		if err != nil {
			return err
		}
		if !ok {
			return authn.ErrInvalidCredentials
		}
		_, _ = w.Write([]byte("welcome"))
		return nil
	})

	for _, form := range []url.Values{
		{"user": {"alice"}, "password": {"correct horse battery staple"}},
		{"user": {"alice"}, "password": {"wrong"}},
		{"user": {"bob"}, "password": {"wrong"}},
	} {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		login.ServeHTTP(w, r)
		fmt.Println(form.Get("user"), w.Code)
	}
	// Output:
	// alice 200
	// alice 401
	// bob 401
}
