package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

const (
	helperName = "docker-credential-ocir"
	// The two host name forms of the emulator's region, as users write them.
	hostShort  = "iad.ocir.io"
	hostDomain = "ocir.us-ashburn-1.oci.oraclecloud.com"

	seedRepo    = "demotenancy/hello"
	publicRepo  = "public/hello"
	commandWait = 3 * time.Minute
)

// binDir holds the docker-credential-ocir built for this run.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ocir-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	// The go command that runs this test is first on PATH under `go test`.
	goBin, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the go command is needed to build the helper:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", filepath.Join(dir, helperName),
		"-ldflags", "-X github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version.Version=v0.0.0-e2e",
		"github.com/ocir-credential-helper/ocir-credential-helper/cmd/docker-credential-ocir")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building %s: %v\n%s", helperName, err, out)
		return 1
	}
	return m.Run()
}

// toolDirs are searched for clients before PATH: $OCIR_E2E_BIN, then
// <repo>/.tmp/tools/bin, where `make tools` and .ci/run put them.
func toolDirs() []string {
	var dirs []string
	if d := os.Getenv("OCIR_E2E_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if root, err := filepath.Abs(filepath.Join("..", "..")); err == nil {
		dirs = append(dirs, filepath.Join(root, ".tmp", "tools", "bin"))
	}
	return dirs
}

// requireTool returns the path of a client, or skips the test (fails it
// under CI=true, where every client must be installed).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	for _, d := range toolDirs() {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	skipOrFail(t, name, fmt.Sprintf("CLIENT MISSING: %s is not in $OCIR_E2E_BIN, .tmp/tools/bin or PATH; run `make tools`", name))
	return ""
}

// requireRoot skips (fails under CI) tests of clients that need root here.
func requireRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	skipOrFail(t, what, fmt.Sprintf("NOT ROOT: %s runs rootful in this suite and needs root (run the tests as root)", what))
}

// skipOrFail fails the test under CI=true and skips it otherwise. A skip is
// also appended to the file named by $OCIR_E2E_SKIPPED, from which `make
// test` prints a summary: go test shows nothing of a passing package's
// skips without -v.
func skipOrFail(t *testing.T, client, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	if report := os.Getenv("OCIR_E2E_SKIPPED"); report != "" {
		if f, err := os.OpenFile(report, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
			_, _ = fmt.Fprintf(f, "%s\t%s\t%s\n", client, t.Name(), msg)
			_ = f.Close()
		}
	}
	t.Skip("SKIP " + msg)
}

// identity says which OCI identity the helper finds in the environment.
type identity int

const (
	// apiKey: the emulator's OCI config file with an API-key profile.
	apiKey identity = iota
	// noIdentity: no OCI config, no instance metadata service.
	noIdentity
	// instancePrincipal: only the emulator's instance metadata service.
	instancePrincipal
)

// harness is one emulator plus a private environment for the clients:
// HOME, docker config, caches and helper log all under a temp dir, and
// nothing inherited from the caller but PATH.
type harness struct {
	t       *testing.T
	emu     *emulator.Emulator
	dir     string
	logFile string
	env     map[string]string
}

func newHarness(t *testing.T, id identity) *harness {
	t.Helper()
	emu, dir := emulatortest.Start(t)
	h := &harness{t: t, emu: emu, dir: dir, logFile: filepath.Join(dir, "helper.log")}
	path := []string{binDir}
	path = append(path, toolDirs()...)
	path = append(path, os.Getenv("PATH"))
	h.env = map[string]string{
		"PATH":            strings.Join(path, string(os.PathListSeparator)),
		"HOME":            h.mkdir("home"),
		"DOCKER_CONFIG":   filepath.Join(dir, "docker"),
		"XDG_CONFIG_HOME": h.mkdir("xdg-config"),
		"XDG_RUNTIME_DIR": h.mkdir("xdg-run"),
		"TMPDIR":          h.mkdir("tmp"),
		"OCIR_CACHE_DIR":  filepath.Join(dir, "ocir-cache"),
		"OCIR_LOG_FILE":   h.logFile,
		"OCIR_LOG_LEVEL":  "debug",
	}
	for _, kv := range emu.Env() {
		k, v, _ := strings.Cut(kv, "=")
		h.env[k] = v
	}
	switch id {
	case noIdentity:
		delete(h.env, "OCI_CLI_CONFIG_FILE")
		delete(h.env, "OCI_METADATA_BASE_URL")
	case instancePrincipal:
		delete(h.env, "OCI_CLI_CONFIG_FILE")
	}
	return h
}

func (h *harness) mkdir(rel string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, rel)
	if err := os.MkdirAll(p, 0o700); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) environ() []string {
	out := make([]string, 0, len(h.env))
	for k, v := range h.env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// run runs a program in the harness environment.
func (h *harness) run(name string, args ...string) (stdout, stderr string, err error) {
	h.t.Helper()
	return h.runStdin("", name, args...)
}

// runStdin runs a program in the harness environment with stdin.
func (h *harness) runStdin(stdin, name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = h.environ()
	cmd.Dir = h.dir
	var o, e bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timed out after %v)", err, commandWait)
	}
	return o.String(), e.String(), err
}

// mustRun runs a program and fails the test if it fails.
func (h *harness) mustRun(name string, args ...string) string {
	h.t.Helper()
	out, errOut, err := h.run(name, args...)
	if err != nil {
		h.t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s\nhelper log:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, errOut, h.helperLog())
	}
	return out
}

// helper runs the built docker-credential-ocir.
func (h *harness) helper(args ...string) (stdout, stderr string, err error) {
	h.t.Helper()
	return h.helperStdin("", args...)
}

