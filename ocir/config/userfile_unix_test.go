//go:build unix

package config

import (
	"io"
	"os"
	"path/filepath"
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

// TestLoadRefusesFilesOthersCouldHaveWritten: the rules and mirrors of the
// config file decide which hosts receive tokens.
func TestLoadRefusesFilesOthersCouldHaveWritten(t *testing.T) {
	body := []byte("mirrors:\n  - host: registry-1.docker.io\n    tokenURL: https://iad.ocir.io/20180419/docker/token\n")
	for _, tt := range userfiletest.TrustCases() {
		t.Run(tt.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, body, 0o600); err != nil {
				t.Fatal(err)
			}
			tt.Setup(t, path)
			f, err := Load(path, true)
			if tt.Want == "" {
				if err != nil || len(f.Mirrors) != 1 {
					t.Errorf("Load = %+v, %v", f, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.Want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to name the file and say %q", err, tt.Want)
			}
		})
	}
}
