//go:build unix

// Package userfiletest makes the hostile files the user-named-file tests
// point programs at (a FIFO, a file over the read cap) and runs a reader
// under a deadline, so a regression shows as a failure, not a hung test.
// Only tests import it.
package userfiletest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// FIFO creates a named pipe dir/name: opening it for reading blocks until
// a writer comes, which none ever does.
func FIFO(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Big creates dir/name, a comment-only YAML file one line over
// userfile.ConfigLimit.
func Big(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("# "+strings.Repeat("x", userfile.ConfigLimit)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// NoHang runs read and returns its error; if it has not returned in 10
// seconds the test fails: what reads user-named files must never block.
func NoHang(t testing.TB, what string, read func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s blocked", what)
		return nil
	}
}

// TrustCase is one state a file that decides where tokens go can be left
// in: Setup puts the file at path (written 0600 in a directory of its own)
// into it, and Want is what the refusal says, or "" when the file is
// fine.
type TrustCase struct {
	Name  string
	Setup func(t *testing.T, path string)
	Want  string
}

// TrustCases are the states userfile.ReadTrusted tells apart, for every
// reader that must apply its rule (the config file, the OCI config): as
// ssh does, refuse a file or a directory above it that another user could
// write, accept one others can only read.
func TrustCases() []TrustCase {
	chmod := func(mode os.FileMode) func(t *testing.T, path string) {
		return func(t *testing.T, path string) { mustChmod(t, path, mode) }
	}
	// Whoever can write the directory can replace the file in it.
	dirMode := func(mode os.FileMode) func(t *testing.T, path string) {
		return func(t *testing.T, path string) { mustChmod(t, filepath.Dir(path), mode) }
	}
	return []TrustCase{
		{"private file is used", chmod(0o600), ""},
		{"world-readable file is used", chmod(0o644), ""},
		{"group-writable file is refused", chmod(0o664), "writable by group or others (mode 0664)"},
		{"world-writable file is refused", chmod(0o646), "writable by group or others (mode 0646)"},
		{"another user's file is refused", func(t *testing.T, path string) {
			if os.Geteuid() != 0 {
				t.Skip("SKIP: needs root to give the file to another user")
			}
			if err := os.Chown(path, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}, "belongs to uid 4242"},
		{"in a world-writable directory is refused", dirMode(0o777), "is writable by group or others (mode 0777), so they could replace it"},
		{"in a group-writable directory is refused", dirMode(0o770), "is writable by group or others (mode 0770)"},
		{"in a sticky world-writable directory (/tmp) is used", dirMode(0o777 | os.ModeSticky), ""},
		{"through a symlink into a world-writable directory is refused", func(t *testing.T, path string) {
			open := filepath.Join(t.TempDir(), "open")
			if err := os.Mkdir(open, 0o700); err != nil {
				t.Fatal(err)
			}
			mustChmod(t, open, 0o777)
			moved := filepath.Join(open, filepath.Base(path))
			if err := os.Rename(path, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(moved, path); err != nil {
				t.Fatal(err)
			}
		}, "is writable by group or others (mode 0777)"},
	}
}

// mustChmod sets mode exactly, whatever the umask.
func mustChmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
