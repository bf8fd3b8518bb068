package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/issuer"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
)

// Ending logins: a logout endpoint that revokes the caller's login (its
// refresh family and every access token of it) from the access token alone, a
// password change that revokes every earlier login of the user, and a
// Reload hook that gives each refresh the user's current roles.
func ExampleIssuer_Logout() {
	ctx := context.Background()
	roles := map[string][]string{"alice": {"admin"}}
	now := time.Now()
	iss, _ := issuer.New(issuer.Options{
		Issuer:      "https://notes.example.com",
		Audience:    []string{"notes-api"},
		Refresh:     issuer.NewMemoryRefreshStore(),   // or issuer.NewRedisRefreshStore
		Revocations: issuer.NewMemoryRevocations(nil), // or issuer.NewRedisRevocations
		Reload: func(_ context.Context, g issuer.Grant) (issuer.Grant, error) {
			r, ok := roles[g.Subject]
			if !ok {
				return issuer.Grant{}, issuer.ErrGrantRevoked // deleted or disabled
			}
			g.Roles = r
			return g, nil
		},
		Now: func() time.Time { return now },
	})
	verifier, _ := iss.Verifier(jwt.VerifierOptions{CacheSize: 1000})
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(verifier)}})
	mux := http.NewServeMux()
	mux.Handle("POST /logout", stage.Handler(errs.Handle(func(w http.ResponseWriter, r *http.Request) error {
		p, _ := authn.PrincipalFrom(r.Context())
		if err := iss.Logout(r.Context(), p.Claims); err != nil {
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

	login, _ := iss.IssuePair(ctx, issuer.Grant{Subject: "alice", Roles: []string{"admin"}})
	roles["alice"] = []string{"reader"} // demoted
	next, _ := iss.Refresh(ctx, login.RefreshToken)
	p, _ := verifier.Verify(ctx, next.AccessToken)
	fmt.Println("roles after refresh:", p.Roles)

	fmt.Println("logout:", call("POST", "/logout", next.AccessToken))
	fmt.Println("logout again with the same token:", call("POST", "/logout", next.AccessToken))
	_, err := iss.Refresh(ctx, next.RefreshToken)
	fmt.Println("refresh after logout:", errors.Is(err, issuer.ErrInvalidGrant), authn.Reason(err))
	_, err = verifier.Verify(ctx, login.AccessToken) // the login's earlier token
	fmt.Println("the login's other access token:", authn.Reason(err))

	// A password change: every login made before now ends.
	phone, _ := iss.IssuePair(ctx, issuer.Grant{Subject: "alice"})
	now = now.Add(time.Second)
	_ = iss.RevokeSubject(ctx, "alice", now)
	_, err = verifier.Verify(ctx, phone.AccessToken)
	fmt.Println("other device's access token:", authn.Reason(err))
	_, err = iss.Refresh(ctx, phone.RefreshToken)
	fmt.Println("other device's refresh:", authn.Reason(err))
	// Output:
	// roles after refresh: [reader]
	// logout: 204
	// logout again with the same token: 401
	// refresh after logout: true revoked
	// the login's other access token: revoked
	// other device's access token: revoked
	// other device's refresh: revoked
}

// An application that mints its own tokens: a login issues an access and
// a refresh token, the API verifies access tokens with the issuer's keys,
// and a reused refresh token ends the whole login.
func ExampleIssuer() {
	ctx := context.Background()
	now := time.Now()
	iss, err := issuer.New(issuer.Options{
		Issuer:   "https://notes.example.com",
		Audience: []string{"notes-api"},
		Refresh:  issuer.NewMemoryRefreshStore(), // or issuer.NewRedisRefreshStore
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	verifier, _ := iss.Verifier(jwt.VerifierOptions{})
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(verifier)}})
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", iss.JWKSHandler())
	mux.Handle("GET /me", stage.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, authn.SubjectFrom(r.Context()))
	})))

	login, _ := iss.IssuePair(ctx, issuer.Grant{Subject: "alice", Scopes: []string{"notes:read"}})
	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	next, err := iss.Refresh(ctx, login.RefreshToken)
	fmt.Println("refreshed:", err == nil)
	// A client that lost the answer retries within RefreshReuseGrace.
	again, _ := iss.Refresh(ctx, login.RefreshToken)
	fmt.Println("retry answered with the same token:", again.RefreshToken == next.RefreshToken)
	now = now.Add(time.Minute) // past the reuse interval
	_, err = iss.Refresh(ctx, login.RefreshToken)
	fmt.Println("reuse:", authn.Reason(err))
	_, err = iss.Refresh(ctx, next.RefreshToken)
	fmt.Println("newest after reuse:", authn.Reason(err))
	// Output:
	// 200 alice
	// refreshed: true
	// retry answered with the same token: true
	// reuse: reused
	// newest after reuse: revoked
}
