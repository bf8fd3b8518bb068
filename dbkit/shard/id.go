package shard

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/internal/sqlname"
	"github.com/covetgo/covet/errs"
)

// ID layout: 0 | 41 bits of milliseconds since IDEpoch | 10 bits of node |
// 12 bits of sequence. IDs are positive int64s that sort by creation time
// (across nodes, to the millisecond), fit a BIGINT, and stay unique across
// shards as long as no two live generators share a node number.
const (
	idNodeBits = 10
	idSeqBits  = 12
	// MaxNode is the largest node number (1023).
	MaxNode = 1<<idNodeBits - 1
	maxSeq  = 1<<idSeqBits - 1
)

// IDEpoch is the zero time of IDs: 41 bits of milliseconds last until 2093.
var IDEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrNodeLeaseLost is returned by Next when the generator's node lease
// could not be renewed in time: another instance may now hold the node.
var ErrNodeLeaseLost = errors.New("shard: ID node lease lost")

// IDGenerator issues unique 64-bit IDs (a Snowflake layout). Uniqueness
// across instances rests on the node number: use NewIDGenerator only when
// the deployment guarantees distinct node numbers (a StatefulSet ordinal);
// otherwise LeaseIDGenerator, which claims a free node number in a
// database table and holds it with a renewed lease, so two live instances
// can never share one. Within a generator, IDs strictly increase; if the
// clock steps back, it keeps counting from the last millisecond it used
// instead of reusing earlier ones.
type IDGenerator struct {
	mu    sync.Mutex
	node  int64
	last  int64
	seq   int64
	lease *nodeLease
}

// NewIDGenerator returns a generator for a node number the caller
// guarantees unique among live instances (0..MaxNode).
func NewIDGenerator(node int) (*IDGenerator, error) {
	if node < 0 || node > MaxNode {
		return nil, errs.Configf("shard: ID node %d is out of range 0..%d", node, MaxNode)
	}
	return &IDGenerator{node: int64(node)}, nil
}

// Node returns the generator's node number.
func (g *IDGenerator) Node() int { return int(g.node) }

