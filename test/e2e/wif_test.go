package e2e

// Keyless CI: the built docker-credential-ocir with workload identity
// federation and no OCI key anywhere, against the emulator's identity
// domain and GitHub-Actions-style OIDC endpoint.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// newWIFHarness is a harness with the environment of D/wif.env: a GitHub
// Actions job (id-token: write), the identity domain's confidential
// application, and no OCI config or instance metadata.
func newWIFHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, noIdentity)
	for _, kv := range h.emu.WIFEnv() {
		k, v, _ := strings.Cut(kv, "=")
		h.env[k] = v
	}
	if _, ok := h.env["OCI_CLI_CONFIG_FILE"]; ok {
		t.Fatal("wif.env names an OCI config file")
	}
	// The SDK's own debug switch: it must not leak anything either.
	h.env["OCI_GO_SDK_DEBUG"] = "verbose"
	return h
}

// getOK runs `get` and returns the secret, failing the test otherwise.
func (h *harness) getOK(host string) string {
	h.t.Helper()
	out, stderr, err := h.helperStdin(host, "get")
	var c struct{ ServerURL, Username, Secret string }
	if err != nil || json.Unmarshal([]byte(out), &c) != nil || c.Username != "BEARER_TOKEN" || c.Secret == "" {
		h.t.Fatalf("get %s: %v %q\nstderr:\n%s\nhelper log:\n%s", host, err, redact(out), stderr, h.helperLog())
	}
	return c.Secret
}

func (h *harness) lastIssued() emulator.IssuedToken {
	h.t.Helper()
	all := h.emu.IssuedTokens()
	if len(all) == 0 {
		h.t.Fatal("no OCIR token was issued")
	}
	return all[len(all)-1]
}

func TestWIFGitHubActionsJobPullsWithoutAnOCIKey(t *testing.T) {
	skipShort(t)
	crane := requireTool(t, "crane")
	h := newWIFHarness(t)
	h.configureDocker()
	h.mustRun(crane, "pull", hostShort+"/"+seedRepo+":latest", filepath.Join(h.dir, "hello.tar"))
	h.assertHelperAnswered(hostShort)
	if got := h.lastIssued(); got.Kind != emulator.KindWorkloadIdentityFederation || got.Principal != emulator.DefaultCISubject {
		t.Errorf("issued to %s %q", got.Kind, got.Principal)
	}
	if o, x := h.emu.Count("oidc"), h.emu.Count("idcs"); o != 1 || x != 1 {
		t.Errorf("OIDC requests %d, exchanges %d; want 1 and 1", o, x)
	}
}

