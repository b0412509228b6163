package kubelet

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
)

// kubeletAccepts runs the kubelet's own config loading on path. The bin dir
// is empty, so a config that passes decoding and validation fails at the
// next step, the lookup of the first provider's executable, and nothing is
// ever registered (a second registration of a name would panic).
func kubeletAccepts(t *testing.T, path string) (bool, error) {
	t.Helper()
	err := plugin.RegisterCredentialProviderPlugins(path, t.TempDir(), nil, nil)
	if err == nil {
		t.Fatalf("the kubelet registered providers from %s with an empty bin dir", path)
	}
	msg := err.Error()
	return strings.Contains(msg, "plugin binary executable") || strings.Contains(msg, "error inspecting binary executable"), err
}

// ours runs `ocir-credential-provider validate-config path`.
func ours(t *testing.T, path string) (bool, string) {
	t.Helper()
	out, err := exec.Command(pluginBin, "validate-config", path).CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return err == nil, string(out)
}

func TestValidateConfigAgreesWithTheKubelet(t *testing.T) {
	root := filepath.Join("..", "..", "kubelet", "providerconfig", "testdata", "configs")
	type tc struct {
		path  string
		valid bool
	}
	var cases []tc
	for _, g := range []struct {
		glob  string
		valid bool
	}{
		{"valid/*", true}, {"valid-dir", true}, {"invalid/*", false}, {"invalid-dir-*", false},
	} {
		m, err := filepath.Glob(filepath.Join(root, g.glob))
		if err != nil || len(m) == 0 {
			t.Fatalf("no cases for %s", g.glob)
		}
		for _, p := range m {
			cases = append(cases, tc{p, g.valid})
		}
	}
	// Every shape of the `config` command's output.
	gen := t.TempDir()
	for i, args := range [][]string{
		{},
		{"--realm", "all"},
		{"--regions", "iad,us-phoenix-1,ap-tokyo-1"},
		{"--api-version", "v1alpha1", "--default-cache-duration", "1h"},
		{"--verify-pull", "--env", "OCI_CLI_AUTH=instance_principal", "--env", "NO_PROXY=169.254.169.254,.oraclecloud.com"},
		{"--service-account-audience", "ocir", "--required-annotation", "oci.oraclecloud.com/ocir-pull"},
	} {
		out, err := exec.Command(pluginBin, append([]string{"config"}, args...)...).Output()
		if err != nil {
			t.Fatalf("config %v: %v", args, err)
		}
		p := filepath.Join(gen, "generated-"+string(rune('a'+i))+".yaml")
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, tc{p, true})
	}

	for _, c := range cases {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			k, kerr := kubeletAccepts(t, c.path)
			o, oout := ours(t, c.path)
			if k != c.valid {
				t.Errorf("the kubelet says valid=%v, the table says %v: %v", k, c.valid, kerr)
			}
			if o != k {
				t.Errorf("validate-config says valid=%v, the kubelet %v\nkubelet: %v\nvalidate-config: %s", o, k, kerr, oout)
			}
		})
	}
}
