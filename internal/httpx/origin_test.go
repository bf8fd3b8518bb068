package httpx

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Origin
		err  error
	}{
		{"https://app.example.com", Origin{"https", "app.example.com", ""}, nil},
		{"http://localhost:3000", Origin{"http", "localhost", "3000"}, nil},
		{"https://[::1]:8443", Origin{"https", "[::1]", "8443"}, nil},
		{"http://127.0.0.1", Origin{"http", "127.0.0.1", ""}, nil},
		{"chrome-extension://abcdef", Origin{"chrome-extension", "abcdef", ""}, nil},
		{"https://a_b.example.com:65535", Origin{"https", "a_b.example.com", "65535"}, nil},
		{"", Origin{}, ErrOriginEmpty},
		{"https://" + strings.Repeat("a", MaxOriginLen), Origin{}, ErrOriginTooLong},
		{"null", Origin{}, ErrOriginNull},
		{"https://app.example.com\n", Origin{}, ErrOriginBytes},
		{"https://bücher.example", Origin{}, ErrOriginBytes},
		{"app.example.com", Origin{}, ErrOriginForm},
		{"HTTPS://app.example.com", Origin{}, ErrOriginScheme},
		{"1http://a.com", Origin{}, ErrOriginScheme},
		{"://a.com", Origin{}, ErrOriginScheme},
		{"file://a.com", Origin{}, ErrOriginOpaque},
		{"https://app.example.com/", Origin{}, ErrOriginPath},
		{"https://app.example.com/x", Origin{}, ErrOriginPath},
		{"https://app.example.com?x", Origin{}, ErrOriginPath},
		{"https://app.example.com#x", Origin{}, ErrOriginPath},
		{"https://u@app.example.com", Origin{}, ErrOriginUserinfo},
		{"https://[::1", Origin{}, ErrOriginIPv6},
		{"https://[::1]x", Origin{}, ErrOriginIPv6},
		{"https://[1]", Origin{}, ErrOriginIPv6},
		{"https://[::G]", Origin{}, ErrOriginIPv6},
		{"https://App.example.com", Origin{}, ErrOriginHost},
		{"https://a..example.com", Origin{}, ErrOriginHost},
		{"https://.example.com", Origin{}, ErrOriginHost},
		{"https://example.com.", Origin{}, ErrOriginHost},
		{"https://" + strings.Repeat("a", 64) + ".com", Origin{}, ErrOriginHost},
		{"https://*.example.com", Origin{}, ErrOriginHost},
		{"https://", Origin{}, ErrOriginHost},
		{"https://a.com:", Origin{}, ErrOriginPort},
		{"https://a.com:0", Origin{}, ErrOriginPort},
		{"https://a.com:08080", Origin{}, ErrOriginPort},
		{"https://a.com:65536", Origin{}, ErrOriginPort},
		{"https://a.com:123456", Origin{}, ErrOriginPort},
		{"https://a.com:*", Origin{}, ErrOriginPort},
		{"https://a.com:443", Origin{}, ErrOriginDefaultPt},
		{"http://a.com:80", Origin{}, ErrOriginDefaultPt},
		{"https://[::1]:443", Origin{}, ErrOriginDefaultPt},
	} {
		got, err := ParseOrigin(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseOrigin(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestEffectivePort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"https://a.com", "443"}, {"http://a.com", "80"}, {"wss://a.com", "443"}, {"ws://a.com", "80"},
		{"http://a.com:8080", "8080"}, {"foo://a.com", ""},
	} {
		o, err := ParseOrigin(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.EffectivePort(); got != tc.want {
			t.Errorf("%s: EffectivePort = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseOriginDoesNotAllocate(t *testing.T) {
	for _, s := range []string{"https://app.example.com:8443", "https://app.example.com/"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseOrigin(s) }); n != 0 {
			t.Errorf("ParseOrigin(%q) allocates %v times", s, n)
		}
	}
}

// FuzzParseOrigin checks that whatever ParseOrigin accepts is a bare,
// lowercase origin that net/url reads the same way, and that it is
// rebuilt exactly from its parts.
func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com", "http://localhost:3000", "https://[::1]:8443", "null", "https://a.com:443",
		"https://a.com/", "https://u:p@a.com", "https://[::1", "HTTPS://A.COM", "https://a..b", "x://y:1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOrigin(s)
		if err != nil {
			if o != (Origin{}) {
				t.Fatalf("ParseOrigin(%q) failed with parts %+v", s, o)
			}
			return
		}
		rebuilt := o.Scheme + "://" + o.Host
		if o.Port != "" {
			rebuilt += ":" + o.Port
		}
		if rebuilt != s {
			t.Fatalf("ParseOrigin(%q) = %+v, which rebuilds as %q", s, o, rebuilt)
		}
		if s != strings.ToLower(s) {
			t.Fatalf("accepted %q, which is not lowercase", s)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q, which net/url refuses: %v", s, err)
		}
		if u.Scheme != o.Scheme || u.Host != strings.TrimPrefix(rebuilt, o.Scheme+"://") || u.Port() != o.Port ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("accepted %q, which net/url reads as %#v", s, u)
		}
		if o.Port != "" && o.Port == defaultPort(o.Scheme) {
			t.Fatalf("accepted %q with its scheme's default port", s)
		}
	})
}
