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
