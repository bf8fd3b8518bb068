// Package shard spreads data over several databases by key: a Set routes
// each key to one database, Gather and Each query every database, and
// IDGenerator issues IDs unique across them. GORM's sharding plugin splits
// tables within one database; this package routes whole keys to databases.
//
// A Set routes a key to one of several databases with jump consistent
// hash over logical shards (ForKey does not allocate), with pinned keys for
// tenants that need their own database. Logical shards are placed on
// databases by rendezvous hashing (DefaultPlacement), so appending a
// database moves only the logical shards it wins, about 1/N of the keys for
// N databases; MovedLogical lists exactly which. The balance is
// statistical: with the default 1024 logical shards each database holds
// within about 6 % of its share up to 8 databases (pass Placement for an
// exact split). Note that this placement differs from the contiguous ranges
// of earlier versions: a deployment that relied on those must pass them as
// Placement. Gather and Each query every shard with a concurrency bound and
// a per-shard timeout; MergeSorted combines per-shard sorted pages; Moves
// plans a change of the logical shard count; IDGenerator issues IDs unique
// across shards, with node numbers leased from the database
// (LeaseIDGenerator).
//
//	set, err := shard.New(shard.Options{
//		Shards:  []*gorm.DB{db0.Gorm(), db1.Gorm(), db2.Gorm()},
//		Pinned:  map[string]int{"big-customer": 2},
//		Timeout: 500 * time.Millisecond,
//	})
//	// one tenant
//	set.ForKey(tenantID).WithContext(ctx).Create(&order)
//	// all tenants: newest 20 orders across shards
//	pages, err := shard.Gather(ctx, set, func(ctx context.Context, i int, db *gorm.DB) ([]Order, error) {
//		var page []Order
//		return page, db.Order("id DESC").Limit(20).Find(&page).Error
//	})
//	// err is a *shard.GatherError when some shards failed; the others' results are valid.
package shard
