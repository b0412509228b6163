package pullcheck

// Pull checks against the strict OCI emulator, with a credential the core
// obtained for real (a signed token request the emulator verified).

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

type world struct {
	e    *emulator.Emulator
	home string
}

// startWorld starts an emulator and points the process environment at it,
// with nothing from the developer's machine leaking in.
func startWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	e, err := emulator.Start(emulator.Options{Dir: filepath.Join(dir, "emu")})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	w := &world{e: e, home: filepath.Join(dir, "home")}
	if err := os.MkdirAll(w.home, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"OCI_CLI_AUTH", "OCI_CLI_PROFILE", "OCI_CONFIG_FILE", "OCI_CLI_USER", "OCI_CLI_KEY_FILE",
		"OCI_CLI_KEY_CONTENT", "OCI_CLI_TENANCY", "OCI_CLI_FINGERPRINT", "OCI_RESOURCE_PRINCIPAL_VERSION",
		"OCI_RESOURCE_PRINCIPAL_RPST", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", "OCI_RESOURCE_PRINCIPAL_REGION",
		"KUBERNETES_SERVICE_HOST", "OCI_REGION_METADATA", "HTTP_PROXY", "http_proxy", "https_proxy", "no_proxy", "OCI_METADATA_BASE_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", w.home)
	for _, kv := range e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "OCI_METADATA_BASE_URL" {
			continue
		}
		t.Setenv(k, v)
	}
	return w
}

func (w *world) provider() Provider {
	return Provider{ocir.New(ocir.WithCacheDir(""), ocir.WithTimeout(10*time.Second))}
}

func mustCredential(t *testing.T, p Provider, serverURL string) ocir.Credential {
	t.Helper()
	c, err := p.Credential(context.Background(), serverURL)
	if err != nil || c.Secret == "" {
		t.Fatalf("Credential(%s) = %+v, %v", serverURL, c, err)
	}
	return c
}

func TestCheckPull(t *testing.T) {
	w := startWorld(t)
	w.e.DenyRepo("demotenancy/nopolicy")
	p := w.provider()
	c := mustCredential(t, p, "iad.ocir.io")
	if r := p.CheckPull(context.Background(), c, "demotenancy/hello"); !r.Allowed || r.Anonymous || r.Tags == 0 {
		t.Errorf("private repo: %+v", r)
	}
	if r := p.CheckPull(context.Background(), c, "public/hello"); !r.Allowed {
		t.Errorf("public repo: %+v", r)
	}
	if r := p.CheckPull(context.Background(), c, "demotenancy/nopolicy"); r.Allowed || !r.Denied || r.Status != 403 {
		t.Errorf("repo without policy: %+v", r)
	}
	bad := c
	bad.Secret = "forged"
	if r := p.CheckPull(context.Background(), bad, "demotenancy/hello"); r.Allowed || !r.Denied {
		t.Errorf("forged token: %+v", r)
	}
}

func TestParseChallenge(t *testing.T) {
	s, p := parseChallenge(`Bearer realm="https://iad.ocir.io/20180419/docker/token",service="iad.ocir.io",scope="repository:a/b:pull,push"`)
	if s != "bearer" || p["realm"] != "https://iad.ocir.io/20180419/docker/token" || p["service"] != "iad.ocir.io" || p["scope"] != "repository:a/b:pull,push" {
		t.Errorf("%s %v", s, p)
	}
	for _, h := range []string{"", "Basic", `Bearer realm="unterminated`, "Bearer a=b,c", "Bearer ,,,="} {
		parseChallenge(h) // must not panic
	}
}
