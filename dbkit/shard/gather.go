package shard

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// Result is one shard's outcome in Gather.
type Result[T any] struct {
	Shard int
	Value T
	Err   error
}

// GatherError reports the shards that failed in Each or Gather; the others
// succeeded and their results are valid.
type GatherError struct {
	// Failed maps shard index to its error.
	Failed map[int]error
	// Total is the number of shards queried.
	Total int
}

// Error lists the failed shards in order.
func (e *GatherError) Error() string {
	idx := make([]int, 0, len(e.Failed))
	for i := range e.Failed {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	var b strings.Builder
	fmt.Fprintf(&b, "shard: %d of %d shards failed", len(idx), e.Total)
	for _, i := range idx {
		b.WriteString("; shard ")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(": ")
		b.WriteString(e.Failed[i].Error())
	}
	return b.String()
}

// Unwrap returns the shards' errors, for errors.Is and errors.As.
func (e *GatherError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}

// Gather runs fn on every shard, at most the set's Concurrency at a time,
// each under the set's per-shard Timeout, and returns one Result per shard
// in shard order. A failing, slow or panicking shard does not affect the
// others: its Result carries the error and the returned error is a
// *GatherError naming every failed shard (nil when all succeeded).
func Gather[T any](ctx context.Context, s *Set, fn func(ctx context.Context, shard int, db *gorm.DB) (T, error)) ([]Result[T], error) {
	return gather(ctx, s, fn, false)
}

// GatherAll is Gather for all-or-nothing callers: the first failure cancels
// the shards still running and is returned alone, with no results.
func GatherAll[T any](ctx context.Context, s *Set, fn func(ctx context.Context, shard int, db *gorm.DB) (T, error)) ([]Result[T], error) {
	res, err := gather(ctx, s, fn, true)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Each runs fn on every shard as Gather does; the error is a *GatherError
// when some shards failed.
func (s *Set) Each(ctx context.Context, fn func(ctx context.Context, shard int, db *gorm.DB) error) error {
	_, err := gather(ctx, s, func(ctx context.Context, shard int, db *gorm.DB) (struct{}, error) {
		return struct{}{}, fn(ctx, shard, db)
	}, false)
	return err
}

func gather[T any](ctx context.Context, s *Set, fn func(context.Context, int, *gorm.DB) (T, error), allOrNothing bool) ([]Result[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := len(s.shards)
	res := make([]Result[T], n)
	sem := make(chan struct{}, s.concurrency)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for i := range n {
		res[i].Shard = i
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				res[i].Err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			sctx := ctx
			if s.timeout > 0 {
				var c context.CancelFunc
				sctx, c = context.WithTimeout(ctx, s.timeout)
				defer c()
			}
			v, err := callShard(sctx, i, s.shards[i].WithContext(sctx), fn)
			res[i].Value, res[i].Err = v, err
			if err != nil && allOrNothing {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("shard: shard %d: %w", i, err)
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allOrNothing {
		return res, firstErr
	}
	var ge *GatherError
	for i := range res {
		if res[i].Err != nil {
			if ge == nil {
				ge = &GatherError{Failed: map[int]error{}, Total: n}
			}
			ge.Failed[i] = res[i].Err
		}
	}
	if ge != nil {
		return res, ge
	}
	return res, nil
}

func callShard[T any](ctx context.Context, i int, db *gorm.DB, fn func(context.Context, int, *gorm.DB) (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("shard: shard %d panicked: %v", i, r)
		}
	}()
	return fn(ctx, i, db)
}

// MergeSorted merges per-shard pages, each already sorted by cmp (as each
// shard's ORDER BY ... LIMIT n returned it), into the first limit items of
// the combined order (all items when limit <= 0). Ties keep shard order.
// For the next page, continue from the last item's sort key on every shard
// (keyset pagination); OFFSET does not compose across shards.
func MergeSorted[T any](pages [][]T, cmp func(a, b T) int, limit int) []T {
	out := slices.Concat(pages...)
	slices.SortStableFunc(out, cmp)
	if limit > 0 && limit < len(out) {
		out = slices.Clip(out[:limit])
	}
	return out
}
