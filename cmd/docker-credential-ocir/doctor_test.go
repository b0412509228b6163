package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

func runDoctor(t *testing.T, f *fakeProvider, args ...string) result {
	t.Helper()
	return runMain(t, f, nil, "", append([]string{"doctor"}, args...)...)
}

func healthyFake(t *testing.T, auth string) *fakeProvider {
	f := newFake(t)
	f.explanation = ocir.Explanation{
		Registry: "iad.ocir.io", Auth: auth, Reason: "profile DEFAULT has an API key",
		ConfigFile: "/home/u/.oci/config", Profile: "DEFAULT", Region: "us-ashburn-1",
		CacheEnabled: true, CacheDir: "/home/u/.cache/ocir-credential-helper",
		Cached: &ocir.CacheEntry{Registry: "iad.ocir.io", ExpiresAt: time.Now().Add(30 * time.Minute)},
	}
	return f
}

// The registry exchange itself is ocir's CheckPull (TestCheckPull) and the
// end-to-end doctor tests; here the verdicts drive doctor's report.

func TestDoctorReportsHealthyWithAPullProbe(t *testing.T) {
	f := healthyFake(t, ocir.AuthAPIKey)
	f.pull = &pullcheck.Result{Allowed: true, Status: 200, Detail: "pull allowed", Tags: 2}
	r := runDoctor(t, f, "iad.ocir.io/demotenancy/hello:latest")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"registry:    iad.ocir.io (region us-ashburn-1, realm oc1)",
		"identity:    api_key: profile DEFAULT has an API key",
		"OCI config:  /home/u/.oci/config, profile DEFAULT",
		"cache:       /home/u/.cache/ocir-credential-helper: token valid until",
		"metadata:    not probed",
		"token:       ok, valid until",
		"pull probe:  demotenancy/hello: ok, pull allowed (2 tags)",
		"result:      healthy",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "tok-123") {
		t.Error("doctor printed a token")
	}
	// The probe is asked with the fresh token, for the repository alone.
	if want := []string{"iad.ocir.io/demotenancy/hello tok-123"}; !slices.Equal(f.pullChecks, want) {
		t.Errorf("pull checks %q, want %q", f.pullChecks, want)
	}
}

func TestDoctorReportsAPublicRepository(t *testing.T) {
	f := healthyFake(t, ocir.AuthAPIKey)
	f.pull = &pullcheck.Result{Allowed: true, Anonymous: true, Status: 200, Detail: "public repository", Tags: 1}
	r := runDoctor(t, f, "iad.ocir.io/ns/public")
	if r.code != 0 || !strings.Contains(r.stdout, "pull probe:  ns/public: ok, anonymous access (public repository, 1 tag)") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestDoctorTurnsA403IntoThePolicyStatement(t *testing.T) {
	cases := map[string]string{
		ocir.AuthAPIKey:            "Allow group <your-group> to read repos in compartment <compartment>",
		ocir.AuthSecurityToken:     "Allow group <your-group> to read repos in compartment <compartment>",
		ocir.AuthInstancePrincipal: "Allow dynamic-group <your-dynamic-group> to read repos in compartment <compartment>",
		ocir.AuthResourcePrincipal: "Allow dynamic-group <your-dynamic-group> to read repos in compartment <compartment>",
		ocir.AuthOKEWorkload:       "request.principal.type = 'workload'",
	}
	for auth, want := range cases {
		t.Run(auth, func(t *testing.T) {
			f := healthyFake(t, auth)
			f.pull = &pullcheck.Result{Denied: true, Status: 403, Detail: "authenticated request: 403 Forbidden: DENIED Anonymous users are only allowed read access on public repos"}
			r := runDoctor(t, f, "iad.ocir.io/demotenancy/private")
			if r.code != 1 {
				t.Fatalf("exit %d\n%s", r.code, r.stdout)
			}
			for _, s := range []string{
				"pull probe:  PROBLEM: demotenancy/private: authenticated request: 403 Forbidden: DENIED",
				"fix: add this IAM policy statement",
				want,
				"result:      unhealthy (1 problem)",
			} {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("missing %q in\n%s", s, r.stdout)
				}
			}
			if strings.Contains(r.stdout, "cache clear") {
				t.Errorf("a 403 is a policy problem, not a rejected token:\n%s", r.stdout)
			}
		})
	}
}

func TestDoctorTurnsA401IntoThePolicyAndACacheClear(t *testing.T) {
	f := healthyFake(t, ocir.AuthAPIKey)
	f.pull = &pullcheck.Result{Denied: true, Status: 401, Detail: "token exchange: 401 Unauthorized"}
	r := runDoctor(t, f, "iad.ocir.io/ns/app")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	for _, s := range []string{
		"pull probe:  PROBLEM: ns/app: token exchange: 401 Unauthorized",
		"Allow group <your-group> to read repos in compartment <compartment>",
		"fix: the OCIR token was rejected; run `" + helper.ProgramName + " cache clear` and retry",
		"result:      unhealthy (1 problem)",
	} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("missing %q in\n%s", s, r.stdout)
		}
	}
}

