// Package emulatortest starts the OCI emulator for a test: in a directory
// of the test's own, stopped when the test ends. Only tests import it.
package emulatortest

import (
	"path/filepath"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// Start starts an emulator in dir/emulator, where dir is a new temporary
// directory of t, and closes it when t ends. It returns the emulator and
// dir, free for the test's own files (a HOME, a cache directory).
func Start(t testing.TB) (*emulator.Emulator, string) {
	t.Helper()
	dir := t.TempDir()
	e, err := emulator.Start(emulator.Options{Dir: filepath.Join(dir, "emulator")})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e, dir
}
