//go:build !windows

package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestUserNamedFilesMustBeRegularAndSmall(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, []byte("# "+strings.Repeat("x", 2<<20)+"\n"), 0o600)
	tests := []struct{ name, path, want string }{
		{"FIFO", fifo, "not a regular file"},
		{"/dev/zero", "/dev/zero", "not a regular file"},
		{"directory", dir, "not a regular file"},
		{"over 1 MiB", big, "too large"},
	}
	for _, tt := range tests {
		t.Run("config "+tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := Load(tt.path, true); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want %q", err, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Load blocked")
			}
		})
	}
	t.Run("log file FIFO", func(t *testing.T) {
		done := make(chan error, 1)
		go func() {
			_, c, err := Settings{LogFile: fifo}.Logger(io.Discard)
			c.Close()
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Error("a FIFO was accepted as log file")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("opening a FIFO log file blocked")
		}
	})
}
