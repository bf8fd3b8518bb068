package authn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/golang-jwt/jwt/v5"
)

// The stage in front of a handler: a bearer JWT first, then the
// application's session, anonymous requests refused with 401.
func Example() {
	secret := []byte("an example secret of at least 32 bytes")
	keys, _ := authn.NewStaticKeys(authn.Key{ID: "k1", Algorithm: "HS256", Key: secret})
	verifier, err := authn.NewVerifier(authn.VerifierOptions{
		Keys:       keys,
		Algorithms: []string{"HS256"},
		Issuer:     "https://auth.example.com",
		Audience:   []string{"notes-api"},
		CacheSize:  10000,
	})
	if err != nil {
		panic(err)
	}
	sessions := authn.Session(func(r *http.Request) (*authn.Principal, error) {
		if c, err := r.Cookie("session"); err == nil && c.Value == "valid-session" {
			return &authn.Principal{Subject: "bob", Roles: []string{"reader"}}, nil
		}
		return nil, nil
	})
	stage, err := authn.New(authn.Options{
		Authenticators: []authn.Authenticator{authn.Bearer(verifier), sessions},
		Realm:          "notes",
	})
	if err != nil {
		panic(err)
	}
	handler := stage.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authn.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s (%s)", p.Subject, p.Method)
	}))

	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://auth.example.com", "aud": "notes-api", "sub": "alice",
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "k1"
	signed, _ := tok.SignedString(secret)

	show := func(req *http.Request) {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			var problem struct{ Code string }
			_ = json.Unmarshal(w.Body.Bytes(), &problem)
			fmt.Println(w.Code, problem.Code, w.Header().Get("WWW-Authenticate"))
			return
		}
		fmt.Println(w.Code, w.Body.String())
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+signed)
	show(req)

	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "session", Value: "valid-session"})
	show(req)

	show(httptest.NewRequest("GET", "/", nil))

	req = httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+signed+"x")
	show(req)
	// Output:
	// 200 hello alice (jwt)
	// 200 hello bob (session)
	// 401 unauthenticated Bearer realm="notes"
	// 401 invalid_token Bearer realm="notes", error="invalid_token", error_description="The access token is invalid or expired."
}

// An application that mints its own tokens: a login issues an access and
// a refresh token, the API verifies access tokens with the issuer's keys,
// and a reused refresh token ends the whole login.
func ExampleIssuer() {
	ctx := context.Background()
	now := time.Now()
	issuer, err := authn.NewIssuer(authn.IssuerOptions{
		Issuer:   "https://notes.example.com",
		Audience: []string{"notes-api"},
		Refresh:  authn.NewMemoryRefreshStore(), // or authn.NewRedisRefreshStore
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	verifier, _ := issuer.Verifier(authn.VerifierOptions{})
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(verifier)}})
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", issuer.JWKSHandler())
	mux.Handle("GET /me", stage.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, authn.SubjectFrom(r.Context()))
	})))

	login, _ := issuer.IssuePair(ctx, authn.Grant{Subject: "alice", Scopes: []string{"notes:read"}})
	req := httptest.NewRequest("GET", "/me", nil)
	req.Header.Set("Authorization", "Bearer "+login.AccessToken)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())

	next, err := issuer.Refresh(ctx, login.RefreshToken)
	fmt.Println("refreshed:", err == nil)
	// A client that lost the answer retries within RefreshReuseGrace.
	again, _ := issuer.Refresh(ctx, login.RefreshToken)
	fmt.Println("retry answered with the same token:", again.RefreshToken == next.RefreshToken)
	now = now.Add(time.Minute) // past the reuse interval
	_, err = issuer.Refresh(ctx, login.RefreshToken)
	fmt.Println("reuse:", authn.Reason(err))
	_, err = issuer.Refresh(ctx, next.RefreshToken)
	fmt.Println("newest after reuse:", authn.Reason(err))
	// Output:
	// 200 alice
	// refreshed: true
	// retry answered with the same token: true
	// reuse: reused
	// newest after reuse: revoked
}
