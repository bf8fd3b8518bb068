package httpx

import (
	"strings"
	"testing"
)

func TestIsTokenChar(t *testing.T) {
	t.Parallel()
	// RFC 9110 §5.6.2: tchar is VCHAR except the delimiters.
	const delimiters = "\"(),/:;<=>?@[\\]{}"
	for c := 0; c < 256; c++ {
		want := c > 0x20 && c < 0x7f && !strings.ContainsRune(delimiters, rune(c))
		if got := IsTokenChar(byte(c)); got != want {
			t.Errorf("IsTokenChar(%#x) = %v, want %v", c, got, want)
		}
	}
}

func TestIsToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"GET", true},
		{"X-Request-Id", true},
		{"!#$%&'*+-.^_`|~09azAZ", true},
		{"", false},
		{"a b", false},
		{"a,b", false},
		{"a:b", false},
		{"ä", false},
		{"a\x00", false},
		{"a\x7f", false},
	} {
		if got := IsToken(tc.s); got != tc.want {
			t.Errorf("IsToken(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
