package wstools

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/redisclient"
)

// DefaultRedisPrefix is the channel prefix RedisBroker uses by default: room
// "lobby" is published on channel "covet:ws:lobby".
const DefaultRedisPrefix = "covet:ws:"

// RedisOptions configures a RedisBroker.
type RedisOptions struct {
	// Prefix is prepended to room names to form channel names, so several
	// applications can share a server. Empty: DefaultRedisPrefix.
	Prefix string
	// Logger receives connection errors. Nil: slog.Default().
	Logger *slog.Logger
	// Timeout bounds every Publish (dials and the client's retries
	// included). Zero: DefaultBrokerTimeout.
	Timeout time.Duration
}

// DefaultBrokerTimeout bounds a broker's Publish when its options leave
// the timeout zero.
const DefaultBrokerTimeout = 500 * time.Millisecond

// RedisBroker is a Broker on Redis pub/sub, one channel per room. It holds
// one subscriber connection, subscribed only to the rooms that have local
// subscribers; subscription changes are applied in the background, so
// Subscribe never waits for Redis. When the connection drops, it reconnects
// with backoff and subscribes again to every room; messages published in
// the meantime are lost for this instance (pub/sub keeps no history).
type RedisBroker struct {
	client  redis.UniversalClient
	timeout time.Duration
	prefix  string
	logger  *slog.Logger
	ps      *redis.PubSub

	mu   sync.Mutex
	subs map[string]map[*redisSub]struct{}
	ops  []redisOp
	wake chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type redisSub struct{ deliver func([]byte) }

type redisOp struct {
	subscribe bool
	channel   string
}

// NewRedisBroker validates opts and starts the subscriber goroutines. Call
// Close when done.
//
// client is the Redis client to publish and subscribe with (single node,
// Sentinel or Cluster). It is required, and it must be built with
// ContextTimeoutEnabled: true, so that opts.Timeout bounds every publish.
// The broker never closes it.
func NewRedisBroker(client redis.UniversalClient, opts RedisOptions) (*RedisBroker, error) {
	if client == nil {
		return nil, errs.Configf("wstools: NewRedisBroker needs a Redis client")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	if strings.ContainsAny(prefix, "*?[]") {
		return nil, errs.Configf("wstools: RedisOptions.Prefix %q must not contain glob characters", prefix)
	}
	if !redisclient.HonoursDeadlines(client) {
		return nil, errs.Configf("wstools: the Redis client must set ContextTimeoutEnabled, or RedisOptions.Timeout cannot bound a publish (go-redis otherwise waits its own ReadTimeout)")
	}
	if opts.Timeout < 0 {
		return nil, errs.Configf("wstools: RedisOptions.Timeout must not be negative")
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = DefaultBrokerTimeout
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &RedisBroker{
		client:  client,
		timeout: timeout,
		prefix:  prefix,
		logger:  logger,
		ps:      client.Subscribe(ctx),
		subs:    make(map[string]map[*redisSub]struct{}),
		wake:    make(chan struct{}, 1),
		ctx:     ctx,
		cancel:  cancel,
	}
	b.wg.Add(2)
	go b.receive()
	go b.sync()
	return b, nil
}

// Publish publishes msg on room's channel, within the broker's timeout.
func (b *RedisBroker) Publish(ctx context.Context, room string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	channel := b.prefix + room
	if cc, ok := b.client.(*redis.ClusterClient); ok {
		// A cluster client sends a PUBLISH to any node, and the cluster
		// bus forwards it from there: two messages sent through different
		// nodes can overtake each other. Publishing each channel on the
		// master of its slot keeps a room's messages in order.
		node, err := cc.MasterForKey(ctx, channel)
		if err != nil {
			return err
		}
		return node.Publish(ctx, channel, msg).Err()
	}
	return b.client.Publish(ctx, channel, msg).Err()
}

// Subscribe registers deliver for room; the first subscriber of a room makes
// the broker SUBSCRIBE to its channel, the last one leaving UNSUBSCRIBE.
func (b *RedisBroker) Subscribe(room string, deliver func([]byte)) (func(), error) {
	s := &redisSub{deliver: deliver}
	b.mu.Lock()
	if b.ctx.Err() != nil {
		b.mu.Unlock()
		return nil, net.ErrClosed
	}
	m := b.subs[room]
	if m == nil {
		m = make(map[*redisSub]struct{})
		b.subs[room] = m
		b.queue(redisOp{subscribe: true, channel: b.prefix + room})
	}
	m[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			if m := b.subs[room]; m != nil {
				delete(m, s)
				if len(m) == 0 {
					delete(b.subs, room)
					b.queue(redisOp{channel: b.prefix + room})
				}
			}
			b.mu.Unlock()
		})
	}, nil
}

// queue records a subscription change for the sync goroutine; b.mu is held.
func (b *RedisBroker) queue(op redisOp) {
	b.ops = append(b.ops, op)
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// sync applies subscription changes in order. go-redis remembers the
// channel set even when the command fails and subscribes to all of it again
// on reconnect, so a failure here needs no retry.
func (b *RedisBroker) sync() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-b.wake:
		}
		b.mu.Lock()
		ops := b.ops
		b.ops = nil
		b.mu.Unlock()
		// Only the last change of each channel matters; apply them in two
		// commands.
		final := make(map[string]bool, len(ops))
		for _, op := range ops {
			final[op.channel] = op.subscribe
		}
		var sub, unsub []string
		for ch, subscribe := range final {
			if subscribe {
				sub = append(sub, ch)
			} else {
				unsub = append(unsub, ch)
			}
		}
		b.apply(true, sub)
		b.apply(false, unsub)
	}
}

