package main

import (
	"slices"
	"testing"
	"time"
)

func TestStoreConfig(t *testing.T) {
	base := map[string]string{"COVET_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789"}
	load := func(extra map[string]string) (*config, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return loadConfig(func(k string) string { return env[k] })
	}
	c, err := load(map[string]string{"COVET_REDIS_ADDR": "10.0.0.1:7001, 10.0.0.2:7002,10.0.0.3:7003"})
	if err != nil || !slices.Equal(c.RedisAddrs, []string{"10.0.0.1:7001", "10.0.0.2:7002", "10.0.0.3:7003"}) {
		t.Fatalf("cluster addresses: %v %v", c, err)
	}
	if c.DrainDelay != 0 {
		t.Fatalf("development drain delay %v, want 0", c.DrainDelay)
	}
	c, err = load(map[string]string{"COVET_ENV": "production"})
	if err != nil || c.DrainDelay != 5*time.Second {
		t.Fatalf("production drain delay: %v %v", c, err)
	}
	c, err = load(map[string]string{"COVET_DRAIN_DELAY": "750ms", "COVET_NATS_URL": "nats://127.0.0.1:4222"})
	if err != nil || c.DrainDelay != 750*time.Millisecond || c.NATSURL != "nats://127.0.0.1:4222" {
		t.Fatalf("%v %v", c, err)
	}
	for _, bad := range []map[string]string{
		{"COVET_REDIS_ADDR": "10.0.0.1:7001,"},
		{"COVET_REDIS_ADDR": "10.0.0.1"},
		{"COVET_NATS_URL": "http://127.0.0.1:4222"},
		{"COVET_NATS_URL": "nats://"},
		{"COVET_DRAIN_DELAY": "-1s"},
		{"COVET_DRAIN_DELAY": "1h"},
		{"COVET_DRAIN_DELAY": "soon"},
	} {
		if _, err := load(bad); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
	if got := natsPrefix("covet:fullstack:test:12:"); got != "covet.fullstack.test.12.ws." {
		t.Fatalf("natsPrefix = %q", got)
	}
}
