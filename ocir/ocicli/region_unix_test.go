//go:build unix

package ocicli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile/userfiletest"
)

// TestConfiguredRegionRefusesAnOCIConfigOthersCouldHaveWritten: the region
// an OCI config names is taken only from a file nobody else could have
// written, as identity discovery requires of it.
func TestConfiguredRegionRefusesAnOCIConfigOthersCouldHaveWritten(t *testing.T) {
	for _, tt := range userfiletest.TrustCases() {
		t.Run(tt.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			if err := os.WriteFile(path, []byte("[DEFAULT]\nregion=eu-frankfurt-1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tt.Setup(t, path)
			region, _, err := ConfiguredRegion(func(k string) string { return map[string]string{"OCI_CLI_CONFIG_FILE": path}[k] })
			if tt.Want == "" {
				if err != nil || region != "eu-frankfurt-1" {
					t.Errorf("ConfiguredRegion = %q, %v", region, err)
				}
				return
			}
			if !errors.Is(err, userfile.ErrUntrusted) || !strings.Contains(err.Error(), tt.Want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v; want it to name %s and say %q", err, path, tt.Want)
			}
		})
	}
}
