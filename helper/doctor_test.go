package helper

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
)

// fakeOCIR answers like OCIR's registry: a bearer challenge, the token
// realm on the registry's own host (unless realmHost says otherwise), and
// 403 for repositories in denied.
type fakeOCIR struct {
	realmHost string
	denied    map[string]bool

	mu          sync.Mutex
	realmAuth   []string // Authorization headers seen at the realm
	requestHost []string
}

func (f *fakeOCIR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requestHost = append(f.requestHost, r.Host)
	f.mu.Unlock()
	if r.URL.Path == "/20180419/docker/token" {
		f.mu.Lock()
		f.realmAuth = append(f.realmAuth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("BEARER_TOKEN:tok-123")) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"token":"registry-token"}`))
		return
	}
	repo, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v2/"), "/tags/list")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer registry-token" {
		realm := f.realmHost
		if realm == "" {
			realm = r.Host
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://`+realm+`/20180419/docker/token",service="`+r.Host+`",scope="repository:`+repo+`:pull"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f.denied[repo] {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"Anonymous users are only allowed read access on public repos"}]}`))
		return
	}
	_, _ = w.Write([]byte(`{"name":"` + repo + `","tags":["latest","v1"]}`))
}

// clientTo returns a client that connects every host to srv, as the
// emulator's proxy does for real host names.
func clientTo(srv *httptest.Server) *http.Client {
	addr := srv.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test server certificate
	}}
}

func runDoctor(t *testing.T, f *fakeProvider, client *http.Client, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	home := t.TempDir()
	code := Main(Env{
		Args:   append([]string{ProgramName, "doctor"}, args...),
		Stdout: &stdout, Stderr: &stderr,
		Getenv:      func(k string) string { return map[string]string{"HOME": home}[k] },
		NewProvider: func(ProviderSettings) (Provider, error) { return f, nil },
		HTTPClient:  client,
	})
	return result{code, stdout.String(), stderr.String()}
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

func TestDoctorReportsHealthyWithAPullProbe(t *testing.T) {
	srv := httptest.NewTLSServer(&fakeOCIR{})
	defer srv.Close()
	f := healthyFake(t, ocir.AuthAPIKey)
	r := runDoctor(t, f, clientTo(srv), "iad.ocir.io/demotenancy/hello:latest")
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
		"pull probe:  demotenancy/hello: ok, pull allowed (tags: latest, v1)",
		"result:      healthy",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "tok-123") || strings.Contains(r.stdout, "registry-token") {
		t.Error("doctor printed a token")
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
			srv := httptest.NewTLSServer(&fakeOCIR{denied: map[string]bool{"demotenancy/private": true}})
			defer srv.Close()
			r := runDoctor(t, healthyFake(t, auth), clientTo(srv), "iad.ocir.io/demotenancy/private")
			if r.code != 1 {
				t.Fatalf("exit %d\n%s", r.code, r.stdout)
			}
			for _, s := range []string{"PROBLEM: demotenancy/private: authenticated request answered 403 Forbidden: DENIED", want, "result:      unhealthy (1 problem)"} {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("missing %q in\n%s", s, r.stdout)
				}
			}
		})
	}
}

func TestDoctorNeverSendsTheTokenToARealmOnAnotherHost(t *testing.T) {
	o := &fakeOCIR{realmHost: "auth.attacker.example"}
	srv := httptest.NewTLSServer(o)
	defer srv.Close()
	r := runDoctor(t, healthyFake(t, ocir.AuthAPIKey), clientTo(srv), "iad.ocir.io/ns/app")
	if r.code != 1 || !strings.Contains(r.stdout, "token realm on another host (auth.attacker.example)") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if len(o.realmAuth) != 0 {
		t.Errorf("credentials sent to the foreign realm: %v", o.realmAuth)
	}
}

