package shard

import "strconv"

// Move is a key whose bucket changes when the shard count changes.
type Move struct {
	Key      string
	From, To int
}

// Moves lists the keys whose jump-hash bucket differs between oldN and newN
// buckets, for planning a reshard: copy those keys' rows from From to To,
// then switch the count. Growing from n to m buckets moves about
// (m-n)/m of the keys, each to one of the new buckets; the rest stay put.
// For a Set, pass its logical shard counts, or use the database
// counts when each logical shard is its own database.
func Moves(keys []string, oldN, newN int) []Move {
	var out []Move
	for _, k := range keys {
		h := HashKey(k)
		from, to := JumpHash(h, oldN), JumpHash(h, newN)
		if from != to {
			out = append(out, Move{Key: k, From: from, To: to})
		}
	}
	return out
}

// MovedLogical lists, for a change of a Set's Placement, the logical
// shards whose database changes: the unit to copy when rebalancing without
// rehashing any key. oldPlacement and newPlacement must have equal length.
// The plan for appending a database under the default placement is
// MovedLogical(DefaultPlacement(logical, n), DefaultPlacement(logical, n+1)):
// about 1/(n+1) of the logical shards, all moving to the new database.
func MovedLogical(oldPlacement, newPlacement []int) []Move {
	var out []Move
	for l := range min(len(oldPlacement), len(newPlacement)) {
		if oldPlacement[l] != newPlacement[l] {
			out = append(out, Move{Key: itoa(l), From: oldPlacement[l], To: newPlacement[l]})
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
