package main

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/wstools"
	"github.com/covetgo/covet/wstools/natsbroker"
)

// newRedis returns a client for COVET_REDIS_ADDR: a cluster client when it
// lists several nodes, else a single-node one. Every store bounds its own
// calls (ContextTimeoutEnabled lets their deadlines cut dials and reads
// short); the client's timeouts are only the outer limit. It does not
// connect: the app starts without Redis and its stores use Redis as soon
// as it answers.
func newRedis(addrs []string) redis.UniversalClient {
	const dial, rw = 500 * time.Millisecond, time.Second
	if len(addrs) > 1 {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: dial,
			ReadTimeout: rw, WriteTimeout: rw, ContextTimeoutEnabled: true})
	}
	return redis.NewClient(&redis.Options{Addr: addrs[0], DialTimeout: dial,
		ReadTimeout: rw, WriteTimeout: rw, ContextTimeoutEnabled: true})
}

// pingRedis is the readiness check: every master of a cluster must answer.
func pingRedis(ctx context.Context, c redis.UniversalClient) error {
	if cc, ok := c.(*redis.ClusterClient); ok {
		if err := cc.Ping(ctx).Err(); err != nil {
			return err
		}
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() })
	}
	return c.Ping(ctx).Err()
}

// newBroker picks the WebSocket broker: NATS when COVET_NATS_URL is set,
// else Redis pub/sub when there is Redis, else none (one instance).
func (a *app) newBroker() (wstools.Broker, error) {
	if a.cfg.NATSURL != "" {
		// Retry the first connection in the background too, so the app
		// starts while NATS is down; reconnect forever afterwards.
		nc, err := nats.Connect(a.cfg.NATSURL, nats.Name("covet-fullstack"), nats.MaxReconnects(-1),
			nats.ReconnectWait(250*time.Millisecond), nats.RetryOnFailedConnect(true),
			nats.PingInterval(5*time.Second), nats.MaxPingsOutstanding(2), nats.Timeout(time.Second))
		if err != nil && !errors.Is(err, nats.ErrNoServers) {
			return nil, &configError{"COVET_NATS_URL", err.Error()}
		}
		a.nats = nc
		a.closers = append(a.closers, closerFunc(func() error { nc.Close(); return nil }))
		nb, err := natsbroker.New(natsbroker.Options{Conn: nc, Prefix: natsPrefix(a.cfg.RedisPrefix), Logger: a.log})
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, nb)
		return nb, nil
	}
	if a.rdb != nil {
		rb, err := wstools.NewRedisBroker(a.rdb, wstools.RedisOptions{Prefix: a.cfg.RedisPrefix + "ws:", Logger: a.log})
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, rb)
		return rb, nil
	}
	return nil, nil
}

// natsPrefix turns the app's key prefix ("covet:fullstack:") into a subject
// prefix ("covet.fullstack.ws.").
func natsPrefix(p string) string {
	b := make([]byte, 0, len(p)+4)
	dot := true
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b = append(b, c)
			dot = false
		case !dot:
			b = append(b, '.')
			dot = true
		}
	}
	if !dot {
		b = append(b, '.')
	}
	return string(b) + "ws."
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
