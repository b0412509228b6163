package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runApp runs the command line with a private environment and returns
// the exit status, stdout and stderr.
func runApp(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := run(context.Background(), append([]string{name}, args...), strings.NewReader(stdin), &stdout, &stderr, getenv)
	return code, stdout.String(), stderr.String()
}

func TestVersionEverySpelling(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"-v"}, {"--version"}} {
		code, out, errOut := runApp(t, "", nil, args...)
		if code != 0 || !strings.HasPrefix(out, "ocir-credential-provider (github.com/ocir-credential-helper/ocir-credential-helper) ") || errOut != "" {
			t.Errorf("%v: code %d stdout %q stderr %q", args, code, out, errOut)
		}
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	code, out, _ := runApp(t, "", nil, "--help")
	for _, w := range []string{"config", "validate-config", "--verify-pull", "$OCIR_TIMEOUT", "$OCIR_CACHE_DIR", "$OCIR_LOG_LEVEL", "$OCIR_VERIFY_PULL"} {
		if !strings.Contains(out, w) {
			t.Errorf("help lacks %q", w)
		}
	}
	if code != 0 {
		t.Errorf("code %d", code)
	}
}

func TestPluginModeFailuresLeaveStdoutEmpty(t *testing.T) {
	home := t.TempDir()
	base := map[string]string{"HOME": home, "OCIR_CACHE_DIR": filepath.Join(home, "cache"), "OCIR_CONFIG": ""}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	req := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"docker.io/library/nginx"}`
	for _, tc := range []struct {
		name  string
		stdin string
		env   map[string]string
		args  []string
		want  string
	}{
		{"empty stdin", "", base, nil, "no CredentialProviderRequest"},
		{"malformed request", "{", base, nil, "invalid CredentialProviderRequest"},
		{"non-OCIR image", req, base, nil, "not an OCIR image"},
		{"unknown flag", req, base, []string{"--bogus"}, "flag provided but not defined"},
		{"unknown command", req, base, []string{"bogus"}, "unknown command"},
		{"bad OCIR_TIMEOUT", req, with("OCIR_TIMEOUT", "soon"), nil, "OCIR_TIMEOUT"},
		{"bad --timeout", req, base, []string{"--timeout", "-1s"}, "--timeout"},
		{"bad OCIR_VERIFY_PULL", req, with("OCIR_VERIFY_PULL", "maybe"), nil, "OCIR_VERIFY_PULL"},
		{"bad --log-level", req, base, []string{"--log-level", "loud"}, "--log-level"},
		{"missing explicit config", req, with("OCIR_CONFIG", filepath.Join(home, "nope.yaml")), nil, "nope.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runApp(t, tc.stdin, tc.env, tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want empty", out)
			}
			if !strings.Contains(errOut, tc.want) || !strings.HasPrefix(errOut, "ocir-credential-provider: ") {
				t.Errorf("stderr %q does not say %q", errOut, tc.want)
			}
		})
	}
}

func TestConfigOutputPassesValidateConfig(t *testing.T) {
	dir := t.TempDir()
	for i, args := range [][]string{
		{"config"},
		{"config", "--realm", "oc1,oc4", "--verify-pull", "--env", "OCI_CLI_AUTH=instance_principal", "--env", "NO_PROXY=169.254.169.254,.example"},
		{"config", "--regions", "iad", "--api-version", "v1beta1", "--name", "ocir", "--default-cache-duration", "1h"},
		{"config", "--service-account-audience", "ocir", "--required-annotation", "oci.oraclecloud.com/ocir-pull"},
	} {
		code, out, errOut := runApp(t, "", nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		path := filepath.Join(dir, strings.Repeat("c", i+1)+".yaml")
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		code, vout, verr := runApp(t, "", nil, "validate-config", path)
		if code != 0 || !strings.Contains(vout, "valid") {
			t.Errorf("%v: validate-config exit %d: %s %s\n%s", args, code, vout, verr, out)
		}
	}
	// And the directory holding them all is rejected: the names repeat.
	if code, _, errOut := runApp(t, "", nil, "validate-config", dir); code != 1 || !strings.Contains(errOut, "duplicate provider name") {
		t.Errorf("directory with duplicate names: exit %d %s", code, errOut)
	}
}

func TestConfigRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"config", "--realm", "oc999"},
		{"config", "--realm", "oc1", "--regions", "iad"},
		{"config", "--name", "a/b"},
		{"config", "--env", "NOVALUE"},
		{"config", "--default-cache-duration", "-1m"},
		{"config", "extra"},
	} {
		code, out, errOut := runApp(t, "", nil, args...)
		if code != 1 || out != "" || errOut == "" {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, out, errOut)
		}
	}
}

func TestValidateConfigReportsEveryProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n" +
		"  - name: a/b\n    matchImages: []\n    defaultCacheDuration: -1m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n"
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runApp(t, "", nil, "validate-config", path)
	if code != 1 || out != "" {
		t.Errorf("exit %d stdout %q", code, out)
	}
	for _, w := range []string{"cannot contain '/'", "matchImages", "greater than or equal to 0", "kubelet would not start"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if code, _, _ := runApp(t, "", nil, "validate-config"); code != 1 {
		t.Error("validate-config without a path succeeded")
	}
}
