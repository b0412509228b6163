//go:build unix

package config

import (
	"io"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile/userfiletest"
)

func TestUserNamedFilesMustBeRegularAndSmall(t *testing.T) {
	dir := t.TempDir()
	fifo := userfiletest.FIFO(t, dir, "fifo")
	tests := []struct{ name, path, want string }{
		{"FIFO", fifo, "not a regular file"},
		{"/dev/zero", "/dev/zero", "not a regular file"},
		{"directory", dir, "not a regular file"},
		{"over 1 MiB", userfiletest.Big(t, dir, "big.yaml"), "too large"},
	}
	for _, tt := range tests {
		t.Run("config "+tt.name, func(t *testing.T) {
			err := userfiletest.NoHang(t, "Load", func() error { _, err := Load(tt.path, true); return err })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("log file FIFO", func(t *testing.T) {
		err := userfiletest.NoHang(t, "opening a FIFO log file", func() error {
			_, c, err := Settings{LogFile: fifo}.Logger(io.Discard)
			c.Close()
			return err
		})
		if err == nil {
			t.Error("a FIFO was accepted as log file")
		}
	})
}
