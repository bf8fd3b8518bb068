package testsvc

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestChildRedisLifecycle(t *testing.T) {
	t.Parallel()
	c := StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: c.Addr(), MaxRetries: -1,
		DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond})
	defer rc.Close()
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		return rc.Ping(ctx).Err()
	}
	if err := ping(); err != nil {
		t.Fatalf("fresh child: %v", err)
	}
	c.Pause()
	if err := ping(); err == nil {
		t.Fatal("a paused child answered")
	}
	c.Resume()
	// The connection that timed out is discarded; a new one must work.
	deadline := time.Now().Add(3 * time.Second)
	for ping() != nil {
		if time.Now().After(deadline) {
			t.Fatal("resumed child does not answer")
		}
	}
	c.Kill()
	if err := ping(); err == nil {
		t.Fatal("a killed child answered")
	}
	c.Kill() // twice is fine
	c.Restart()
	if err := ping(); err != nil {
		t.Fatalf("restarted child: %v", err)
	}
}
