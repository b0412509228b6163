//go:build unix

package providerconfig

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile/userfiletest"
)

// validate-config is run by hand on paths a user types: a FIFO, a device or
// a huge file must give an error at once, never a hang or unbounded memory.
func TestValidateConfigPathRefusesWhatIsNotASmallRegularFile(t *testing.T) {
	dir := t.TempDir()
	inDir := filepath.Join(t.TempDir(), "d")
	if err := os.Mkdir(inDir, 0o700); err != nil {
		t.Fatal(err)
	}
	userfiletest.FIFO(t, inDir, "10-ocir.yaml")
	for _, tc := range []struct {
		name, path string
		want       error
	}{
		{"fifo", userfiletest.FIFO(t, dir, "config.yaml"), userfile.ErrNotRegular},
		{"fifo in a config directory", inDir, userfile.ErrNotRegular},
		{"device", "/dev/zero", userfile.ErrNotRegular},
		{"larger than the config limit", userfiletest.Big(t, dir, "huge.yaml"), userfile.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := userfiletest.NoHang(t, "ValidateConfigPath", func() error {
				_, err := ValidateConfigPath(tc.path, ValidateOptions{})
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
