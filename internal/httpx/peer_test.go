package httpx

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestPeerIn(t *testing.T) {
	t.Parallel()
	nets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		remote string
		want   bool
	}{
		{"10.1.2.3:443", true},
		{"10.1.2.3", true},
		{"[::ffff:10.1.2.3]:80", true},
		{"[fd00::1%eth0]:80", true},
		{"11.0.0.1:443", false},
		{"[fe80::1]:80", false},
		{"", false},
		{"not-an-address", false},
		{"10.1.2.3:notaport", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if got := PeerIn(r, nets); got != tt.want {
			t.Errorf("PeerIn(%q) = %v, want %v", tt.remote, got, tt.want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	if PeerIn(r, nil) {
		t.Error("no prefixes: want false")
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"api":             `"api"`,
		`a"b\c`:           `"a\"b\\c"`,
		"tab\there":       "\"tab\there\"",
		"nl\r\nx\x00\x7f": `"nlx"`,
		"é":               `""`,
	}
	for in, want := range tests {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}