func TestDoctorReportsAnInconclusiveProbeWithoutAPolicy(t *testing.T) {
	cases := []struct {
		name string
		pull pullcheck.Result
		want string
	}{
		{"unreachable", pullcheck.Result{Detail: "registry unreachable: dial tcp: connection refused"}, "PROBLEM: ns/app: registry unreachable: dial tcp: connection refused"},
		{"foreign realm", pullcheck.Result{Detail: "token realm auth.attacker.example is not on iad.ocir.io; not sending the OCIR token there"}, "PROBLEM: ns/app: token realm auth.attacker.example is not on iad.ocir.io"},
		{"not found", pullcheck.Result{Status: 404, Detail: "authenticated request: 404 Not Found: NAME_UNKNOWN"}, "fix: check the repository name"},
		{"server error", pullcheck.Result{Status: 502, Detail: "anonymous request: 502 Bad Gateway"}, "PROBLEM: ns/app: anonymous request: 502 Bad Gateway"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyFake(t, ocir.AuthAPIKey)
			f.pull = &tc.pull
			r := runDoctor(t, f, "iad.ocir.io/ns/app")
			if r.code != 1 || !strings.Contains(r.stdout, tc.want) || !strings.Contains(r.stdout, "result:      unhealthy (1 problem)") {
				t.Fatalf("exit %d, want %q in\n%s", r.code, tc.want, r.stdout)
			}
			if strings.Contains(r.stdout, "IAM policy") || strings.Contains(r.stdout, "cache clear") {
				t.Errorf("an inconclusive probe is not a policy or token problem:\n%s", r.stdout)
			}
		})
	}
}

func TestDoctorWithoutARepositoryDoesNotProbe(t *testing.T) {
	f := healthyFake(t, ocir.AuthAPIKey) // f.pull is nil: a pull check fails the test
	r := runDoctor(t, f, "iad.ocir.io")
	if r.code != 0 || strings.Contains(r.stdout, "pull probe") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestDoctorReportsIdentityProblemsWithoutCallingForAToken(t *testing.T) {
	f := newFake(t)
	f.explanation = ocir.Explanation{Registry: "iad.ocir.io", IdentityErr: kindErr(ocir.ErrNoIdentity, "run oci setup config"),
		Metadata: ocir.MetadataInfo{Probed: true, URL: "http://169.254.169.254/opc/v2", Err: context.DeadlineExceeded}}
	r := runDoctor(t, f, "iad.ocir.io")
	if r.code != 1 || !strings.Contains(r.stdout, "identity:    PROBLEM: no OCI identity configured\n") || !strings.Contains(r.stdout, "metadata:    unreachable at http://169.254.169.254/opc/v2") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if len(f.calls()) != 0 {
		t.Error("token requested without an identity")
	}
}

func TestDoctorReportsAFailedTokenCall(t *testing.T) {
	f := healthyFake(t, ocir.AuthAPIKey)
	f.err = kindErr(ocir.ErrAuth, "check the system clock")
	r := runDoctor(t, f, "iad.ocir.io")
	if r.code != 1 || !strings.Contains(r.stdout, "token:       PROBLEM: OCI rejected the credentials") || !strings.Contains(r.stdout, "check the system clock") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestDoctorRejectsHostsThatAreNotOCIR(t *testing.T) {
	r := runDoctor(t, newFake(t), "docker.io/library/alpine")
	if r.code != 2 || r.stdout != "" {
		t.Fatalf("got %+v", r)
	}
}

func TestDoctorWithoutRegistryUsesTheProfileRegion(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".oci"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".oci", "config"), []byte("[DEFAULT]\nregion=eu-frankfurt-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, healthyFake(t, ocir.AuthAPIKey), map[string]string{"HOME": home}, "", "doctor")
	if r.code != 0 || !strings.Contains(r.stdout, "registry:    fra.ocir.io") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestTokenPrintsTheTokenAlone(t *testing.T) {
	r := runMain(t, newFake(t), nil, "", "token", "iad.ocir.io")
	if r.code != 0 || r.stdout != "tok-123\n" {
		t.Fatalf("got %+v", r)
	}
	f := newFake(t)
	f.err = kindErr(ocir.ErrNoIdentity, "")
	r = runMain(t, f, nil, "", "token", "iad.ocir.io")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "no OCI identity configured") {
		t.Fatalf("got %+v", r)
	}
	r = runMain(t, newFake(t), nil, "", "token", "docker.io")
	if r.code != 2 || r.stdout != "" {
		t.Fatalf("got %+v", r)
	}
}

func TestCacheClearAndList(t *testing.T) {
	f := newFake(t)
	f.entries = []ocir.CacheEntry{{Registry: "iad.ocir.io", Identity: "api_key profile DEFAULT", ExpiresAt: time.Now().Add(time.Hour)}}
	r := runMain(t, f, map[string]string{"OCIR_CACHE_DIR": "/tmp/c"}, "", "cache", "clear")
	if r.code != 0 || f.cleared != 1 || r.stdout != "cleared the token cache (/tmp/c)\n" {
		t.Fatalf("got %+v cleared %d", r, f.cleared)
	}
	r = runMain(t, f, nil, "", "cache", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "iad.ocir.io") || !strings.Contains(r.stdout, "api_key profile DEFAULT") {
		t.Fatalf("got %+v", r)
	}
}

func TestLineDiffShowsRemovalsBeforeAdditions(t *testing.T) {
	got := lineDiff([]byte("{\n\t\"a\": 1\n}\n"), []byte("{\n\t\"a\": 1,\n\t\"b\": 2\n}\n"), "old", "new")
	want := "--- old\n+++ new\n {\n-\t\"a\": 1\n+\t\"a\": 1,\n+\t\"b\": 2\n }\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
