// Package filelock waits for a cross-process file lock
// (github.com/gofrs/flock) the way every caller here needs: asleep in the
// kernel, woken the moment the holder releases the lock or dies, and never
// past the caller's deadline.
package filelock

import (
	"context"
	"errors"
	"syscall"

	"github.com/gofrs/flock"
)

// Wait blocks in the kernel until l is locked or ctx ends. On ctx's end
// the blocked call is left to finish in the background and releases the
// lock at once when it gets it, so an abandoned wait never holds the lock.
func Wait(ctx context.Context, l *flock.Flock) error {
	got := make(chan error, 1)
	go func() {
		var err error
		for {
			// A blocking flock can be interrupted by a signal the Go
			// runtime uses for itself; that is no reason to stop waiting.
			if err = l.Lock(); !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		got <- err
	}()
	select {
	case err := <-got:
		return err
	case <-ctx.Done():
		go func() {
			if <-got == nil {
				_ = l.Unlock()
			}
			_ = l.Close()
		}()
		return ctx.Err()
	}
}