func TestDoctorReportsIdentityProblemsWithoutCallingForAToken(t *testing.T) {
	f := newFake(t)
	f.explanation = ocir.Explanation{Registry: "iad.ocir.io", IdentityErr: kindErr(ocir.ErrNoIdentity, "run oci setup config"),
		Metadata: ocir.MetadataInfo{Probed: true, URL: "http://169.254.169.254/opc/v2", Err: context.DeadlineExceeded}}
	r := runDoctor(t, f, nil, "iad.ocir.io")
	if r.code != 1 || !strings.Contains(r.stdout, "identity:    PROBLEM: none configured") || !strings.Contains(r.stdout, "metadata:    unreachable at http://169.254.169.254/opc/v2") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	if len(f.calls()) != 0 {
		t.Error("token requested without an identity")
	}
}

func TestDoctorReportsAFailedTokenCall(t *testing.T) {
	f := healthyFake(t, ocir.AuthAPIKey)
	f.err = kindErr(ocir.ErrAuth, "check the system clock")
	r := runDoctor(t, f, nil, "iad.ocir.io")
	if r.code != 1 || !strings.Contains(r.stdout, "token:       PROBLEM: OCI rejected the credentials") || !strings.Contains(r.stdout, "check the system clock") {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
}

func TestDoctorRejectsHostsThatAreNotOCIR(t *testing.T) {
	r := runDoctor(t, newFake(t), nil, "docker.io/library/alpine")
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
	f := healthyFake(t, ocir.AuthAPIKey)
	var stdout bytes.Buffer
	code := Main(Env{
		Args: []string{ProgramName, "doctor"}, Stdout: &stdout,
		Getenv:      func(k string) string { return map[string]string{"HOME": home}[k] },
		NewProvider: func(ProviderSettings) (Provider, error) { return f, nil },
	})
	if code != 0 || !strings.Contains(stdout.String(), "registry:    fra.ocir.io") {
		t.Fatalf("exit %d\n%s", code, stdout.String())
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

func TestParseChallenge(t *testing.T) {
	scheme, p := parseChallenge(`Bearer realm="https://iad.ocir.io/20180419/docker/token",service="iad.ocir.io", scope="repository:a/b:pull,push",error=insufficient_scope`)
	if scheme != "bearer" || p["realm"] != "https://iad.ocir.io/20180419/docker/token" || p["service"] != "iad.ocir.io" ||
		p["scope"] != "repository:a/b:pull,push" || p["error"] != "insufficient_scope" {
		t.Errorf("got %s %v", scheme, p)
	}
	if s, p := parseChallenge(`Basic realm="a \"quoted\" realm"`); s != "basic" || p["realm"] != `a "quoted" realm` {
		t.Errorf("got %s %v", s, p)
	}
	for _, h := range []string{"", "Bearer", `Bearer realm="unterminated`, "Bearer =,=,"} {
		parseChallenge(h) // must not panic
	}
}

func TestParseTarget(t *testing.T) {
	cases := []struct{ in, host, repo string }{
		{"iad.ocir.io", "iad.ocir.io", ""},
		{"iad.ocir.io/ns/app", "iad.ocir.io", "ns/app"},
		{"https://iad.ocir.io/v2/ns/app/", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io:443/ns/app:1.0", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io/ns/app@sha256:abcd", "iad.ocir.io", "ns/app"},
		{"IAD.OCIR.IO/ns/team/app", "iad.ocir.io", "ns/team/app"},
	}
	for _, tc := range cases {
		h, r, err := parseTarget(tc.in)
		if err != nil || h != tc.host || r != tc.repo {
			t.Errorf("%q: got %q %q %v", tc.in, h, r, err)
		}
	}
	for _, bad := range []string{"", "iad.ocir.io/NS/App", "iad.ocir.io/a//b", "iad.ocir.io/-a", "a@b/c"} {
		if _, _, err := parseTarget(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLineDiffShowsRemovalsBeforeAdditions(t *testing.T) {
	got := lineDiff([]byte("{\n\t\"a\": 1\n}\n"), []byte("{\n\t\"a\": 1,\n\t\"b\": 2\n}\n"), "old", "new")
	want := "--- old\n+++ new\n {\n-\t\"a\": 1\n+\t\"a\": 1,\n+\t\"b\": 2\n }\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
