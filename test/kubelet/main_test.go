package kubelet

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/kubernetes/pkg/credentialprovider/plugin"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// Providers registered once for the whole process (the kubelet panics on a
// second registration of a name). Each test owns one provider, one region
// and one cache directory, so the kubelet's in-memory cache and the plugin's
// disk cache of one test never answer for another.
var providers = []struct {
	name, region string
	extra        []string // further `config` flags
}{
	{name: "ocir-credential-provider", region: "iad"},
	{name: "ocir-cache", region: "syd"},
	{name: "ocir-v1beta1", region: "phx", extra: []string{"--api-version", "v1beta1"}},
	{name: "ocir-parallel", region: "fra"},
	{name: "ocir-verify", region: "lhr", extra: []string{"--verify-pull"}},
}

var (
	emu        *emulator.Emulator
	pluginBin  string // the real ocir-credential-provider binary
	binDir     string // the kubelet's --image-credential-provider-bin-dir
	configDir  string // the kubelet's --image-credential-provider-config (a directory, 1.34+)
	logDir     string // one exec log per provider, written by the wrapper
	workDir    string
	registered bool
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/kubelet setup:", err)
		code = 1
	}
	if emu != nil {
		_ = emu.Close()
	}
	if workDir != "" {
		_ = os.RemoveAll(workDir)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	var err error
	if workDir, err = os.MkdirTemp("", "ocir-kubelet-test-"); err != nil {
		return 1, err
	}
	if pluginBin, err = providerBinary(workDir); err != nil {
		return 1, err
	}
	if emu, err = emulator.Start(emulator.Options{Dir: filepath.Join(workDir, "emulator")}); err != nil {
		return 1, fmt.Errorf("start emulator: %w", err)
	}
	binDir = filepath.Join(workDir, "bin")
	configDir = filepath.Join(workDir, "credential-providers")
	logDir = filepath.Join(workDir, "log")
	for _, d := range []string{binDir, configDir, logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 1, err
		}
	}
	for i, p := range providers {
		if err := installProvider(i, p.name, p.region, p.extra); err != nil {
			return 1, err
		}
	}

	// The kubelet runs under systemd with an almost empty environment and
	// hands it on to the plugin; everything the plugin needs must come from
	// the provider config's env list, as on a real node.
	os.Clearenv()
	_ = os.Setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")

	if err := plugin.RegisterCredentialProviderPlugins(configDir, binDir, nil, nil); err != nil {
		return 1, fmt.Errorf("the kubelet refused the generated config: %w", err)
	}
	registered = true
	return m.Run(), nil
}

// providerBinary returns $OCIR_PROVIDER_BIN, or builds the plugin from the
// root module (not from this module, whose dependency versions follow the
// kubelet under test).
func providerBinary(dir string) (string, error) {
	if p := os.Getenv("OCIR_PROVIDER_BIN"); p != "" {
		return filepath.Abs(p)
	}
	out := filepath.Join(dir, "ocir-credential-provider")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/ocir-credential-provider")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ocir-credential-provider: %v\n%s", err, b)
	}
	return out, nil
}

// installProvider puts an executable named after the provider into the bin
// dir and writes its config with the plugin's own `config` command. The
// executable is a wrapper that logs each exec before exec'ing the real
// binary, so tests can count how often the kubelet ran the plugin.
func installProvider(i int, name, region string, extra []string) error {
	wrapper := "#!/bin/sh\n" +
		"printf 'exec\\n' >>\"$OCIR_TEST_EXEC_LOG\"\n" +
		"exec \"$OCIR_TEST_PLUGIN\" \"$@\"\n"
	if err := os.WriteFile(filepath.Join(binDir, name), []byte(wrapper), 0o755); err != nil {
		return err
	}
	args := []string{"config", "--name", name, "--regions", region}
	args = append(args, extra...)
	env := append(emu.Env(),
		"OCIR_CACHE_DIR="+filepath.Join(workDir, "cache", name),
		"OCIR_TEST_EXEC_LOG="+filepath.Join(logDir, name),
		"OCIR_TEST_PLUGIN="+pluginBin,
		"OCIR_LOG_LEVEL=debug",
	)
	for _, kv := range env {
		args = append(args, "--env", kv)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(pluginBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s config: %v: %s", pluginBin, err, stderr.String())
	}
	return os.WriteFile(filepath.Join(configDir, fmt.Sprintf("%02d-%s.yaml", i, name)), stdout.Bytes(), 0o644)
}

// execs is how often the kubelet has run the named provider.
func execs(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(logDir, name))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "exec\n")
}

// lookup is what the kubelet does before a pull: a keyring for the pod, then
// Lookup of the image (no tag).
func lookup(image string) (username, password string, found bool) {
	keyring := plugin.NewExternalCredentialProviderDockerKeyring("default", "pod", "uid-1", "default")
	creds, ok := keyring.Lookup(image)
	if !ok || len(creds) == 0 {
		return "", "", false
	}
	return creds[0].Username, creds[0].Password, true
}

// withDeadline fails the test instead of hanging CI when something blocks.
func withDeadline(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %s", d)
	}
}
