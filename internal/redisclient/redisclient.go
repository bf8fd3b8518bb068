// Package redisclient holds what every Redis-backed store checks of the
// client it is given.
package redisclient

import "github.com/redis/go-redis/v9"

// HonoursDeadlines reports whether client applies context deadlines to its
// socket reads and writes (ContextTimeoutEnabled), without which a store's
// per-call timeout cannot cut a stalled server short. Clients of other
// types are trusted to.
func HonoursDeadlines(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}
