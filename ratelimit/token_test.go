package ratelimit

import (
	"strings"
	"testing"
)

func TestIsTokenChar(t *testing.T) {
	t.Parallel()
	// RFC 9110, section 5.6.2: tchar.
	const tchar = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for c := 0; c < 256; c++ {
		want := strings.IndexByte(tchar, byte(c)) >= 0
		if got := isTokenChar(byte(c)); got != want {
			t.Errorf("isTokenChar(%q) = %v, want %v", rune(c), got, want)
		}
	}
}
