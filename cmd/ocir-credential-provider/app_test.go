package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

// runApp runs the command line with a private environment and returns
// the exit status, stdout and stderr.
func runApp(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	return runAppServing(t, nil, stdin, env, args...)
}

// runAppServing is runApp with the plugin's answer replaced by serve (nil:
// the real one).
func runAppServing(t *testing.T, serve func(context.Context, env, config.Settings, bool) error, stdin string, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return vars[k] }
	code := run(context.Background(), append([]string{name}, args...),
		env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: getenv, serve: serve})
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
		code  int
	}{
		{"empty stdin", "", base, nil, "no CredentialProviderRequest", 1},
		{"malformed request", "{", base, nil, "invalid CredentialProviderRequest", 1},
		{"non-OCIR image", req, base, nil, "not an OCIR registry host", 1},
		{"unknown flag", req, base, []string{"--bogus"}, "flag provided but not defined", 2},
		{"unknown command", req, base, []string{"bogus"}, "unknown command", 2},
		{"bad OCIR_TIMEOUT", req, with("OCIR_TIMEOUT", "soon"), nil, "OCIR_TIMEOUT", 1},
		{"bad --timeout", req, base, []string{"--timeout", "-1s"}, "--timeout", 1},
		{"bad OCIR_VERIFY_PULL", req, with("OCIR_VERIFY_PULL", "maybe"), nil, "OCIR_VERIFY_PULL", 1},
		{"bad --log-level", req, base, []string{"--log-level", "loud"}, "--log-level", 1},
		{"missing explicit config", req, with("OCIR_CONFIG", filepath.Join(home, "nope.yaml")), nil, "nope.yaml", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runApp(t, tc.stdin, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
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
	} {
		code, out, errOut := runApp(t, "", nil, args...)
		if code != 1 || out != "" || errOut == "" {
			t.Errorf("%v: exit %d stdout %q stderr %q", args, code, out, errOut)
		}
	}
}

// TestUsageErrorsGoToStderrWithStatus2: a bad command line, in any
// command, is reported on stderr with exit status 2; nothing (no help, no
// partial output) reaches stdout.
func TestUsageErrorsGoToStderrWithStatus2(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"--timeout"}, "flag needs an argument"},
		{[]string{"config", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"config", "--realm"}, "flag needs an argument: -realm"},
		{[]string{"config", "--default-cache-duration", "soon"}, "invalid value"},
		{[]string{"config", "--verify-pull=maybe"}, "invalid boolean value"},
		{[]string{"config", "extra"}, "config takes no arguments"},
		{[]string{"config", "--service-account-audience="}, "--service-account-audience must not be empty"},
		{[]string{"config", "--service-account-name", "w"}, "--service-account-name applies to the service-account provider: give --service-account-audience too"},
		{[]string{"config", "--required-annotation", "a/b"}, "--required-annotation applies to the service-account provider"},
		{[]string{"validate-config", "--bogus", "x.yaml"}, "flag provided but not defined: -bogus"},
		{[]string{"validate-config"}, "needs exactly one FILE or DIR"},
		{[]string{"validate-config", "a.yaml", "b.yaml"}, "needs exactly one FILE or DIR"},
		{[]string{"version", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"help", "bogus"}, "No help topic"},
	} {
		code, out, errOut := runApp(t, "", nil, tc.args...)
		if code != 2 || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing", tc.args, code, out)
		}
		if !strings.HasPrefix(errOut, "ocir-credential-provider: ") || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "USAGE:") {
			t.Errorf("%q: stderr %q, want one line saying %q", tc.args, errOut, tc.want)
		}
	}
}

// TestPluginCacheDir: the plugin caches tokens in the node-wide
// config.SystemCacheDir whatever HOME or XDG_CACHE_HOME say; only
// --cache-dir and OCIR_CACHE_DIR move it. (Tested here, without a lookup:
// the real default is a system directory a test must not write to.)
func TestPluginCacheDir(t *testing.T) {
	var got string
	serve := func(_ context.Context, _ env, s config.Settings, _ bool) error {
		got = s.CacheDir
		return nil
	}
	home := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no environment", nil, nil, config.SystemCacheDir},
		{"HOME set", map[string]string{"HOME": home}, nil, config.SystemCacheDir},
		{"HOME and XDG_CACHE_HOME set", map[string]string{"HOME": home, "XDG_CACHE_HOME": filepath.Join(home, "xdg")}, nil, config.SystemCacheDir},
		{"OCIR_CACHE_DIR", map[string]string{"HOME": home, "OCIR_CACHE_DIR": "/run/ocir"}, nil, "/run/ocir"},
		{"--cache-dir", map[string]string{"HOME": home}, []string{"--cache-dir", "/srv/ocir"}, "/srv/ocir"},
		{"--cache-dir wins over OCIR_CACHE_DIR", map[string]string{"OCIR_CACHE_DIR": "/run/ocir"}, []string{"--cache-dir", "/srv/ocir"}, "/srv/ocir"},
	} {
		got = "<not run>"
		code, _, errOut := runAppServing(t, serve, "", tc.env, tc.args...)
		if code != 0 || got != tc.want {
			t.Errorf("%s: exit %d %s; cache dir %q, want %q", tc.name, code, errOut, got, tc.want)
		}
	}
	// The settings default the plugin overrides is the user's cache dir.
	if d := config.DefaultCacheDir(func(k string) string { return map[string]string{"HOME": home}[k] }); d == config.SystemCacheDir {
		t.Errorf("config.DefaultCacheDir with a HOME is %q; this test no longer proves anything", d)
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
	if code, _, _ := runApp(t, "", nil, "validate-config"); code != 2 {
		t.Errorf("validate-config without a path: exit %d, want 2", code)
	}
}
