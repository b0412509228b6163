//go:build unix

package ocir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile/userfiletest"
)

// TestOCIConfigOthersCouldHaveWrittenIsRefused: the OCI config decides
// which key signs and for which region, so the rule of OCIR_CONFIG
// applies (ReadTrusted): a file, or a directory above it, that another
// user could write is refused with a hint, never used and never skipped
// in favour of the next identity.
func TestOCIConfigOthersCouldHaveWrittenIsRefused(t *testing.T) {
	places := []struct {
		name string
		path func(f *fixture, t *testing.T) string // where the config goes; sets the environment
	}{
		{"~/.oci/config", func(f *fixture, t *testing.T) string { return f.cfgPath }},
		{"OCI_CONFIG_FILE", func(f *fixture, t *testing.T) string {
			p := filepath.Join(t.TempDir(), "oci-config")
			f.env["OCI_CONFIG_FILE"] = p
			return p
		}},
	}
	for _, place := range places {
		for _, tt := range userfiletest.TrustCases() {
			t.Run(place.name+"/"+tt.Name, func(t *testing.T) {
				f := newFixture(t, "")
				path := place.path(f, t)
				body := strings.ReplaceAll(apiKeyConfig, "KEY", f.keyPath)
				if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				tt.Setup(t, path)
				id, err := f.provider().resolveIdentity(iad, &request{})
				if tt.Want == "" {
					if err != nil || id.auth != AuthAPIKey {
						t.Fatalf("resolveIdentity = %+v, %v; want the API key of the profile", id, err)
					}
					return
				}
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, ErrIdentityBroken) || !errors.Is(err, userfile.ErrUntrusted) {
					t.Fatalf("err = %v; want an *Error of kind ErrIdentityBroken wrapping userfile.ErrUntrusted", err)
				}
				if msg := err.Error(); !strings.Contains(msg, tt.Want) || !strings.Contains(msg, path) {
					t.Errorf("err = %v; want it to name %s and say %q", err, path, tt.Want)
				}
				if !strings.Contains(e.Hint, "repair-file-permissions") {
					t.Errorf("hint %q does not say how to fix it", e.Hint)
				}
			})
		}
	}
}
