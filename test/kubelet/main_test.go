package kubelet

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// Each test owns one provider, one region and one cache directory, so the
// kubelet's in-memory cache and the plugin's disk cache of one test never
// answer for another (providers are registered once per process).
var providers = []Provider{
	{Name: "ocir-credential-provider", Region: "iad"},
	{Name: "ocir-cache", Region: "syd"},
	{Name: "ocir-v1beta1", Region: "phx", ConfigFlags: []string{"--api-version", "v1beta1"}},
	{Name: "ocir-parallel", Region: "fra"},
	{Name: "ocir-verify", Region: "lhr", ConfigFlags: []string{"--verify-pull"}},
	// Service-account mode: entries "ocir-sa-workload" (pods whose service
	// account is annotated, OKE workload identity) and "ocir-sa" (the rest).
	{Name: "ocir-sa", Region: "ams",
		ConfigFlags: []string{"--service-account-audience", "ocir", "--required-annotation", workloadAnnotation},
		Env: []string{
			"KUBERNETES_SERVICE_HOST=" + okeHost,
			"OCI_RESOURCE_PRINCIPAL_VERSION=2.2",
			"OCI_RESOURCE_PRINCIPAL_REGION=us-ashburn-1",
			"NO_PROXY=127.0.0.1,localhost," + okeHost,
			"OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH=" + OKECAPlaceholder,
		}},
	// A cluster outside OCI: the pods' service-account tokens are exchanged
	// at an identity domain (workload identity federation).
	{Name: "ocir-wif", Region: "zrh",
		ConfigFlags: []string{"--service-account-audience", emulator.WIFAudience},
		Env: []string{
			"OCI_CLI_AUTH=workload_identity_federation",
			"OCIR_WIF_DOMAIN_URL=" + WIFDomainPlaceholder,
			"OCIR_WIF_CLIENT_ID=" + WIFClientIDPlaceholder,
			"OCIR_WIF_CLIENT_SECRET_FILE=" + WIFSecretFilePlaceholder,
		}},
}

const (
	// okeHost serves the emulator's OKE proxymux; not 127.0.0.2, which the
	// root module's tests use, in case both run at once.
	okeHost            = "127.0.0.3"
	workloadAnnotation = "ocir-credential-provider/workload-identity"
)

var serviceAccounts = map[string]map[string]string{
	"team-a/app":      {workloadAnnotation: "true"},
	"team-b/plain":    {},
	"default/default": {},
}

var (
	h         *Harness
	pluginBin string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ocir-kubelet-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// $OCIR_PROVIDER_BIN, or a build from the root module.
	if pluginBin, err = ResolvePlugin(os.Getenv("OCIR_PROVIDER_BIN"), filepath.Join("..", ".."), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if h, err = Start(dir, pluginBin, providers, Options{OKEHost: okeHost, ServiceAccounts: serviceAccounts}); err != nil {
		fmt.Fprintln(os.Stderr, "test/kubelet:", err)
		return 1
	}
	defer h.Close()
	return m.Run()
}

func execs(t *testing.T, name string) int {
	t.Helper()
	n, err := h.Execs(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
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
