package authn

import (
	"errors"
	"net/http"
	"testing"

	"github.com/covetgo/covet/errs"
)

// whoami echoes the principal's subject, or "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if p, ok := PrincipalFrom(r.Context()); ok {
		_, _ = w.Write([]byte(string(p.Method) + ":" + p.Subject))
		return
	}
	_, _ = w.Write([]byte("anonymous"))
})

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts Options
	}{
		{"no authenticators", Options{}},
		{"nil authenticator", Options{Authenticators: []Authenticator{nil}}},
		{"quote in realm", Options{Authenticators: []Authenticator{Session(nil)}, Realm: `a"b`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("err = %v, want a configuration error", err)
			}
		})
	}
}

func TestParseBearer(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		values []string
		token  string
		ok     bool
		err    bool
	}{
		{"absent", nil, "", false, false},
		{"simple", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", true, false},
		{"padding", []string{"Bearer abc=="}, "abc==", true, false},
		{"several spaces", []string{"Bearer   abc"}, "abc", true, false},
		{"other scheme", []string{"Basic abc"}, "", false, false},
		{"prefix of another scheme", []string{"Bearerx abc"}, "", false, false},
		{"short", []string{"Bear"}, "", false, false},
		{"empty", []string{""}, "", false, false},
		{"only padding", []string{"Bearer =="}, "", false, true},
		{"inner padding", []string{"Bearer a=b"}, "", false, true},
		{"tab", []string{"Bearer a\tb"}, "", false, true},
		{"comma list", []string{"Bearer a, Basic b"}, "", false, true},
		{"repeated", []string{"Bearer a", "Bearer b"}, "", false, true},
		{"unicode", []string{"Bearer ä"}, "", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.values != nil {
				h["Authorization"] = tc.values
			}
			tok, ok, err := ParseBearer(h)
			if (err != nil) != tc.err || ok != tc.ok || tok != tc.token {
				t.Fatalf("ParseBearer = %q, %v, %v", tok, ok, err)
			}
			if err != nil && !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("error %v is not ErrInvalidRequest", err)
			}
		})
	}
}

func TestBearerChallenge(t *testing.T) {
	t.Parallel()
	got := BearerChallenge("a\"b\r\n", "insufficient_scope", "need more", "notes:read", "notes:write")
	want := `Bearer realm="a\"b", error="insufficient_scope", error_description="need more", scope="notes:read notes:write"`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
