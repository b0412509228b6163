//go:build linux

package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCranePullsAndPushesWithTheHelper(t *testing.T) {
	skipShort(t)
	crane := requireTool(t, "crane")
	h := newHarness(t, apiKey)
	h.configureDocker()

	tarball := filepath.Join(h.dir, "hello.tar")
	h.mustRun(crane, "pull", hostShort+"/"+seedRepo+":latest", tarball)
	if st, err := os.Stat(tarball); err != nil || st.Size() == 0 {
		t.Fatalf("crane pull wrote no image: %v", err)
	}
	if got := strings.TrimSpace(h.mustRun(crane, "digest", hostShort+"/"+seedRepo+":latest")); got != h.emu.SeedDigest() {
		t.Errorf("digest %s, want the seeded %s", got, h.emu.SeedDigest())
	}
	pushed := hostDomain + "/demotenancy/pushed-by-crane:e2e"
	h.mustRun(crane, "push", tarball, pushed)
	out := h.mustRun(crane, "digest", pushed)
	if !strings.HasPrefix(strings.TrimSpace(out), "sha256:") {
		t.Errorf("pushed image has no digest: %q", out)
	}
	h.assertHelperAnswered(hostShort)
	h.assertHelperAnswered(hostDomain)
}

func TestSkopeoInspectsAndCopiesWithTheHelper(t *testing.T) {
	skipShort(t)
	skopeo := requireTool(t, "skopeo")
	h := newHarness(t, apiKey)
	h.configureDocker()
	policy := h.containersEnv()

	out := h.mustRunContained(skopeo, "inspect", "docker://"+hostShort+"/"+seedRepo+":latest")
	var inspect struct{ Digest string }
	if err := json.Unmarshal([]byte(out), &inspect); err != nil || inspect.Digest != h.emu.SeedDigest() {
		t.Fatalf("inspect: digest %q (%v), want %s\n%s", inspect.Digest, err, h.emu.SeedDigest(), out)
	}
	dest := hostDomain + "/demotenancy/copied-by-skopeo:e2e"
	h.mustRunContained(skopeo, "--policy", policy, "copy", "docker://"+hostShort+"/"+seedRepo+":latest", "docker://"+dest)
	if got := h.remoteDigest(dest); got != h.emu.SeedDigest() {
		t.Errorf("copied image has digest %s, want %s", got, h.emu.SeedDigest())
	}
	h.assertHelperAnswered(hostShort)
	h.assertHelperAnswered(hostDomain)
}

func TestPodmanPullsWithTheHelperFromContainersAuthJSON(t *testing.T) {
	skipShort(t)
	podman := requireTool(t, "podman")
	requireRoot(t, "podman")
	h := newHarness(t, apiKey)
	// podman insists that $DOCKER_CONFIG/config.json exists when the
	// variable is set; this test configures containers' own auth.json.
	delete(h.env, "DOCKER_CONFIG")
	h.configureDocker("--podman")
	if _, err := os.Stat(filepath.Join(h.env["XDG_CONFIG_HOME"], "containers", "auth.json")); err != nil {
		t.Fatalf("configure-docker --podman wrote no auth.json: %v", err)
	}
	policy := h.containersEnv()

	h.mustRunContained(podman, "pull", "--signature-policy", policy, hostShort+"/"+seedRepo+":latest")
	out := h.mustRunContained(podman, "image", "inspect", "--format", "{{.Digest}}", hostShort+"/"+seedRepo+":latest")
	if got := strings.TrimSpace(out); got != h.emu.SeedDigest() {
		t.Errorf("pulled digest %s, want %s", got, h.emu.SeedDigest())
	}
	h.assertHelperAnswered(hostShort)
}

func TestBuildahBuildsFromAndPushesToOCIRWithTheHelper(t *testing.T) {
	skipShort(t)
	buildah := requireTool(t, "buildah")
	requireRoot(t, "buildah")
	h := newHarness(t, apiKey)
	h.configureDocker()
	policy := h.containersEnv()

	ctxDir := h.mkdir("build")
	containerfile := fmt.Sprintf("FROM %s/%s:latest\nCOPY greeting.txt /greeting.txt\nLABEL built-by=e2e\n", hostShort, seedRepo)
	for name, content := range map[string]string{"Containerfile": containerfile, "greeting.txt": "hello from buildah\n"} {
		if err := os.WriteFile(filepath.Join(ctxDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	image := hostDomain + "/demotenancy/built-by-buildah:e2e"
	h.mustRunContained(buildah, "bud", "--signature-policy", policy, "--isolation", "chroot", "-t", image, ctxDir)
	h.mustRunContained(buildah, "push", "--signature-policy", policy, image)
	if d := h.remoteDigest(image); !strings.HasPrefix(d, "sha256:") {
		t.Errorf("pushed image has digest %q", d)
	}
	h.assertHelperAnswered(hostShort)
	h.assertHelperAnswered(hostDomain)
}

func TestNerdctlWithContainerdPullsWithTheHelper(t *testing.T) {
	skipShort(t)
	nerdctl := requireTool(t, "nerdctl")
	containerd := requireTool(t, "containerd")
	requireRoot(t, "containerd")
	h := newHarness(t, apiKey)
	h.configureDocker()
	sock := startContainerd(t, containerd)
	toml := filepath.Join(h.dir, "nerdctl.toml")
	if err := os.WriteFile(toml, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["NERDCTL_TOML"] = toml
	base := []string{"--address", sock, "--namespace", "ocir-e2e", "--snapshotter", "native", "--data-root", h.mkdir("nerdctl")}

	for _, ref := range []string{hostShort + "/" + seedRepo + ":latest", hostDomain + "/" + seedRepo + ":latest"} {
		h.mustRun(nerdctl, append(base, "pull", "--quiet", ref)...)
	}
	out := h.mustRun(nerdctl, append(base, "images", "--format", "{{.Repository}}:{{.Tag}}")...)
	for _, want := range []string{hostShort + "/" + seedRepo + ":latest", hostDomain + "/" + seedRepo + ":latest"} {
		if !strings.Contains(out, want) {
			t.Errorf("nerdctl images lacks %s:\n%s", want, out)
		}
	}
	h.assertHelperAnswered(hostShort)
	h.assertHelperAnswered(hostDomain)
}

// startContainerd runs a private containerd (no CRI, native snapshotter)
// with root, state and socket in a short temp dir (unix socket paths are
// limited to ~108 bytes) and stops it when the test ends.
func startContainerd(t *testing.T, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "c.sock")
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc", filepath.Join(dir, "opt"))
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		_ = logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			_ = c.Close()
			return sock
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("containerd exited: %v\n%s", waitErr, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("containerd did not listen on %s within 30s\n%s", sock, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
