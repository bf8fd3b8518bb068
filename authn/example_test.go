package authn_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/authn"
	authnjwt "github.com/covetgo/covet/authn/jwt"
	"github.com/golang-jwt/jwt/v5"
)

// The stage in front of a handler: a bearer JWT first, then the
// application's session, anonymous requests refused with 401.
func Example() {
	secret := []byte("an example secret of at least 32 bytes")
	keys, _ := authnjwt.NewStaticKeys(authnjwt.Key{ID: "k1", Algorithm: "HS256", Key: secret})
	verifier, err := authnjwt.NewVerifier(authnjwt.VerifierOptions{
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
