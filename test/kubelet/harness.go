package kubelet

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// Provider is one provider entry the harness registers with the kubelet's
// plugin code: a name (the executable's name in the bin dir), the region
// whose registry hosts it matches, and further `config` flags.
type Provider struct {
	Name, Region string
	ConfigFlags  []string
	Env          []string // extra NAME=VALUE for the plugin, after the emulator's
}

// OKECAPlaceholder in a Provider's Env value stands for the emulator's OKE
// proxymux CA file, which exists only once the emulator runs.
const OKECAPlaceholder = "{{OKE_CA}}"

// Placeholders in a Provider's Env value for the emulator's identity domain
// (workload identity federation), known only once the emulator runs.
const (
	WIFDomainPlaceholder     = "{{WIF_DOMAIN}}"
	WIFClientIDPlaceholder   = "{{WIF_CLIENT_ID}}"
	WIFSecretFilePlaceholder = "{{WIF_SECRET_FILE}}"
)

// Options adjusts Start.
type Options struct {
	// OKEHost is a loopback IP for the emulator's OKE workload-identity
	// proxymux (fixed port 12250); empty means none.
	OKEHost string
	// ServiceAccounts are the service accounts the kubelet can look up, by
	// "namespace/name", with their annotations (service-account mode).
	ServiceAccounts map[string]map[string]string
}

// Harness is a kubelet's credential-provider machinery wired to the real
// ocir-credential-provider binary and a running OCI emulator.
type Harness struct {
	Emulator *emulator.Emulator
	Plugin   string // the real binary
	BinDir   string // --image-credential-provider-bin-dir
	Config   string // --image-credential-provider-config (a directory)
	dir      string
	logDir   string
}

// registerOnce guards the kubelet's process-wide provider registry, which
// panics when a name is registered twice.
var registerOnce sync.Once

// Start starts the emulator, installs each provider into a bin dir (as a
// wrapper that logs every exec, then execs pluginBin), writes each
// provider's config with the plugin's own `config` command into a config
// directory, and registers them with plugin.RegisterCredentialProviderPlugins.
//
// Like a kubelet under systemd, the process is left with an almost empty
// environment, so the plugin only sees what the provider config's env list
// gives it. Start may be called once per process.
func Start(dir, pluginBin string, providers []Provider, opts Options) (*Harness, error) {
	h := &Harness{Plugin: pluginBin, dir: dir,
		BinDir: filepath.Join(dir, "bin"), Config: filepath.Join(dir, "credential-providers"), logDir: filepath.Join(dir, "log")}
	for _, d := range []string{h.BinDir, h.Config, h.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	var err error
	if h.Emulator, err = emulator.Start(emulator.Options{Dir: filepath.Join(dir, "emulator"), OKEHost: opts.OKEHost}); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	for i, p := range providers {
		if err := h.install(i, p); err != nil {
			h.Close()
			return nil, err
		}
	}
	path := os.Getenv("PATH")
	os.Clearenv()
	_ = os.Setenv("PATH", path)

	err = errors.New("the kubelet's providers are already registered in this process")
	registerOnce.Do(func() {
		err = plugin.RegisterCredentialProviderPlugins(h.Config, h.BinDir, h.serviceAccountToken, serviceAccountGetter(opts.ServiceAccounts))
	})
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("the kubelet refused the generated config: %w", err)
	}
	return h, nil
}

// Close stops the emulator.
func (h *Harness) Close() {
	if h.Emulator != nil {
		_ = h.Emulator.Close()
	}
}

// serviceAccountToken stands in for the API server's TokenRequest: a
// service-account JWT for the requested audiences, which the emulator's OKE
// proxymux accepts and its identity domain trusts (for WIFAudience).
func (h *Harness) serviceAccountToken(namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	out := tr.DeepCopy()
	out.Status.Token = h.Emulator.NewServiceAccountTokenFor(namespace, name, tr.Spec.Audiences, time.Hour)
	out.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Hour))
	return out, nil
}

func serviceAccountGetter(accounts map[string]map[string]string) plugin.GetServiceAccountFunc {
	return func(namespace, name string) (*corev1.ServiceAccount, error) {
		ann, ok := accounts[namespace+"/"+name]
		if !ok {
			return nil, fmt.Errorf("serviceaccount %s/%s not found", namespace, name)
		}
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name, UID: types.UID("uid-" + namespace + "-" + name), Annotations: ann,
		}}, nil
	}
}

