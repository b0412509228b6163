//go:build unix

package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Region metadata adds realms, so it decides which hosts are sent tokens:
// a file another user could have written is refused, as the config file
// is, and no region of it is recognised.
func TestLoadTableRefusesRegionMetadataOthersCanWrite(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".oci"), 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, ".oci", "regions-config.json")
	file := `[{"realmKey":"oc99","realmDomainComponent":"evil.example","regionKey":"evl","regionIdentifier":"xx-evil-1"}]`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o666, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		tbl, err := LoadTable(func(string) string { return "" }, home)
		if err == nil || !strings.Contains(err.Error(), "refusing to use it") || !strings.Contains(err.Error(), path) {
			t.Errorf("mode %04o: err = %v, want a refusal naming %s", mode, err, path)
		}
		if tbl != nil {
			if _, ok := tbl.Recognize("ocir.xx-evil-1.oci.evil.example"); ok {
				t.Errorf("mode %04o: a region from a file others can write is recognised", mode)
			}
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadTable(func(string) string { return "" }, home); err != nil {
		t.Errorf("mode 0644 (only the owner writes): %v", err)
	}
}
