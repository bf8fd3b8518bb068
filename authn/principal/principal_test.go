package principal

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"testing"

	"github.com/covetgo/covet/errs"
)

func TestContextAccessors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if p, ok := From(ctx); ok || p != nil {
		t.Fatalf("empty context: got %v, %v", p, ok)
	}
	if s := SubjectFrom(ctx); s != "" {
		t.Fatalf("empty context: subject %q", s)
	}
	if _, ok := From(With(ctx, nil)); ok {
		t.Fatal("a nil principal must read as anonymous")
	}
	p := &Principal{Subject: "alice", Method: MethodJWT, Roles: []string{"admin"}, Scopes: []string{"notes:read"}}
	ctx = With(ctx, p)
	got, ok := From(ctx)
	if !ok || got != p {
		t.Fatalf("From = %v, %v; want the stored principal", got, ok)
	}
	if SubjectFrom(ctx) != "alice" {
		t.Fatalf("SubjectFrom = %q", SubjectFrom(ctx))
	}
	if !p.HasRole("admin") || p.HasRole("user") || !p.HasScope("notes:read") || p.HasScope("notes:write") {
		t.Fatal("HasRole/HasScope disagree with the lists")
	}
	var none *Principal
	if none.HasRole("admin") || none.HasScope("x") {
		t.Fatal("a nil principal holds nothing")
	}
}

func TestScopesUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{`"a b  c"`, []string{"a", "b", "c"}, false},
		{`"a\u0020b"`, []string{"a", "b"}, false},
		{`["a","b c"]`, []string{"a", "b c"}, false},
		{`""`, []string{}, false},
		{`3`, nil, true},
		{`["a",1]`, nil, true},
	}
	for _, tt := range tests {
		var s Scopes
		err := s.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v", tt.in, err)
			continue
		}
		if !tt.err && !slices.Equal(s, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.in, s, tt.want)
		}
	}
	c := Claims{Scope: Scopes{"a"}, Scp: Scopes{"b"}}
	if got := c.AllScopes(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("AllScopes = %q", got)
	}
}

func TestClaimsDecode(t *testing.T) {
	t.Parallel()
	payload := `{"sub":"alice","tenant":"t1"}`
	var want struct {
		Tenant string `json:"tenant"`
	}
	var c Claims
	if err := c.Decode(&want); err == nil {
		t.Fatal("Decode without a payload must fail")
	}
	c.SetPayload([]byte(payload))
	if err := c.Decode(&want); err != nil || want.Tenant != "t1" {
		t.Fatalf("SetPayload: Decode = %v, tenant %q", err, want.Tenant)
	}
	want.Tenant = ""
	token := "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	c.SetToken(token)
	if err := c.Decode(&want); err != nil || want.Tenant != "t1" {
		t.Fatalf("SetToken: Decode = %v, tenant %q", err, want.Tenant)
	}
	c.SetToken("a.!!!.b")
	if err := c.Decode(&want); err == nil {
		t.Fatal("a token whose payload is not base64url must not decode")
	}
}

func TestBearerChallenge(t *testing.T) {
	t.Parallel()
	got := BearerChallenge("a\"b\r\n", "insufficient_scope", "need more", "notes:read", "notes:write")
	want := `Bearer realm="a\"b", error="insufficient_scope", error_description="need more", scope="notes:read notes:write"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := BearerChallenge("", "", ""); got != "Bearer" {
		t.Fatalf("bare challenge = %q", got)
	}
	if !errors.Is(ErrNoCredentials, errs.KindAuthentication) || errs.From(ErrNoCredentials).Code() != "unauthenticated" {
		t.Fatal("ErrNoCredentials must be a 401 with code unauthenticated")
	}
}
