package e2e

// The hardening defects (issue 11) as they showed in the built binaries:
// each class is a table run through docker-credential-ocir or
// ocir-credential-provider exactly as docker and the kubelet exec them.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

const notFound = "credentials not found in native keychain"

var sdkLogLine = regexp.MustCompile(`(?m)^(DEBUG|VERBOSE|INFO) \d{4}/\d\d/\d\d .*$`)

var (
	pluginOnce sync.Once
	pluginErr  error
)

// pluginBin builds ocir-credential-provider next to the helper, once.
func pluginBin(t *testing.T) string {
	t.Helper()
	path := filepath.Join(binDir, "ocir-credential-provider")
	pluginOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", path,
			"github.com/ocir-credential-helper/ocir-credential-helper/cmd/ocir-credential-provider").CombinedOutput()
		if err != nil {
			pluginErr = fmt.Errorf("build plugin: %v\n%s", err, out)
		}
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return path
}

func pluginRequest(image string) string {
	return `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"` + image + `"}` + "\n"
}

// Look-alike hosts get "not found" and nothing is signed or sent.
func TestBinaryGivesNoTokenToLookAlikeHosts(t *testing.T) {
	h := newHarness(t, apiKey)
	for _, in := range []string{
		"\u0130ad.ocir.io", "https://\u0130ad.ocir.io/v2/", "ocir.us-ashburn-1.oci.oraclecloud.com\u212a",
		"\u212aix.ocir.io", "iad.ocir.io.\u017f", "\uff49\uff41\uff44.ocir.io", "i\u0430d.ocir.io", "iad\u200d.ocir.io",
		"https://%69ad.ocir.io", "iad.ocir.io\x00", "iad.ocir.io/\u0130",
	} {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			out, errOut, err := h.helperStdin(in, "get")
			if exitCodeOf(err) != 1 || strings.TrimSpace(out) != notFound {
				t.Errorf("get %q: exit %d stdout %q stderr %q", in, exitCodeOf(err), out, errOut)
			}
		})
	}
	for _, image := range []string{"\u0130ad.ocir.io/ns/app", "ocir.us-ashburn-1.oci.oraclecloud.com\u212a/ns/app"} {
		t.Run("plugin "+image, func(t *testing.T) {
			out, errOut, err := h.runStdin(pluginRequest(image), pluginBin(t))
			if exitCodeOf(err) != 1 || out != "" {
				t.Errorf("plugin %q: exit %d stdout %q stderr %q", image, exitCodeOf(err), out, errOut)
			}
		})
	}
	if n := h.emu.Count("token-attempts"); n != 0 {
		t.Errorf("%d signed token requests were sent", n)
	}
}

// The SDK's debug switch never makes either binary print a secret.
func TestBinaryNeverPrintsSecretsWhateverOCIGoSDKDebugSays(t *testing.T) {
	for _, level := range []string{"debug", "verbose", "info", "1"} {
		t.Run(level, func(t *testing.T) {
			h := newHarness(t, instancePrincipal)
			h.env["OCI_GO_SDK_DEBUG"] = level
			h.env["OCI_CLI_AUTH"] = "instance_principal"
			out, errOut, err := h.helperStdin(hostShort, "get")
			if err != nil {
				t.Fatalf("get: %v\n%s\n%s", err, out, errOut)
			}
			var cred struct{ Secret string }
			if json.Unmarshal([]byte(out), &cred) != nil || cred.Secret == "" {
				t.Fatalf("stdout %q", out)
			}
			// A failing lookup, whose stderr the kubelet logs.
			h.emu.AddFault(emulator.Fault{Endpoint: "token", Status: 401})
			pout, perr, _ := h.runStdin(pluginRequest("fra.ocir.io/ns/app"), pluginBin(t), "--cache-dir", filepath.Join(h.dir, "plugin-cache"))
			all := errOut + perr + pout + h.helperLog()
			for _, secret := range []string{"PRIVATE KEY", "BEGIN ", cred.Secret, "ST$", "eyJ"} {
				if strings.Contains(all, secret) {
					t.Errorf("%q printed with OCI_GO_SDK_DEBUG=%s", secret, level)
				}
			}
			// The SDK's logger writes "DEBUG 2026/12/03 …" lines.
			if m := sdkLogLine.FindString(errOut + perr); m != "" {
				t.Errorf("the SDK's own logger printed %q with OCI_GO_SDK_DEBUG=%s", m, level)
			}
		})
	}
}