// Next returns a new ID. It fails only when the generator's lease is lost.
func (g *IDGenerator) Next() (int64, error) {
	if g.lease != nil && !g.lease.valid() {
		return 0, ErrNodeLeaseLost
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Since(IDEpoch).Milliseconds()
	if now > g.last {
		g.last, g.seq = now, 0
	} else {
		g.seq++
		if g.seq > maxSeq {
			// 4096 IDs this millisecond: wait for the next one, or borrow
			// it when the clock stepped back.
			for now <= g.last && g.last-now < 2 {
				time.Sleep(100 * time.Microsecond)
				now = time.Since(IDEpoch).Milliseconds()
			}
			g.last++
			if now > g.last {
				g.last = now
			}
			g.seq = 0
		}
	}
	return g.last<<(idNodeBits+idSeqBits) | g.node<<idSeqBits | g.seq, nil
}

// ParseID splits an ID into its creation time, node and sequence.
func ParseID(id int64) (t time.Time, node, seq int) {
	ms := id >> (idNodeBits + idSeqBits)
	return IDEpoch.Add(time.Duration(ms) * time.Millisecond), int(id>>idSeqBits) & MaxNode, int(id) & maxSeq
}

// LeaseOptions configures LeaseIDGenerator.
type LeaseOptions struct {
	// Table holds the leases. Zero: "dbkit_id_nodes". It is created when
	// missing.
	Table string
	// TTL is how long a lease lives without renewal; it is renewed every
	// TTL/3. Clocks of the instances must agree to well within it. Zero:
	// one minute.
	TTL time.Duration
}

type nodeLease struct {
	db      *gorm.DB
	table   string
	node    int
	holder  string
	ttl     time.Duration
	expires atomic.Int64 // unix ms
	stop    chan struct{}
	done    chan struct{}
	close   sync.Once
	err     error
}

// LeaseIDGenerator claims a node number not held by any live instance in
// a lease table on db (PostgreSQL, MySQL/MariaDB or SQLite), renews the
// lease in the background and returns a generator for it. Call Close to
// stop renewing and free the node. When a renewal fails for longer than
// the lease could be trusted, Next returns ErrNodeLeaseLost rather than
// risk a duplicate.
func LeaseIDGenerator(ctx context.Context, db *gorm.DB, o LeaseOptions) (*IDGenerator, error) {
	if o.Table == "" {
		o.Table = "dbkit_id_nodes"
	}
	if !sqlname.Valid(o.Table) {
		return nil, errs.Configf("shard: LeaseOptions.Table %q is not a plain SQL identifier", o.Table)
	}
	if o.TTL == 0 {
		o.TTL = time.Minute
	}
	if o.TTL < 100*time.Millisecond {
		return nil, errs.Configf("shard: LeaseOptions.TTL %v is too short", o.TTL)
	}
	g := db.WithContext(ctx)
	if err := createLeaseTable(ctx, g, o.Table); err != nil {
		return nil, err
	}
	var raw [16]byte
	_, _ = crand.Read(raw[:])
	l := &nodeLease{db: db, table: o.Table, holder: hex.EncodeToString(raw[:]), ttl: o.TTL, stop: make(chan struct{}), done: make(chan struct{})}
	start := mrand(MaxNode + 1)
	for i := range MaxNode + 1 {
		node := (start + i) % (MaxNode + 1)
		claimed, err := l.claim(g, node)
		if err != nil {
			return nil, fmt.Errorf("shard: claiming an ID node: %w", err)
		}
		if claimed {
			go l.renew()
			return &IDGenerator{node: int64(node), lease: l}, nil
		}
	}
	return nil, errs.New(errs.KindServiceUnavailable, dbkit.CodeUnavailable, "shard: every ID node number is leased")
}

// createLeaseTable creates the lease table unless it exists. PostgreSQL's
// IF NOT EXISTS is not safe against a concurrent CREATE: the loser gets a
// unique violation or "type already exists" from its catalog, after which
// the table exists; a few attempts settle it.
func createLeaseTable(ctx context.Context, g *gorm.DB, table string) error {
	create := `CREATE TABLE IF NOT EXISTS ` + table + ` (node INTEGER PRIMARY KEY, holder VARCHAR(64) NOT NULL, expires_at BIGINT NOT NULL)`
	var err error
	for attempt := range 4 {
		if err = g.Exec(create).Error; err == nil {
			return nil
		}
		if serr := sleep(ctx, time.Duration(attempt+1)*20*time.Millisecond); serr != nil {
			break
		}
	}
	return fmt.Errorf("shard: creating the ID lease table: %w", err)
}

// claim takes node for l when its lease expired or it was never leased.
func (l *nodeLease) claim(g *gorm.DB, node int) (bool, error) {
	now := time.Now().UnixMilli()
	exp := now + l.ttl.Milliseconds()
	res := g.Exec(`UPDATE `+l.table+` SET holder = ?, expires_at = ? WHERE node = ? AND expires_at < ?`, l.holder, exp, node, now)
	if res.Error != nil {
		return false, res.Error
	}
	if res.RowsAffected != 1 {
		err := g.Exec(`INSERT INTO `+l.table+` (node, holder, expires_at) VALUES (?, ?, ?)`, node, l.holder, exp).Error
		if d := dbkit.Classify(err); d != nil && d.Class == dbkit.ClassUnique {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	l.node = node
	l.expires.Store(exp)
	return true, nil
}

func mrand(n int) int { return rand.IntN(n) }

// valid reports whether the lease is still safely ours: a margin of a
// quarter TTL covers clock differences between instances.
func (l *nodeLease) valid() bool {
	return time.Now().UnixMilli() < l.expires.Load()-l.ttl.Milliseconds()/4
}

func (l *nodeLease) renew() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
			lost := l.renewOnce(ctx)
			cancel()
			if lost {
				return
			}
		}
	}
}

// renewOnce extends the lease by a TTL from now. It reports whether the
// lease is lost: another holder has the node, and the generator must never
// issue again. A failed renewal is not a loss; the lease then runs out
// unless a later renewal succeeds in time.
func (l *nodeLease) renewOnce(ctx context.Context) (lost bool) {
	exp := time.Now().UnixMilli() + l.ttl.Milliseconds()
	res := l.db.WithContext(ctx).Exec(`UPDATE `+l.table+` SET expires_at = ? WHERE node = ? AND holder = ?`, exp, l.node, l.holder)
	switch {
	case res.Error != nil:
		return false
	case res.RowsAffected == 1:
		l.expires.Store(exp)
		return false
	}
	l.expires.Store(0)
	return true
}

// Close stops renewing a leased generator's node and releases it. It does
// nothing for a generator from NewIDGenerator. It is safe to call more than
// once and concurrently; every call returns the first call's result. The
// generator must not be used afterwards.
func (g *IDGenerator) Close(ctx context.Context) error {
	l := g.lease
	if l == nil {
		return nil
	}
	l.close.Do(func() {
		close(l.stop)
		<-l.done
		l.expires.Store(0)
		l.err = l.db.WithContext(ctx).Exec(`DELETE FROM `+l.table+` WHERE node = ? AND holder = ?`, l.node, l.holder).Error
	})
	return l.err
}

// sleep waits d, or until ctx ends, whose error it then returns.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
