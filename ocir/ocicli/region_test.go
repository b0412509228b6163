package ocicli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfiguredRegion(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("# comment\n[DEFAULT]\nregion = us-ashburn-1\n\n[NOREGION]\nuser=x\n[OWN]\nregion=eu-frankfurt-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		env        map[string]string
		want, from string
		err        bool
	}{
		{map[string]string{"OCI_CLI_CONFIG_FILE": cfg}, "us-ashburn-1", "profile DEFAULT", false},
		{map[string]string{"OCI_CONFIG_FILE": cfg, "OCI_CLI_PROFILE": "OWN"}, "eu-frankfurt-1", "profile OWN", false},
		{map[string]string{"OCI_CLI_CONFIG_FILE": cfg, "OCI_CLI_PROFILE": "NOREGION"}, "us-ashburn-1", "profile NOREGION", false},
		{map[string]string{"OCI_CLI_CONFIG_FILE": cfg, "OCI_CLI_REGION": "ap-tokyo-1"}, "ap-tokyo-1", "OCI_CLI_REGION", false},
		{map[string]string{"OCI_CLI_CONFIG_FILE": cfg, "OCI_CLI_PROFILE": "MISSING"}, "", "", true},
		{map[string]string{"HOME": dir}, "", "", true},
		{map[string]string{"HOME": dir, "OCI_RESOURCE_PRINCIPAL_REGION": "us-phoenix-1"}, "us-phoenix-1", "OCI_RESOURCE_PRINCIPAL_REGION", false},
		{map[string]string{"OCI_CLI_CONFIG_FILE": "~/config", "HOME": dir}, "us-ashburn-1", "profile DEFAULT", false},
	}
	for _, tc := range cases {
		got, from, err := ConfiguredRegion(func(k string) string { return tc.env[k] })
		if (err != nil) != tc.err || got != tc.want || !strings.HasPrefix(from, tc.from) {
			t.Errorf("%v: got %q %q %v", tc.env, got, from, err)
		}
	}
}
