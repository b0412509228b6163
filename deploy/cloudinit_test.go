package deploy

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOKECloudInit runs the node-pool script with a file:// "release" and a
// fake OKE bootstrap script served as the metadata service would (base64).
func TestOKECloudInit(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	bin, err := os.ReadFile(pluginBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	good := hex.EncodeToString(sum[:])

	for _, tc := range []struct {
		name    string
		sum     string
		flags   string
		wantErr bool
	}{
		{name: "checksum matches", sum: good},
		{name: "service-account mode", sum: good, flags: "--service-account-audience ocir"},
		{name: "checksum mismatch", sum: strings.Repeat("0", 64), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			release := filepath.Join(dir, "release")
			if err := os.MkdirAll(release, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, arch := range []string{"amd64", "arm64"} {
				if err := os.WriteFile(filepath.Join(release, "ocir-credential-provider-linux-"+arch), bin, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			argsFile := filepath.Join(dir, "oke-init-args")
			okeInit := "#!/bin/bash\nprintf '%s\\n' \"$@\" >" + argsFile + "\n"
			if err := os.WriteFile(filepath.Join(dir, "oke_init_script"), []byte(base64.StdEncoding.EncodeToString([]byte(okeInit))), 0o644); err != nil {
				t.Fatal(err)
			}
			binDir, cfg := filepath.Join(dir, "node/usr/local/lib/ocir-credential-provider"), filepath.Join(dir, "node/etc/kubernetes/ocir-credential-provider.yaml")
			cmd := exec.Command("bash", "cloud-init/oke-node-pool.sh")
			cmd.Env = []string{
				"PATH=" + os.Getenv("PATH"),
				"RELEASE_URL=file://" + release,
				"SHA256_AMD64=" + tc.sum, "SHA256_ARM64=" + tc.sum,
				"CONFIG_FLAGS=" + tc.flags,
				"BIN_DIR=" + binDir, "CONFIG_FILE=" + cfg,
				"OKE_INIT_URL=file://" + filepath.Join(dir, "oke_init_script"),
				"OKE_INIT_SCRIPT=" + filepath.Join(dir, "oke-init.sh"),
			}
			out, err := cmd.CombinedOutput()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("succeeded with a wrong checksum:\n%s", out)
				}
				if _, err := os.Stat(filepath.Join(binDir, "ocir-credential-provider")); err == nil {
					t.Error("installed a binary whose checksum did not match")
				}
				if _, err := os.Stat(argsFile); err == nil {
					t.Error("ran the OKE bootstrap after a failed download")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			args, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal("the OKE bootstrap did not run")
			}
			want := "--kubelet-extra-args\n--image-credential-provider-config=" + cfg + " --image-credential-provider-bin-dir=" + binDir + "\n"
			if string(args) != want {
				t.Errorf("OKE bootstrap args %q, want %q", args, want)
			}
			if _, err := exec.Command(pluginBin, "validate-config", "--bin-dir", binDir, cfg).CombinedOutput(); err != nil {
				t.Errorf("the installed config and bin dir do not validate: %v", err)
			}
		})
	}
}