// helperStdin runs the built docker-credential-ocir with stdin.
func (h *harness) helperStdin(stdin string, args ...string) (stdout, stderr string, err error) {
	h.t.Helper()
	return h.runStdin(stdin, filepath.Join(binDir, helperName), args...)
}

// configureDocker runs configure-docker. With an OCI config it selects no
// hosts, so they come from the profile's region (both forms), as a user
// would run it; without one it names the region.
func (h *harness) configureDocker(extra ...string) {
	h.t.Helper()
	args := []string{"configure-docker"}
	if _, ok := h.env["OCI_CLI_CONFIG_FILE"]; !ok {
		args = append(args, "--region", "us-ashburn-1")
	}
	out := h.mustRun(filepath.Join(binDir, helperName), append(args, extra...)...)
	if !strings.Contains(out, hostShort) || !strings.Contains(out, hostDomain) {
		h.t.Fatalf("configure-docker did not add both hosts:\n%s", out)
	}
}

func (h *harness) helperLog() string {
	b, err := os.ReadFile(h.logFile)
	if errors.Is(err, os.ErrNotExist) {
		return "(no helper log: the helper never ran)"
	}
	return string(b)
}

// assertHelperAnswered proves the helper ran for host and handed over a
// token it obtained from the (emulated) OCIR token service: its own log
// line and the emulator's count of signed token requests.
func (h *harness) assertHelperAnswered(host string) {
	h.t.Helper()
	log := h.helperLog()
	if !strings.Contains(log, `msg="credentials answered" registry=`+host) {
		h.t.Errorf("the helper never answered get for %s; helper log:\n%s", host, log)
	}
	if n := h.emu.CountHost("token", host); n < 1 {
		h.t.Errorf("no signed token request for %s reached the emulator", host)
	}
	if n := h.emu.CountHost("registry-auth", host); n < 1 {
		h.t.Errorf("no client exchanged BEARER_TOKEN credentials at the %s token realm", host)
	}
}

// containersEnv puts podman, buildah and skopeo state under the harness
// directory: vfs storage, no system registries configuration, cgroupfs,
// file events and locks, an accept-anything signature policy. What their
// rootful mode still writes to fixed system paths is kept off the host by
// mustRunContained.
func (h *harness) containersEnv() (policy string) {
	h.t.Helper()
	store := h.mkdir("containers")
	write := func(name, content string) string {
		p := filepath.Join(store, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			h.t.Fatal(err)
		}
		return p
	}
	h.env["CONTAINERS_STORAGE_CONF"] = write("storage.conf", fmt.Sprintf("[storage]\ndriver = \"vfs\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(store, "graph"), filepath.Join(store, "run")))
	h.env["CONTAINERS_CONF"] = write("containers.conf", fmt.Sprintf(
		"[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nevents_logfile_path = %q\ntmp_dir = %q\nlock_type = \"file\"\n[network]\nnetwork_config_dir = %q\n",
		filepath.Join(store, "events.log"), filepath.Join(store, "tmp"), filepath.Join(store, "networks")))
	h.env["CONTAINERS_REGISTRIES_CONF"] = write("registries.conf", "")
	return write("policy.json", `{"default":[{"type":"insecureAcceptAnything"}]}`)
}

// rootfulScratch is run by sh in a private mount namespace: fresh tmpfs
// over the fixed paths the containers tools write as root whatever their
// configuration says — /var/lib/containers/cache/blob-info-cache-v1.boltdb
// (skopeo, podman, buildah), /run/containers/networks (netavark's run
// directory) and /dev/shm (podman's lock segment) — so a test leaves
// nothing behind outside its temp dir. /var/lib itself is covered because
// /var/lib/containers need not exist to be a mount point.
const rootfulScratch = `mount -t tmpfs -o mode=0755 ocir-e2e /var/lib &&
mount -t tmpfs -o mode=0755 ocir-e2e /run &&
mount -t tmpfs -o mode=1777 ocir-e2e /dev/shm &&
exec "$0" "$@"`

// mustRunContained runs skopeo, podman or buildah like mustRun; as root,
// inside a private mount namespace (rootfulScratch).
func (h *harness) mustRunContained(bin string, args ...string) string {
	h.t.Helper()
	if os.Geteuid() != 0 {
		return h.mustRun(bin, args...)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		h.t.Fatalf("unshare (util-linux) is needed to keep %s's system state off the host: %v", filepath.Base(bin), err)
	}
	if !rootIsMountPoint() {
		// A plain chroot: the private propagation unshare sets needs "/"
		// to be a mount point, and without it the scratch mounts could
		// propagate to the host. A container's root always is one.
		h.t.Fatalf("%s: the root directory is not a mount point (a plain chroot?), so its rootful state cannot be kept off the host; "+
			"run the tests in a container, or bind-mount the root onto itself before chroot", filepath.Base(bin))
	}
	return h.mustRun(unshare, append([]string{"--mount", "--propagation", "private", "sh", "-c", rootfulScratch, bin}, args...)...)
}

// rootIsMountPoint reports whether "/" is a mount point of this process's
// mount namespace. In a chroot whose directory is not one, the kernel
// leaves the enclosing mount out of /proc/self/mountinfo, so no entry has
// "/" as its mount point (the fifth field).
func rootIsMountPoint() bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return true // no procfs to ask: let unshare report what it finds
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/" {
			return true
		}
	}
	return false
}

// exitCodeOf is the exit code of a finished command (-1 if it did not run).
func exitCodeOf(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real clients are not run with -short")
	}
}
