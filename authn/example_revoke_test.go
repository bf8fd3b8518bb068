package authn_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/errs"
)

// Ending logins: a logout endpoint that revokes the caller's login (its
// refresh family and its access token) from the access token alone, a
// password change that revokes every earlier login of the user, and a
// Reload hook that gives each refresh the user's current roles.
func ExampleIssuer_Logout() {
	ctx := context.Background()
	roles := map[string][]string{"alice": {"admin"}}
	now := time.Now()
	issuer, _ := authn.NewIssuer(authn.IssuerOptions{
		Issuer:      "https://notes.example.com",
		Audience:    []string{"notes-api"},
		Refresh:     authn.NewMemoryRefreshStore(),   // or authn.NewRedisRefreshStore
		Revocations: authn.NewMemoryRevocations(nil), // or authn.NewRedisRevocations
		Reload: func(_ context.Context, g authn.Grant) (authn.Grant, error) {
			r, ok := roles[g.Subject]
			if !ok {
				return authn.Grant{}, authn.ErrGrantRevoked // deleted or disabled
			}
			g.Roles = r
			return g, nil
		},
		Now: func() time.Time { return now },
	})
	verifier, _ := issuer.Verifier(authn.VerifierOptions{CacheSize: 1000})
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(verifier)}})
	mux := http.NewServeMux()
	mux.Handle("POST /logout", stage.Handler(errs.Handle(func(w http.ResponseWriter, r *http.Request) error {
		p, _ := authn.PrincipalFrom(r.Context())
		if err := issuer.Logout(r.Context(), p.Claims); err != nil {
			return err // 503 when the store is down: the client retries
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})))
	call := func(method, path, token string) int {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		return w.Code
	}

	login, _ := issuer.IssuePair(ctx, authn.Grant{Subject: "alice", Roles: []string{"admin"}})
	roles["alice"] = []string{"reader"} // demoted
	next, _ := issuer.Refresh(ctx, login.RefreshToken)
	p, _ := verifier.Verify(ctx, next.AccessToken)
	fmt.Println("roles after refresh:", p.Roles)

	fmt.Println("logout:", call("POST", "/logout", next.AccessToken))
	fmt.Println("logout again with the same token:", call("POST", "/logout", next.AccessToken))
	_, err := issuer.Refresh(ctx, next.RefreshToken)
	fmt.Println("refresh after logout:", errors.Is(err, authn.ErrInvalidGrant), authn.Reason(err))

	// A password change: every login made before now ends.
	phone, _ := issuer.IssuePair(ctx, authn.Grant{Subject: "alice"})
	now = now.Add(time.Second)
	_ = issuer.RevokeSubject(ctx, "alice", now)
	_, err = verifier.Verify(ctx, phone.AccessToken)
	fmt.Println("other device's access token:", authn.Reason(err))
	_, err = issuer.Refresh(ctx, phone.RefreshToken)
	fmt.Println("other device's refresh:", authn.Reason(err))
	// Output:
	// roles after refresh: [reader]
	// logout: 204
	// logout again with the same token: 401
	// refresh after logout: true revoked
	// other device's access token: revoked
	// other device's refresh: revoked
}
