//go:build unix

package providerconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// validate-config is run by hand on paths a user types: a FIFO, a device or
// a huge file must give an error at once, never a hang or unbounded memory.
func TestValidateConfigPathRefusesWhatIsNotASmallRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	inDir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(inDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(inDir, "10-ocir.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte("kind: CredentialProviderConfig\n"+strings.Repeat("#", userfile.ConfigLimit)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       error
	}{
		{"fifo", fifo, userfile.ErrNotRegular},
		{"fifo in a config directory", inDir, userfile.ErrNotRegular},
		{"device", "/dev/zero", userfile.ErrNotRegular},
		{"larger than the config limit", huge, userfile.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == "/dev/zero" {
				if _, err := os.Stat(tc.path); err != nil {
					t.Skip("no /dev/zero here")
				}
			}
			done := make(chan error, 1)
			go func() {
				_, err := ValidateConfigPath(tc.path, ValidateOptions{})
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("ValidateConfigPath hangs")
			}
		})
	}
}