func (b *RedisBroker) apply(subscribe bool, channels []string) {
	if len(channels) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	var err error
	if subscribe {
		err = b.ps.Subscribe(ctx, channels...)
	} else {
		err = b.ps.Unsubscribe(ctx, channels...)
	}
	if err != nil && b.ctx.Err() == nil {
		b.logger.LogAttrs(b.ctx, slog.LevelWarn, "wstools: redis subscription change failed; it is applied on reconnect",
			slog.Int("channels", len(channels)), slog.String("error", err.Error()))
	}
}

// receive reads messages and dispatches them to the room's subscribers. A
// read error makes go-redis drop the connection; the next read dials again
// and resubscribes.
func (b *RedisBroker) receive() {
	defer b.wg.Done()
	backoff := 50 * time.Millisecond
	for b.ctx.Err() == nil {
		v, err := b.ps.ReceiveTimeout(b.ctx, 30*time.Second)
		if err != nil {
			if b.ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Idle: check the connection is still alive.
				pctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
				_ = b.ps.Ping(pctx)
				cancel()
				continue
			}
			b.logger.LogAttrs(b.ctx, slog.LevelWarn, "wstools: redis subscriber connection failed; retrying", slog.String("error", err.Error()))
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		msg, ok := v.(*redis.Message)
		if !ok {
			continue
		}
		room, ok := strings.CutPrefix(msg.Channel, b.prefix)
		if !ok {
			continue
		}
		b.mu.Lock()
		m := b.subs[room]
		subs := make([]*redisSub, 0, len(m))
		for s := range m {
			subs = append(subs, s)
		}
		b.mu.Unlock()
		if len(subs) == 0 {
			continue
		}
		payload := []byte(msg.Payload)
		for _, s := range subs {
			s.deliver(payload)
		}
	}
}

// Close stops the subscriber and waits for its goroutines. It does not
// close the Redis client.
func (b *RedisBroker) Close() error {
	b.mu.Lock()
	b.cancel()
	b.mu.Unlock()
	err := b.ps.Close()
	b.wg.Wait()
	return err
}
