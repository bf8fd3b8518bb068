package wstools

import "sync"

// sendQueue is a connection's bounded outgoing queue: a ring of encoded
// frames whose total size never exceeds limit bytes. Frames are shared
// between connections (a broadcast is encoded once), so they are never
// modified.
type sendQueue struct {
	mu     sync.Mutex
	frames [][]byte
	head   int // index of the oldest frame
	n      int // number of frames
	bytes  int // queued plus in flight (taken by the writer, not yet written)
	flight int // bytes in flight
	limit  int
	closed bool
	busy   bool          // a writer holds frames taken by popAll or tryInline
	wake   chan struct{} // capacity 1: "there is something to write"
}

func newSendQueue(limit int) *sendQueue {
	return &sendQueue{frames: make([][]byte, 8), limit: limit, wake: make(chan struct{}, 1)}
}

// push enqueues frame under the overflow policy. It returns how many frames
// and bytes were discarded, and overflow=true when the policy is Disconnect
// and the frame did not fit (nothing is queued then).
func (q *sendQueue) push(frame []byte, policy Overflow) (dropped, droppedBytes int, overflow bool) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, 0, false
	}
	if q.bytes+len(frame) > q.limit {
		switch {
		case policy == Disconnect:
			q.mu.Unlock()
			return 0, 0, true
		case policy == DropNewest || len(frame) > q.limit:
			q.mu.Unlock()
			return 1, len(frame), false
		}
		for q.bytes+len(frame) > q.limit && q.n > 0 {
			old := q.frames[q.head]
			q.frames[q.head] = nil
			q.head = (q.head + 1) % len(q.frames)
			q.n--
			q.bytes -= len(old)
			dropped++
			droppedBytes += len(old)
		}
		if q.bytes+len(frame) > q.limit {
			// What is left is in flight: the new frame cannot fit either.
			q.mu.Unlock()
			return dropped + 1, droppedBytes + len(frame), false
		}
	}
	if q.n == len(q.frames) {
		q.grow()
	}
	q.frames[(q.head+q.n)%len(q.frames)] = frame
	q.n++
	q.bytes += len(frame)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped, droppedBytes, false
}

func (q *sendQueue) grow() {
	frames := make([][]byte, 2*len(q.frames))
	for i := 0; i < q.n; i++ {
		frames[i] = q.frames[(q.head+i)%len(q.frames)]
	}
	q.frames = frames
	q.head = 0
}

// popAll moves every queued frame into dst (reused by the caller) and
// returns it; the caller must call written once they are written. The
// frames keep counting against the limit until then. It returns nothing
// while an inline write is in progress: that writer signals wake when done.
func (q *sendQueue) popAll(dst [][]byte) [][]byte {
	q.mu.Lock()
	if q.busy {
		q.mu.Unlock()
		return dst
	}
	q.busy = q.n > 0
	for q.n > 0 {
		f := q.frames[q.head]
		dst = append(dst, f)
		q.flight += len(f)
		q.frames[q.head] = nil
		q.head = (q.head + 1) % len(q.frames)
		q.n--
	}
	q.head = 0
	q.mu.Unlock()
	return dst
}

// tryInline reserves the right to write frame directly, bypassing the
// queue, when nothing is queued or being written and it fits. The caller
// must call written(len(frame)) afterwards.
func (q *sendQueue) tryInline(frame []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.busy || q.n > 0 || q.bytes+len(frame) > q.limit {
		return false
	}
	q.busy = true
	q.bytes += len(frame)
	q.flight += len(frame)
	return true
}

// written releases the budget of frames taken by popAll or tryInline, and
// wakes the writer if frames were queued meanwhile.
func (q *sendQueue) written(n int) {
	q.mu.Lock()
	q.flight -= n
	q.bytes -= n
	q.busy = false
	more := q.n > 0
	q.mu.Unlock()
	if more {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// close discards the queue; later pushes are ignored.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	clear(q.frames)
	q.n, q.bytes, q.flight = 0, 0, 0
	q.mu.Unlock()
}
