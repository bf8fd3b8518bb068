package redisclient

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestHonoursDeadlines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		client redis.UniversalClient
		want   bool
	}{
		{"client without", redis.NewClient(&redis.Options{}), false},
		{"client with", redis.NewClient(&redis.Options{ContextTimeoutEnabled: true}), true},
		{"cluster without", redis.NewClusterClient(&redis.ClusterOptions{}), false},
		{"cluster with", redis.NewClusterClient(&redis.ClusterOptions{ContextTimeoutEnabled: true}), true},
		{"ring without", redis.NewRing(&redis.RingOptions{}), false},
		{"ring with", redis.NewRing(&redis.RingOptions{ContextTimeoutEnabled: true}), true},
	}
	for _, c := range cases {
		if got := HonoursDeadlines(c.client); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		_ = c.client.Close()
	}
}
