//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package migrate

import "context"

// fileLocking reports whether lockFile locks anything on this system.
const fileLocking = false

// lockFile is a no-op where flock(2) is missing: SQLite migrations are
// then not locked across processes.
func lockFile(context.Context, string) (func() error, error) {
	return func() error { return nil }, nil
}
