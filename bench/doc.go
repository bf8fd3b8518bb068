// Package bench compares each Covet stage with the libraries a Go team
// would otherwise reach for, side by side in one process, so the ratios
// between them are meaningful:
//
//	cd bench && go test -run '^$' -bench . -count 10 -benchmem | tee new.txt
//	benchstat new.txt
//
// It is a module of its own so the peers' dependencies never reach the
// covet module's users.
package bench
