package shard

import (
	"strconv"
	"testing"

	"gorm.io/gorm"
)

// TestDefaultPlacementMovesAboutOneNth grows a shard set from 4 to 5
// databases with the default placement: about 1/5 of a few thousand keys
// move, all to the new database, and exactly the keys of the logical shards
// MovedLogical lists.
func TestDefaultPlacementMovesAboutOneNth(t *testing.T) {
	t.Parallel()
	dbs := func(n int) []*gorm.DB {
		out := make([]*gorm.DB, n)
		for i := range out {
			out[i] = &gorm.DB{}
		}
		return out
	}
	for _, step := range [][2]int{{4, 5}, {1, 2}, {9, 10}} {
		from, to := step[0], step[1]
		old, err := New(Options{Shards: dbs(from)})
		if err != nil {
			t.Fatal(err)
		}
		grown, err := New(Options{Shards: dbs(to)})
		if err != nil {
			t.Fatal(err)
		}
		plan := map[int]Move{}
		for _, m := range MovedLogical(DefaultPlacement(1024, from), DefaultPlacement(1024, to)) {
			l, _ := strconv.Atoi(m.Key)
			plan[l] = m
			if m.To != to-1 {
				t.Fatalf("%d→%d: logical shard %d moves from %d to %d, not to the new database", from, to, l, m.From, m.To)
			}
		}
		const keys = 5000
		moved := 0
		perDB := make([]int, to)
		for i := range keys {
			k := "tenant-" + strconv.Itoa(i)
			a, b := old.Index(k), grown.Index(k)
			perDB[b]++
			m, planned := plan[old.Logical(k)]
			if a != b {
				moved++
				if !planned || m.From != a || m.To != b {
					t.Fatalf("%d→%d: key %s moved %d→%d outside the plan", from, to, k, a, b)
				}
			} else if planned {
				t.Fatalf("%d→%d: key %s stayed although its logical shard is in the plan", from, to, k)
			}
		}
		frac := float64(moved) / keys
		ideal := 1 / float64(to)
		if frac < ideal*0.75 || frac > ideal*1.25 {
			t.Errorf("%d→%d databases moved %.1f%% of keys; want about %.1f%%", from, to, 100*frac, 100*ideal)
		}
		for d, n := range perDB {
			if f := float64(n) / keys; f < ideal*0.7 || f > ideal*1.3 {
				t.Errorf("%d databases: database %d holds %.1f%% of keys; want about %.1f%%", to, d, 100*f, 100*ideal)
			}
		}
		t.Logf("%d→%d databases: %.1f%% of %d keys and %d of 1024 logical shards move", from, to, 100*frac, keys, len(plan))
	}
}
