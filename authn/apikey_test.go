package authn

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	store := NewMemoryAPIKeys()
	now := time.Unix(1_800_000_000, 0)
	mint := func(sub string, exp time.Time) string {
		key, rec, err := NewAPIKey("cvt")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(key, string(rec.Hash[:])) {
			t.Fatal("record holds the secret")
		}
		rec.Subject, rec.Name, rec.Scopes, rec.ExpiresAt = sub, "test key", []string{"notes:read"}, exp
		store.Add(rec)
		return key
	}
	good := mint("svc-1", time.Time{})
	expired := mint("svc-2", now.Add(-time.Second))
	revoked := mint("svc-3", time.Time{})
	store.Revoke(strings.Split(revoked, "_")[1])
	keys, err := NewAPIKeys(APIKeysOptions{Store: store, Prefix: "cvt", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	stage, _ := New(Options{Authenticators: []Authenticator{keys}})
	wrongSecret := good[:len(good)-4] + "AAAA"
	if wrongSecret == good {
		wrongSecret = good[:len(good)-4] + "BBBB"
	}
	cases := []struct {
		name   string
		values []string
		status int
		body   string
	}{
		{"valid", []string{good}, 200, "api_key:svc-1"},
		{"no key", nil, 401, ""},
		{"wrong secret", []string{wrongSecret}, 401, ""},
		{"expired", []string{expired}, 401, ""},
		{"revoked", []string{revoked}, 401, ""},
		{"other prefix", []string{strings.Replace(good, "cvt_", "abc_", 1)}, 401, ""},
		{"no secret", []string{good[:strings.LastIndex(good, "_")+1]}, 401, ""},
		{"short id", []string{"cvt_abc_secret"}, 401, ""},
		{"huge", []string{"cvt_" + strings.Repeat("a", 10000)}, 401, ""},
		{"repeated header", []string{good, good}, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, v := range tc.values {
				r.Header.Add("X-API-Key", v)
			}
			w := httptest.NewRecorder()
			stage.Handler(whoami).ServeHTTP(w, r)
			if w.Code != tc.status || (tc.body != "" && w.Body.String() != tc.body) {
				t.Fatalf("got %d %s", w.Code, w.Body)
			}
		})
	}
	w := httptest.NewRecorder()
	stage.Handler(whoami).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if got := w.Header().Get("WWW-Authenticate"); got != `APIKey header="X-Api-Key"` {
		t.Fatalf("challenge without a key: %q", got)
	}
	p, err := keys.Check(t.Context(), good)
	if err != nil || !p.HasScope("notes:read") || p.Attributes["api_key_name"] != "test key" {
		t.Fatalf("Check = %+v, %v", p, err)
	}
	for name, o := range map[string]APIKeysOptions{
		"no store":      {Prefix: "cvt"},
		"bad prefix":    {Store: store, Prefix: "CVT!"},
		"Authorization": {Store: store, Prefix: "cvt", Header: "authorization"},
	} {
		if _, err := NewAPIKeys(o); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
	_ = http.StatusOK
}