func TestWIFSubjectWithoutPolicyGets403AtPullAndDoctorNamesIt(t *testing.T) {
	h := newWIFHarness(t)
	const other = "repo:acme/other:ref:refs/heads/main"
	h.emu.SetCISubject(other)
	h.emu.DenyFederatedSubject(other)
	out, stderr, err := h.helper("doctor", hostShort+"/"+seedRepo)
	if code := exitCodeOf(err); code != 1 {
		t.Fatalf("doctor exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"identity:    workload_identity_federation: OCI_CLI_AUTH=workload_identity_federation",
		"domain:      " + h.emu.WIF().DomainURL + " (client " + h.emu.WIF().ClientID + ", upst session)",
		"subject:     GitHub Actions OIDC (ACTIONS_ID_TOKEN_REQUEST_URL, audience " + emulator.WIFAudience + "): " +
			"iss " + emulator.OIDCIssuer + ", sub " + other + ", aud " + emulator.WIFAudience + ", expires ",
		"token:       ok",
		"pull probe:  PROBLEM: " + seedRepo + ": authenticated request: 403",
		"the pull was made as federated subject " + other,
		"result:      unhealthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "eyJ") || strings.Contains(out, h.emu.WIF().ClientSecret) {
		t.Errorf("doctor printed a token or the secret:\n%s", out)
	}
}

func TestWIFTokenFileGetWorks(t *testing.T) {
	h := newWIFHarness(t)
	delete(h.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(h.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	h.env["OCIR_WIF_TOKEN_FILE"] = h.subjectFile("gitlab.jwt", emulator.SubjectToken{Subject: "project_path:acme/app:ref_type:branch:ref:main"})
	h.getOK(hostDomain)
	if got := h.lastIssued(); got.Principal != "project_path:acme/app:ref_type:branch:ref:main" || got.Host != hostDomain {
		t.Errorf("issued %+v", got)
	}
	if n := h.emu.Count("oidc"); n != 0 {
		t.Errorf("the token file was ignored: %d GitHub requests", n)
	}
}

func (h *harness) subjectFile(name string, s emulator.SubjectToken) string {
	h.t.Helper()
	tok, err := h.emu.MintSubjectToken(s)
	if err != nil {
		h.t.Fatal(err)
	}
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func TestWIFFailuresAreClearAndExitOne(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		want  []string
	}{
		{"expired subject", func(h *harness) {
			h.env["OCIR_WIF_TOKEN_FILE"] = h.subjectFile("old.jwt", emulator.SubjectToken{Subject: "s", TTL: -time.Minute})
		}, []string{"subject token from OCIR_WIF_TOKEN_FILE", "expired at", "fresh one"}},
		{"wrong secret", func(h *harness) {
			delete(h.env, "OCIR_WIF_CLIENT_SECRET_FILE")
			h.env["OCIR_WIF_CLIENT_SECRET"] = "idcscs-wrong"
		}, []string{"HTTP 401", "invalid_client", "check OCIR_WIF_CLIENT_ID and the secret"}},
		{"no subject token", func(h *harness) {
			delete(h.env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
		}, []string{"no subject token found (tried OCIR_WIF_TOKEN_FILE, GitHub Actions", "id-token: write"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newWIFHarness(t)
			tt.setup(h)
			out, stderr, err := h.helperStdin(hostShort, "get")
			if code := exitCodeOf(err); code != 1 {
				t.Fatalf("exit %d, want 1: %q", code, redact(out))
			}
			for _, w := range tt.want {
				if !strings.Contains(out+stderr, w) {
					t.Errorf("the answer lacks %q:\nstdout: %s\nstderr: %s", w, out, stderr)
				}
			}
			if n := h.emu.Count("token-attempts"); n != 0 {
				t.Errorf("%d OCIR token requests without a session", n)
			}
		})
	}
}

func TestWIFTwoSubjectsTwoCacheEntries(t *testing.T) {
	h := newWIFHarness(t)
	a := h.getOK(hostShort)
	h.emu.SetCISubject("repo:acme/other:ref:refs/heads/main")
	h.env["ACTIONS_ID_TOKEN_REQUEST_URL"] += "&job=2" // another job: another request URL
	b := h.getOK(hostShort)
	if a == b {
		t.Fatal("two subjects share one token")
	}
	out := h.mustRun(filepath.Join(binDir, helperName), "cache", "list")
	if n := strings.Count(out, "workload_identity_federation for "); n != 2 {
		t.Errorf("cache list shows %d federation entries, want 2:\n%s", n, out)
	}
	// A token file subject is keyed by iss and sub: a rotated file of the
	// same subject hits its entry, another subject gets a third.
	delete(h.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	h.env["OCIR_WIF_TOKEN_FILE"] = h.subjectFile("k8s.jwt", emulator.SubjectToken{Subject: "system:serviceaccount:ci:builder"})
	c := h.getOK(hostShort)
	h.env["OCIR_WIF_TOKEN_FILE"] = h.subjectFile("k8s-rotated.jwt", emulator.SubjectToken{Subject: "system:serviceaccount:ci:builder", TTL: time.Hour})
	if again := h.getOK(hostShort); again != c {
		t.Error("a rotated token of the same subject missed the cache")
	}
	if n := h.emu.Count("idcs"); n != 3 {
		t.Errorf("exchanges = %d, want 3", n)
	}
}

func TestWIFNeverLogsTheSecretOrTheJWT(t *testing.T) {
	h := newWIFHarness(t)
	delete(h.env, "OCIR_WIF_CLIENT_SECRET_FILE")
	secret := h.emu.WIF().ClientSecret
	h.env["OCIR_WIF_CLIENT_SECRET"] = secret
	delete(h.env, "ACTIONS_ID_TOKEN_REQUEST_URL")
	jwt, err := h.emu.MintSubjectToken(emulator.SubjectToken{Subject: "repo:acme/app:ref:refs/heads/main"})
	if err != nil {
		t.Fatal(err)
	}
	h.env["OCIR_WIF_TOKEN"] = jwt
	h.emu.AddFault(emulator.Fault{Endpoint: "idcs", Status: 502, Count: 1}) // a logged retry
	_, stderr, err := h.helperStdin(hostShort, "get")
	if err != nil {
		t.Fatalf("get: %v\n%s", err, stderr)
	}
	doctorOut, doctorErr, _ := h.helper("doctor", hostShort)
	all := stderr + doctorOut + doctorErr + h.helperLog()
	if !strings.Contains(h.helperLog(), "token exchange at the identity domain") {
		t.Fatalf("the debug log does not show the exchange:\n%s", h.helperLog())
	}
	for name, s := range map[string]string{"client secret": secret, "subject JWT": jwt, "JWT signature": jwt[strings.LastIndexByte(jwt, '.')+1:], "any JWT": "eyJ"} {
		if strings.Contains(all, s) {
			t.Errorf("the %s appears in logs or output:\n%s", name, all)
		}
	}
}

func TestWIFConcurrentColdGetsExchangeOnce(t *testing.T) {
	h := newWIFHarness(t)
	const n = 32
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, stderr, err := h.helperStdin(hostShort, "get")
			if err == nil && !strings.Contains(out, `"Username":"BEARER_TOKEN"`) {
				err = fmt.Errorf("unexpected answer %q", redact(out))
			}
			if err != nil {
				err = fmt.Errorf("%w\n%s", err, stderr)
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
	if x, tok, o := h.emu.Count("idcs"), h.emu.Count("token"), h.emu.Count("oidc"); x != 1 || tok != 1 || o != 1 {
		t.Errorf("%d concurrent cold gets: %d exchanges, %d OCIR token requests, %d OIDC requests; want 1 each", n, x, tok, o)
	}
}
