package authz_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/covetgo/covet/authn"
	authnjwt "github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/authn/principal"
	"github.com/covetgo/covet/authz"
	"github.com/go-chi/chi/v5"
	"github.com/golang-jwt/jwt/v5"
)

// A chi route group protected by a JWT and per-route permissions.
func Example() {
	secret := []byte("an example secret of at least 32 bytes")
	keys, _ := authnjwt.NewStaticKeys(authnjwt.Key{ID: "k1", Algorithm: "HS256", Key: secret})
	verifier, err := authnjwt.NewVerifier(authnjwt.VerifierOptions{
		Keys:       keys,
		Algorithms: []string{"HS256"},
		Issuer:     "https://auth.example.com",
		Audience:   []string{"notes-api"},
	})
	if err != nil {
		panic(err)
	}
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(verifier)}})

	rbac, err := authz.NewRBAC(authz.Policy{Roles: map[string]authz.Role{
		"reader": {Permissions: []string{"notes:read"}},
		"editor": {Inherits: []string{"reader"}, Permissions: []string{"notes:write"}},
	}})
	if err != nil {
		panic(err)
	}
	az, _ := authz.New(authz.Options{Decider: rbac})

	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(stage.Handler)
		r.With(az.Require("notes:read")).Get("/notes", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "notes for", principal.SubjectFrom(r.Context()))
		})
		r.With(az.Require("notes:write")).Post("/notes", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "created")
		})
	})

	token := func(role string) string {
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": "https://auth.example.com", "aud": "notes-api", "sub": "alice",
			"exp": time.Now().Add(time.Hour).Unix(), "roles": []string{role},
		})
		t.Header["kid"] = "k1"
		s, _ := t.SignedString(secret)
		return s
	}
	for _, c := range []struct{ method, role string }{
		{"GET", ""}, {"GET", "reader"}, {"POST", "reader"}, {"POST", "editor"},
	} {
		req := httptest.NewRequest(c.method, "/notes", nil)
		if c.role != "" {
			req.Header.Set("Authorization", "Bearer "+token(c.role))
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		out := strings.TrimSpace(w.Body.String())
		if w.Code >= 400 {
			var problem struct{ Code string }
			_ = json.Unmarshal(w.Body.Bytes(), &problem)
			out = problem.Code
		}
		fmt.Printf("%s as %q: %d %s\n", c.method, c.role, w.Code, out)
	}
	// Output:
	// GET as "": 401 unauthenticated
	// GET as "reader": 200 notes for alice
	// POST as "reader": 403 forbidden
	// POST as "editor": 200 created
}

// Ownership: a note's owner may delete it, so may holders of "notes:*";
// a missing note stays 404 for everyone.
func ExampleAuthorizer_RequireOwner() {
	rbac := authz.MustRBAC(authz.Policy{Roles: map[string]authz.Role{
		"user":  {Permissions: []string{"notes:read"}},
		"admin": {Permissions: []string{"notes:*"}},
	}})
	az, _ := authz.New(authz.Options{Decider: rbac})
	owners := map[string]string{"1": "alice"}
	load := func(r *http.Request) (authz.Resource, error) {
		id := r.PathValue("id")
		owner, ok := owners[id]
		if !ok {
			return authz.Resource{}, authz.ErrNotFound
		}
		return authz.Resource{ID: "notes/" + id, Owner: owner}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("DELETE /notes/{id}", az.RequireOwner(load, "notes:*")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := authz.ResourceFrom(r.Context())
		fmt.Fprint(w, "deleted ", res.ID)
	})))

	for _, c := range []struct {
		who  principal.Principal
		note string
	}{
		{principal.Principal{Subject: "alice", Roles: []string{"user"}}, "1"},
		{principal.Principal{Subject: "bob", Roles: []string{"user"}}, "1"},
		{principal.Principal{Subject: "root", Roles: []string{"admin"}}, "1"},
		{principal.Principal{Subject: "root", Roles: []string{"admin"}}, "2"},
	} {
		req := httptest.NewRequest("DELETE", "/notes/"+c.note, nil)
		req = req.WithContext(principal.With(req.Context(), &c.who))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		fmt.Println(c.who.Subject, c.note, w.Code)
	}
	// Output:
	// alice 1 200
	// bob 1 403
	// root 1 200
	// root 2 404
}

// A policy file in YAML; LoadPolicyFile reads ".yaml" and ".yml" files
// this way and everything else as JSON.
func ExampleParsePolicyYAML() {
	policy, err := authz.ParsePolicyYAML(strings.NewReader(`
roles:
  reader: {permissions: ["notes:read"]}
  editor:
    inherits: [reader]
    permissions: ["notes:write"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	rbac, err := authz.NewRBAC(policy)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rbac.Allowed([]string{"editor"}, "notes:read"), rbac.Allowed([]string{"reader"}, "notes:write"))
	// Output: true false
}
