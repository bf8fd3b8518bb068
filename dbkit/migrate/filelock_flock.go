//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package migrate

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// fileLocking reports whether lockFile locks anything on this system.
const fileLocking = true

// lockFile takes an exclusive flock on path (created if missing), polling
// until ctx ends. The file is opened read-only, which is all flock needs,
// so another user who can read the directory's files can take the lock
// too. It is left in place on release: removing a locked file lets a later
// opener lock a new file while an earlier one waits on the old.
func lockFile(ctx context.Context, path string) (release func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	wait := 5 * time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			// Closing the only descriptor of the open file drops the lock;
			// a second call gets os.ErrClosed and touches no other file.
			return f.Close, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return nil, errors.Join(err, f.Close())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), f.Close())
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}
