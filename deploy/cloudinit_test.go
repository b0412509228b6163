package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOKECloudInit runs the node-pool script with a file:// "release" and a
// fake OKE bootstrap script served as the metadata service would (base64).
func TestOKECloudInit(t *testing.T) {
	script, err := os.ReadFile("cloud-init/oke-node-pool.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		badSum  bool
		flags   string
		wantErr bool
	}{
		{name: "checksum matches"},
		{name: "service-account mode", flags: "--service-account-audience ocir"},
		{name: "checksum mismatch", badSum: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newNodePoolRun(t)
			sum := r.sum
			if tc.badSum {
				sum = strings.Repeat("0", 64)
			}
			binDir, cfg := filepath.Join(r.dir, "node/usr/local/lib/ocir-credential-provider"), filepath.Join(r.dir, "node/etc/kubernetes/ocir-credential-provider.yaml")
			out, err := r.run(string(script), "RELEASE_URL=file://"+r.release, "SHA256_AMD64="+sum, "SHA256_ARM64="+sum,
				"CONFIG_FLAGS="+tc.flags, "BIN_DIR="+binDir, "CONFIG_FILE="+cfg)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("succeeded with a wrong checksum:\n%s", out)
				}
				if _, err := os.Stat(filepath.Join(binDir, "ocir-credential-provider")); err == nil {
					t.Error("installed a binary whose checksum did not match")
				}
				if _, err := os.Stat(r.argsFile); err == nil {
					t.Error("ran the OKE bootstrap after a failed download")
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			args, err := os.ReadFile(r.argsFile)
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