// A burst of processes while the token endpoint is slow but alive: one
// signed request, every process answered as soon as the token is stored.
func TestBinaryBurstMakesOneTokenRequestWhenTheEndpointIsSlow(t *testing.T) {
	h := newHarness(t, apiKey)
	h.env["OCIR_TIMEOUT"] = "10s"
	// Slower than half the budget: the old waiters gave up the lock there
	// and each sent its own request.
	h.emu.AddFault(emulator.Fault{Endpoint: "token", Delay: 6 * time.Second, Count: 1})
	const n = 8
	var wg sync.WaitGroup
	type result struct {
		out, errOut string
		err         error
		took        time.Duration
	}
	res := make([]result, n)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, err := h.helperStdin(hostShort, "get")
			res[i] = result{out, errOut, err, time.Since(start)}
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.err != nil || !strings.Contains(r.out, `"Secret"`) {
			t.Errorf("process %d: %v\n%s\n%s", i, r.err, r.out, r.errOut)
		}
		if r.took >= 10*time.Second {
			t.Errorf("process %d answered after %s, at its deadline", i, r.took)
		}
	}
	if got := h.emu.Count("token-attempts"); got != 1 {
		t.Errorf("signed token requests = %d, want 1", got)
	}
}

// Permanent network errors fail at once, with a hint, instead of being
// retried for the whole deadline.
func TestBinaryPermanentNetworkErrorsFailAtOnce(t *testing.T) {
	tests := []struct {
		name string
		env  func(h *harness) map[string]string
		want string
	}{
		{"unknown CA", func(h *harness) map[string]string {
			return map[string]string{"SSL_CERT_FILE": h.emu.OKECAFile(), "OCI_DEFAULT_CERTS_PATH": h.emu.OKECAFile()}
		}, "SSL_CERT_FILE"},
		{"proxy refuses connections", func(h *harness) map[string]string {
			return map[string]string{"HTTPS_PROXY": "http://127.0.0.1:1"}
		}, "HTTPS_PROXY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, apiKey)
			h.env["OCIR_TIMEOUT"] = "30s"
			for k, v := range tt.env(h) {
				h.env[k] = v
			}
			start := time.Now()
			_, errOut, err := h.helperStdin(hostShort, "get")
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s: retried a permanent error", took)
			}
			if exitCodeOf(err) != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d stderr %q", exitCodeOf(err), errOut)
			}
		})
	}
}

// A planted cache entry with an absurd lifetime is not served, and the
// kubelet is never told to cache for years.
func TestBinaryDoesNotTrustImplausibleCacheEntries(t *testing.T) {
	h := newHarness(t, apiKey)
	cacheDir := filepath.Join(h.dir, "plugin-cache")
	// A real lookup creates the entry; then its lifetime is stretched.
	out, errOut, err := h.runStdin(pluginRequest(hostShort+"/ns/app"), pluginBin(t), "--cache-dir", cacheDir)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	files, _ := filepath.Glob(filepath.Join(cacheDir, hostShort+"-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	var entry map[string]any
	json.Unmarshal(raw, &entry)
	entry["token"] = "planted"
	entry["expiresAt"] = "2099-01-01T00:00:00Z"
	raw, _ = json.Marshal(entry)
	os.WriteFile(files[0], raw, 0o600)

	out, errOut, err = h.runStdin(pluginRequest(hostShort+"/ns/app"), pluginBin(t), "--cache-dir", cacheDir)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var resp struct {
		CacheDuration string `json:"cacheDuration"`
		Auth          map[string]struct{ Password string }
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Auth[hostShort].Password == "planted" {
		t.Error("the planted entry was served")
	}
	if d, err := time.ParseDuration(resp.CacheDuration); err != nil || d > time.Hour {
		t.Errorf("cacheDuration %q", resp.CacheDuration)
	}
}

// config --realm/--regions accept what OCI_REGION_METADATA describes, as the
// lookups do.
func TestBinaryConfigAcceptsDescribedRealmsAndRegions(t *testing.T) {
	h := newHarness(t, apiKey)
	h.env["OCI_REGION_METADATA"] = `{"realmKey":"oc77","realmDomainComponent":"alloy.example.com","regionKey":"aaa","regionIdentifier":"xx-alloy-1"}`
	for _, args := range [][]string{{"--realm", "oc77"}, {"--regions", "xx-alloy-1"}, {"--regions", "aaa"}} {
		out, errOut, err := h.run(pluginBin(t), append([]string{"config"}, args...)...)
		if err != nil || !strings.Contains(out, "alloy.example.com") {
			t.Errorf("config %v: %v\n%s\n%s", args, err, out, errOut)
		}
	}
	// And a description may not take over a built-in region.
	h.env["OCI_REGION_METADATA"] = `{"realmKey":"oc1","realmDomainComponent":"evil.example","regionKey":"iad","regionIdentifier":"evil-1"}`
	if _, errOut, err := h.helperStdin(hostShort, "get"); err == nil && strings.Contains(errOut, "evil") {
		t.Errorf("built-in region replaced: %s", errOut)
	}
}
