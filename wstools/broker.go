package wstools

import (
	"context"
	"sync"
)

// Broker carries room broadcasts between the instances of a service. Every
// instance's hub subscribes to the rooms it has local members in and
// publishes its broadcasts; it ignores its own messages coming back, so a
// broker may (and Redis does) deliver a message to its publisher too.
//
// Delivery is at most once: a message published while an instance is cut off
// from the broker does not reach that instance's clients.
type Broker interface {
	// Publish sends msg to every subscriber of room.
	Publish(ctx context.Context, room string, msg []byte) error
	// Subscribe starts calling deliver with each message published to room,
	// until the returned cancel function is called. It must not block on
	// the network: the hub calls it while holding its lock. deliver must
	// not keep or modify msg after it returns.
	Subscribe(room string, deliver func(msg []byte)) (cancel func(), err error)
}

// MemoryBroker is a Broker inside one process: hubs sharing it behave like
// instances sharing Redis. Publish delivers synchronously.
type MemoryBroker struct {
	mu   sync.RWMutex
	subs map[string]map[*memorySub]struct{}
}

type memorySub struct{ deliver func([]byte) }

// NewMemoryBroker returns an empty in-process broker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{subs: make(map[string]map[*memorySub]struct{})}
}

// Publish calls every subscriber of room with msg before returning.
func (b *MemoryBroker) Publish(_ context.Context, room string, msg []byte) error {
	b.mu.RLock()
	subs := make([]*memorySub, 0, len(b.subs[room]))
	for s := range b.subs[room] {
		subs = append(subs, s)
	}
	b.mu.RUnlock()
	for _, s := range subs {
		s.deliver(msg)
	}
	return nil
}

// Subscribe registers deliver for room.
func (b *MemoryBroker) Subscribe(room string, deliver func([]byte)) (func(), error) {
	s := &memorySub{deliver: deliver}
	b.mu.Lock()
	m := b.subs[room]
	if m == nil {
		m = make(map[*memorySub]struct{})
		b.subs[room] = m
	}
	m[s] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs[room], s)
			if len(b.subs[room]) == 0 {
				delete(b.subs, room)
			}
			b.mu.Unlock()
		})
	}, nil
}

// Rooms returns how many rooms have subscribers (for tests and metrics).
func (b *MemoryBroker) Rooms() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs)
}
