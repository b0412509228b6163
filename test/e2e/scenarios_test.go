package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const deniedRepo = "demotenancy/nopolicy"

func TestPullOfARepoWithoutPolicyFailsWith403(t *testing.T) {
	skipShort(t)
	crane := requireTool(t, "crane")
	h := newHarness(t, apiKey)
	h.configureDocker()
	h.emu.DenyRepo(deniedRepo)

	_, stderr, err := h.run(crane, "pull", hostShort+"/"+deniedRepo+":latest", filepath.Join(h.dir, "x.tar"))
	if err == nil {
		t.Fatal("pull of a repository without policy succeeded")
	}
	if !strings.Contains(stderr, "403") && !strings.Contains(stderr, "DENIED") {
		t.Errorf("the failure is not a 403:\n%s", stderr)
	}
	// The token itself was issued: OCIR only refuses at pull time.
	h.assertHelperAnswered(hostShort)
}

func TestDoctorPrintsThePolicyStatementForARepoWithoutPolicy(t *testing.T) {
	h := newHarness(t, apiKey)
	h.emu.DenyRepo(deniedRepo)

	out, stderr, err := h.helper("doctor", hostShort+"/"+deniedRepo)
	if code := exitCodeOf(err); code != 1 {
		t.Fatalf("doctor exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"identity:    api_key",
		"token:       ok",
		"pull probe:  PROBLEM: " + deniedRepo + ": authenticated request: 403",
		"Allow group <your-group> to read repos in compartment <compartment>",
		"result:      unhealthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}

	out, stderr, err = h.helper("doctor", hostDomain+"/"+seedRepo+":latest")
	if err != nil || !strings.Contains(out, "pull probe:  "+seedRepo+": ok, pull allowed") || !strings.Contains(out, "result:      healthy") {
		t.Errorf("doctor on a pullable repository: %v\n%s\n%s", err, out, stderr)
	}
}

func TestDoctorWithInstancePrincipalNamesADynamicGroup(t *testing.T) {
	h := newHarness(t, instancePrincipal)
	h.emu.DenyRepo(deniedRepo)
	out, stderr, err := h.helper("doctor", hostShort+"/"+deniedRepo)
	if exitCodeOf(err) != 1 || !strings.Contains(out, "identity:    instance_principal") ||
		!strings.Contains(out, "Allow dynamic-group <your-dynamic-group> to read repos in compartment <compartment>") {
		t.Fatalf("doctor: %v\n%s\n%s", err, out, stderr)
	}
}

func TestWithoutAnyIdentityPublicPullsStillWorkAnonymously(t *testing.T) {
	skipShort(t)
	crane := requireTool(t, "crane")
	h := newHarness(t, noIdentity)
	h.configureDocker()

	_, stderr, err := h.run(crane, "pull", hostShort+"/"+publicRepo+":latest", filepath.Join(h.dir, "public.tar"))
	if err != nil {
		t.Fatalf("anonymous pull of a public repository failed: %v\n%s\nhelper log:\n%s", err, stderr, h.helperLog())
	}
	if !strings.Contains(stderr, "no OCI identity configured") {
		t.Errorf("the user was not told why the pull is anonymous:\n%s", stderr)
	}
	if n := h.emu.Count("token-attempts"); n != 0 {
		t.Errorf("%d signed token requests without an identity", n)
	}
	// A private repository is refused, as it would be for any anonymous user.
	if _, _, err := h.run(crane, "pull", hostShort+"/"+seedRepo+":latest", filepath.Join(h.dir, "private.tar")); err == nil {
		t.Error("anonymous pull of a private repository succeeded")
	}
}

func TestInstancePrincipalIdentityPullsWithoutAnyConfigFile(t *testing.T) {
	skipShort(t)
	crane := requireTool(t, "crane")
	h := newHarness(t, instancePrincipal)
	h.configureDocker()
	h.mustRun(crane, "pull", hostDomain+"/"+seedRepo+":latest", filepath.Join(h.dir, "hello.tar"))
	h.assertHelperAnswered(hostDomain)
	if h.emu.Count("federation") < 1 {
		t.Error("the instance principal never federated")
	}
}

func TestProtocolThroughTheBuiltBinary(t *testing.T) {
	h := newHarness(t, apiKey)
	get := func(in string) (string, int) {
		t.Helper()
		out, _, err := h.helperStdin(in, "get")
		return out, exitCodeOf(err)
	}
	for _, in := range []string{hostShort, "https://" + hostShort + "/v2/", hostShort + ":443", hostShort + "/" + seedRepo, strings.ToUpper(hostDomain)} {
		out, code := get(in)
		var c struct{ ServerURL, Username, Secret string }
		if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Username != "BEARER_TOKEN" || c.Secret == "" || c.ServerURL != in {
			t.Errorf("get %q: exit %d, %q", in, code, redact(out))
		}
	}
	for _, in := range []string{"docker.io", "iad.ocir.io.evil.example", "127.0.0.1:5000"} {
		if out, code := get(in); code != 1 || out != "credentials not found in native keychain\n" {
			t.Errorf("get %q: exit %d, %q", in, code, out)
		}
	}
	out, _, err := h.helperStdin("", "list")
	var listed map[string]string
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || listed[hostShort] != "BEARER_TOKEN" || listed[hostDomain] != "BEARER_TOKEN" {
		t.Errorf("list: %v %q", err, out)
	}
	if _, _, err := h.helperStdin(hostShort, "erase"); err != nil {
		t.Errorf("erase: %v", err)
	}
	out, _, _ = h.helperStdin("", "list")
	if strings.Contains(out, `"`+hostShort+`"`) {
		t.Errorf("erase left %s in the cache: %s", hostShort, out)
	}
	if out, _, err := h.helperStdin(`{"ServerURL":"`+hostShort+`","Username":"BEARER_TOKEN","Secret":"x"}`, "store"); err != nil || out != "" {
		t.Errorf("store: %v %q", err, out)
	}
	for _, args := range [][]string{{"version"}, {"-v"}, {"--version"}} {
		out, _, err := h.helper(args...)
		if err != nil || out != "docker-credential-ocir (github.com/ocir-credential-helper/ocir-credential-helper) v0.0.0-e2e\n" {
			t.Errorf("%v: %v %q", args, err, out)
		}
	}
	tok, _, err := h.helper("token", hostShort)
	if err != nil || strings.Count(tok, "\n") != 1 || len(strings.TrimSpace(tok)) < 16 {
		t.Errorf("token: %v %q", err, redact(tok))
	}
	if out, _, err := h.helper("cache", "clear"); err != nil || !strings.Contains(out, "cleared") {
		t.Errorf("cache clear: %v %q", err, out)
	}
}

// TestConcurrentGetsOnAColdCacheMakeOneTokenRequest mirrors `docker build`,
// which runs get for every credHelpers entry at once.
func TestConcurrentGetsOnAColdCacheMakeOneTokenRequest(t *testing.T) {
	h := newHarness(t, apiKey)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, _, err := h.helperStdin(hostShort, "get")
			if err == nil && !strings.Contains(out, `"Username":"BEARER_TOKEN"`) {
				err = fmt.Errorf("unexpected answer %q", redact(out))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("get #%d: %v", i, err)
		}
	}
	if got := h.emu.CountHost("token", hostShort); got != 1 {
		t.Errorf("%d token requests for %d concurrent gets, want 1", got, n)
	}
}

func redact(s string) string {
	if i := strings.Index(s, `"Secret":"`); i >= 0 {
		return s[:i] + `"Secret":"<redacted>"}`
	}
	if len(s) > 12 {
		return s[:4] + "…<redacted>"
	}
	return s
}

// TestACachedTokenIsServedWithoutNetwork: once a token is cached, get
// answers even with the whole of (emulated) OCI gone.
func TestACachedTokenIsServedWithoutNetwork(t *testing.T) {
	h := newHarness(t, apiKey)
	first, _, err := h.helperStdin(hostShort, "get")
	if err != nil {
		t.Fatalf("first get: %v", err)
	}
	if err := h.emu.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	second, stderr, err := h.helperStdin(hostShort, "get")
	if err != nil || second != first {
		t.Fatalf("get with OCI unreachable: %v %q\n%s", err, redact(second), stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a cache hit took %v", d)
	}
}

// TestGetWithoutIdentityIsFast: `docker build` runs get for every
// credHelpers entry up front; on a machine with no OCI identity (and no
// instance metadata service) each must answer at once.
func TestGetWithoutIdentityIsFast(t *testing.T) {
	h := newHarness(t, noIdentity)
	h.env["OCIR_LOG_LEVEL"] = "warn" // the default: only the hint on stderr
	start := time.Now()
	out, stderr, err := h.helperStdin(hostShort, "get")
	if exitCodeOf(err) != 1 || out != "credentials not found in native keychain\n" {
		t.Fatalf("get: %v %q\n%s", err, out, stderr)
	}
	if !strings.Contains(stderr, "no OCI identity configured") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("want a one-line hint on stderr, got %q", stderr)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("get without identity took %v", d)
	}
}
