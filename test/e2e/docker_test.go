//go:build linux

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// registryAuth is the docker CLI's X-Registry-Auth payload.
type registryAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	ServerAddress string `json:"serveraddress"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// fakeDaemon is just enough of the docker engine API for `docker pull`:
// /_ping, /version and POST /images/create. It records the X-Registry-Auth
// header the CLI built from the credential helper and replays those
// credentials against the registry, as the real daemon would, so a pull
// only succeeds if the helper's answer really works.
type fakeDaemon struct {
	h   *harness
	srv *http.Server

	mu    sync.Mutex
	pulls []daemonPull
}

type daemonPull struct {
	image   string
	rawAuth string
	auth    registryAuth
	digest  string
	err     error
}

const fakeAPIVersion = "1.45"

func startFakeDaemon(t *testing.T, h *harness) (*fakeDaemon, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "dockerd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDaemon{h: h}
	d.srv = &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = d.srv.Serve(ln) }()
	t.Cleanup(func() { _ = d.srv.Close() })
	return d, "unix://" + sock
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Strip the API version prefix: /v1.45/images/create → /images/create.
	path := r.URL.Path
	if strings.HasPrefix(path, "/v1.") {
		if i := strings.Index(path[1:], "/"); i >= 0 {
			path = path[i+1:]
		}
	}
	w.Header().Set("Api-Version", fakeAPIVersion)
	w.Header().Set("Ostype", "linux")
	w.Header().Set("Docker-Experimental", "false")
	switch {
	case path == "/_ping":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte("OK"))
		}
	case path == "/version":
		writeJSON(w, http.StatusOK, map[string]string{
			"Version": "0.0.0-fake", "ApiVersion": fakeAPIVersion, "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64",
		})
	case path == "/images/create" && r.Method == http.MethodPost:
		d.pull(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "the fake daemon does not implement " + r.Method + " " + path})
	}
}

func (d *fakeDaemon) pull(w http.ResponseWriter, r *http.Request) {
	image := r.URL.Query().Get("fromImage")
	if tag := r.URL.Query().Get("tag"); tag != "" {
		image += ":" + tag
	}
	p := daemonPull{image: image, rawAuth: r.Header.Get("X-Registry-Auth")}
	if raw, err := base64.URLEncoding.DecodeString(p.rawAuth); err == nil {
		_ = json.Unmarshal(raw, &p.auth)
	} else {
		p.err = fmt.Errorf("X-Registry-Auth is not base64url: %w", err)
	}
	if p.err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		p.digest, p.err = d.h.headWithAuth(ctx, image, p.auth.Username, p.auth.Password)
		cancel()
	}
	d.mu.Lock()
	d.pulls = append(d.pulls, p)
	d.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	if p.err != nil {
		_ = enc.Encode(map[string]any{"errorDetail": map[string]string{"message": p.err.Error()}, "error": p.err.Error()})
		return
	}
	_ = enc.Encode(map[string]string{"status": "Pulling from " + strings.SplitN(image, ":", 2)[0], "id": "latest"})
	_ = enc.Encode(map[string]string{"status": "Digest: " + p.digest})
	_ = enc.Encode(map[string]string{"status": "Status: Downloaded newer image for " + image})
}

func (d *fakeDaemon) recorded() []daemonPull {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]daemonPull(nil), d.pulls...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// TestDockerCLIPullsWithTheHelper judges what matters for every supported
// CLI version (see the README's support matrix): the pull succeeded, the
// daemon got BEARER_TOKEN and a token the token service issued for exactly
// that registry, and those credentials work there. serveraddress is only
// checked when the CLI sends one: CLI 20.10 (Debian 12's) leaves it empty,
// later ones name the registry.
func TestDockerCLIPullsWithTheHelper(t *testing.T) {
	skipShort(t)
	docker := requireTool(t, "docker")
	h := newHarness(t, apiKey)
	h.configureDocker()
	daemon, host := startFakeDaemon(t, h)
	h.env["DOCKER_HOST"] = host
	h.env["DOCKER_CLI_HINTS"] = "false"
	t.Logf("docker CLI: %s", strings.TrimSpace(h.mustRun(docker, "--version")))

	for _, ref := range []string{hostShort + "/" + seedRepo + ":latest", hostDomain + "/" + seedRepo + ":latest"} {
		out := h.mustRun(docker, "pull", ref)
		if !strings.Contains(out, "Digest: "+h.emu.SeedDigest()) {
			t.Errorf("docker pull %s output lacks the seeded digest:\n%s", ref, out)
		}
	}
	pulls := daemon.recorded()
	if len(pulls) != 2 {
		t.Fatalf("the daemon saw %d pulls, want 2", len(pulls))
	}
	issuedFor := map[string]string{} // token → registry host it was issued for
	for _, tok := range h.emu.IssuedTokens() {
		issuedFor[tok.Token] = tok.Host
	}
	for i, want := range []string{hostShort, hostDomain} {
		p := pulls[i]
		if p.err != nil {
			t.Errorf("replaying the CLI's credentials for %s failed: %v", p.image, p.err)
		}
		if p.auth.Username != "BEARER_TOKEN" {
			t.Errorf("X-Registry-Auth for %s has user %q, want BEARER_TOKEN", p.image, p.auth.Username)
		}
		if got, ok := issuedFor[p.auth.Password]; !ok || got != want {
			t.Errorf("X-Registry-Auth for %s carries a password the token service issued for %q (issued: %v), want a token for %s",
				p.image, got, ok, want)
		}
		if p.auth.ServerAddress != "" && p.auth.ServerAddress != want {
			t.Errorf("X-Registry-Auth for %s names server %q, want %s", p.image, p.auth.ServerAddress, want)
		}
		if p.auth.IdentityToken != "" {
			t.Errorf("the helper's answer was taken as an OAuth identity token")
		}
	}
	h.assertHelperAnswered(hostShort)
	h.assertHelperAnswered(hostDomain)
}

func TestDockerCLIGetsNoCredentialsWhenTheHelperFails(t *testing.T) {
	skipShort(t)
	docker := requireTool(t, "docker")
	h := newHarness(t, apiKey)
	h.configureDocker()
	// A broken identity: the profile names a key file that is not there.
	bad := filepath.Join(h.dir, "broken-oci-config")
	if err := os.WriteFile(bad, []byte("[DEFAULT]\nuser=ocid1.user.oc1..aaaa\ntenancy=ocid1.tenancy.oc1..aaaa\nfingerprint=aa:bb:cc\nkey_file="+filepath.Join(h.dir, "missing.pem")+"\nregion=us-ashburn-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["OCI_CLI_CONFIG_FILE"] = bad
	daemon, host := startFakeDaemon(t, h)
	h.env["DOCKER_HOST"] = host

	_, stderr, err := h.run(docker, "pull", hostShort+"/"+seedRepo+":latest")
	if err == nil {
		t.Fatal("docker pull succeeded with a broken identity")
	}
	// The CLI swallows a failing helper and sends empty credentials; the
	// only trace for the user is the helper's message, so it must be
	// there and actionable.
	pulls := daemon.recorded()
	if len(pulls) != 1 || pulls[0].auth.Password != "" {
		t.Fatalf("the daemon got %+v, want one pull without credentials", pulls)
	}
	if !strings.Contains(stderr, "docker-credential-ocir: ") || !strings.Contains(stderr, "missing.pem") {
		t.Errorf("nothing tells the user about the missing key file:\nstderr:\n%s", stderr)
	}
}
