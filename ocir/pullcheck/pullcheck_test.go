package pullcheck

// Pull checks against the strict OCI emulator, with a credential the core
// obtained for real (a signed token request the emulator verified).

import (
	"context"
	"maps"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

// provider starts an emulator and returns a Checker whose environment
// (read only through getenv) points at it.
func provider(t *testing.T) (*emulator.Emulator, Checker) {
	t.Helper()
	e, dir := emulatortest.Start(t)
	env := map[string]string{"HOME": dir, "OCIR_CACHE": "false"}
	maps.Copy(env, e.EnvMap())
	p, err := ocir.NewFromEnv(func(k string) string { return env[k] }, ocir.WithProxy(e.Proxy))
	if err != nil {
		t.Fatal(err)
	}
	return e, Checker{p}
}

func mustCredential(t *testing.T, p Checker, serverURL string) ocir.Credential {
	t.Helper()
	c, err := p.Credential(context.Background(), serverURL)
	if err != nil || c.Secret == "" {
		t.Fatalf("Credential(%s) = %+v, %v", serverURL, c, err)
	}
	return c
}

func TestCheckPull(t *testing.T) {
	e, p := provider(t)
	e.DenyRepo("demotenancy/nopolicy")
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
