package tokencache

import (
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/authn/principal"
)

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	c := New(32, time.Hour)
	p := &principal.Principal{Subject: "x"}
	exp := now.Add(time.Hour)
	for i := range 1000 {
		c.Put("token-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), p, nil, exp, now)
	}
	if n := c.Len(); n > 32+shards {
		t.Fatalf("cache holds %d entries, bound 32", n)
	}
	c.Put("short-lived", p, nil, now.Add(time.Second), now)
	if _, _, ok := c.Get("short-lived", now.Add(2*time.Second)); ok {
		t.Fatal("entry outlived exp")
	}
	if _, _, ok := c.Get("short-lived", now); !ok {
		t.Fatal("entry missing before exp")
	}
}