func (h *Harness) install(i int, p Provider) error {
	// The wrapper keeps a copy of each response when asked to, so tests can
	// see what the kubelet was told (cacheDuration) and not only what it
	// made of it.
	wrapper := `#!/bin/sh
log="$OCIR_TEST_LOG_DIR/$(basename "$0")"
printf 'exec\n' >>"$log"
out=$("$OCIR_TEST_PLUGIN" "$@")
rc=$?
printf '%s\n' "$out" >>"$log.responses"
[ -z "$out" ] || printf '%s\n' "$out"
exit $rc
`
	args := append([]string{"config", "--name", p.Name, "--regions", p.Region}, p.ConfigFlags...)
	env := append(h.Emulator.Env(),
		"OCIR_CACHE_DIR="+filepath.Join(h.dir, "cache", p.Name),
		"OCIR_TEST_LOG_DIR="+h.logDir,
		"OCIR_TEST_PLUGIN="+h.Plugin,
		"OCIR_LOG_LEVEL=debug",
	)
	wif := h.Emulator.WIF()
	placeholders := strings.NewReplacer(OKECAPlaceholder, h.Emulator.OKECAFile(),
		WIFDomainPlaceholder, wif.DomainURL, WIFClientIDPlaceholder, wif.ClientID, WIFSecretFilePlaceholder, wif.SecretFile)
	for _, kv := range append(env, p.Env...) {
		args = append(args, "--env", placeholders.Replace(kv))
	}
	config, err := h.plugin(args...)
	if err != nil {
		return err
	}
	path := filepath.Join(h.Config, fmt.Sprintf("%02d-%s.yaml", i, p.Name))
	if err := os.WriteFile(path, config, 0o644); err != nil {
		return err
	}
	// One executable per provider entry (service-account mode has two).
	names, err := h.plugin("validate-config", "--names", path)
	if err != nil {
		return err
	}
	for _, n := range strings.Fields(string(names)) {
		if err := os.WriteFile(filepath.Join(h.BinDir, n), []byte(wrapper), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (h *Harness) plugin(args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(h.Plugin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", h.Plugin, args[0], err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// Execs is how often the kubelet has run the named provider.
func (h *Harness) Execs(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(h.logDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return strings.Count(string(b), "exec\n"), err
}

// Responses returns every response the named provider gave, one per line.
func (h *Harness) Responses(name string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(h.logDir, name+".responses"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n"), err
}

// Lookup is what the kubelet does before a pull: a keyring for the pod, then
// Lookup of the image (no tag). It returns the first credential found.
func Lookup(image string) (username, password string, found bool) {
	creds := LookupAs("default", "default", image)
	if len(creds) == 0 {
		return "", "", false
	}
	return creds[0].Username, creds[0].Password, true
}

// Credential is one username/password pair the kubelet would try.
type Credential struct{ Username, Password string }

// LookupAs looks image up for a pod of namespace running as serviceAccount
// and returns every credential the kubelet would try, in its order.
func LookupAs(namespace, serviceAccount, image string) []Credential {
	keyring := plugin.NewExternalCredentialProviderDockerKeyring(namespace, "pod", "uid-"+namespace, serviceAccount)
	creds, ok := keyring.Lookup(image)
	if !ok {
		return nil
	}
	out := make([]Credential, 0, len(creds))
	for _, c := range creds {
		out = append(out, Credential{c.Username, c.Password})
	}
	return out
}

// ResolvePlugin returns the plugin binary to test: bin made absolute when
// it is set, else a build of ocir-credential-provider from the module at
// root (not from this module, whose dependency versions follow the kubelet
// under test) into dir.
func ResolvePlugin(bin, root, dir string) (string, error) {
	if bin != "" {
		return filepath.Abs(bin)
	}
	return BuildPlugin(root, dir)
}

// BuildPlugin builds ocir-credential-provider from the module at root into
// dir and returns its path.
func BuildPlugin(root, dir string) (string, error) {
	out := filepath.Join(dir, "ocir-credential-provider")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/ocir-credential-provider")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ocir-credential-provider: %v\n%s", err, b)
	}
	return out, nil
}
