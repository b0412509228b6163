package deploy

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// kubeadmUnit is `systemctl cat kubelet` on a kubeadm node (Debian layout).
const kubeadmUnit = `# /lib/systemd/system/kubelet.service
[Unit]
Description=kubelet: The Kubernetes Node Agent

[Service]
ExecStart=/usr/bin/kubelet
Restart=always

# /etc/systemd/system/kubelet.service.d/10-kubeadm.conf
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# This is a file that "kubeadm init" and "kubeadm join" generates at runtime.
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`

// fakeSystemctl is a pretend systemd with a pretend kubelet in the fake
// /proc. `cat` prints the unit; `is-active` says whether a kubelet runs;
// `restart` starts a kubelet, with a new PID each time, whose command line
// is what systemd would build: the unit's last ExecStart with the variables
// of every EnvironmentFile expanded (kubeadm-flags.env included; not
// FAKE_IGNORE_FILE, a host path; FAKE_ENV_FILE is read too), plus
// FAKE_EXTRA_ARGS, flags from somewhere the installer cannot see. Without an
// ExecStart, the command line is /usr/bin/kubelet $FAKE_VAR.
//
// Like the real one, the kubelet exits at once when the provider config or
// bin dir it is given is missing; with FAKE_CRASH_ON it exits 0.3s after
// starting when its provider config contains that string (a config the
// kubelet cannot use, say); FAKE_NO_START keeps it from starting at all.
const fakeSystemctl = `#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_LOG"
running() {
	for d in "$PROC"/[0-9]*; do
		[ -f "$d/comm" ] && return 0
	done
	return 1
}
case $1 in
cat) cat "$FAKE_UNIT" ;;
is-active) running ;;
restart)
	for d in "$PROC"/[0-9]*; do rm -rf "$d"; done
	pid=$(($(cat "$FAKE_STATE/pid" 2>/dev/null || echo 4241) + 1))
	echo "$pid" >"$FAKE_STATE/pid"
	[ -z "${FAKE_NO_START:-}" ] || exit 0
	args=$(
		for f in $(sed -n 's/^[[:space:]]*EnvironmentFile=-\{0,1\}//p' "$FAKE_UNIT") ${FAKE_ENV_FILE:-}; do
			if [ "$f" != "${FAKE_IGNORE_FILE:-}" ] && [ -f "$FAKE_ROOT$f" ]; then . "$FAKE_ROOT$f"; fi
		done
		line=$(sed -n 's/^[[:space:]]*ExecStart=//p' "$FAKE_UNIT" | grep . | tail -n 1)
		eval "set -- ${line:-/usr/bin/kubelet \$${FAKE_VAR:-KUBELET_EXTRA_ARGS}}"
		shift
		echo "$* ${FAKE_EXTRA_ARGS:-}"
	)
	mkdir -p "$PROC/$pid"
	echo kubelet >"$PROC/$pid/comm"
	printf '/usr/bin/kubelet %s' "$args" | tr -s ' ' '\000' >"$PROC/$pid/cmdline"
	for w in $args; do
		case $w in
		--image-credential-provider-config=* | --image-credential-provider-bin-dir=*)
			f=$FAKE_ROOT${w#*=}
			if [ ! -e "$f" ]; then
				echo "kubelet $pid exited: ${w#*=} is missing" >>"$FAKE_LOG"
				rm -rf "$PROC/$pid"
			elif [ -n "${FAKE_CRASH_ON:-}" ] && [ -f "$f" ] && grep -q -- "$FAKE_CRASH_ON" "$f"; then
				(sleep 0.3; echo "kubelet $pid exited: cannot use ${w#*=}" >>"$FAKE_LOG"; rm -rf "$PROC/$pid") >/dev/null 2>&1 </dev/null &
			fi
			;;
		esac
	done
	;;
esac
`

// fakeKubelet answers --version like a kubelet of that version.
const fakeKubelet = "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Kubernetes v%s'\n"

// node is a fake host root with a fake systemd and /proc.
type node struct {
	t                    *testing.T
	dir, root, proc, log string
	payload, unit        string
	extraEnv             []string
}

func newNode(t *testing.T, unit string, files map[string]string) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{t: t, dir: dir, root: filepath.Join(dir, "root"), proc: filepath.Join(dir, "proc"),
		log: filepath.Join(dir, "systemctl.log"), payload: filepath.Join(dir, "payload"), unit: filepath.Join(dir, "unit")}
	for _, d := range []string{n.root, n.proc, n.payload} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// What every node has before anything is installed.
	for _, d := range []string{"etc/default", "etc/sysconfig", "etc/kubernetes", "usr/local/lib", "var/lib/kubelet"} {
		if err := os.MkdirAll(filepath.Join(n.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files["etc/hostname"] = "node-1\n"
	if _, ok := files["usr/bin/kubelet"]; !ok {
		files["usr/bin/kubelet"] = fmt.Sprintf(fakeKubelet, "1.34.2")
	}
	for p, body := range files {
		n.writeHost(p, body)
	}
	n.write("unit", unit, 0o644)
	n.write("systemctl", fakeSystemctl, 0o755)
	n.setPayload("", nil)
	return n
}

func (n *node) write(name, body string, mode os.FileMode) {
	n.t.Helper()
	if err := os.WriteFile(filepath.Join(n.dir, name), []byte(body), mode); err != nil {
		n.t.Fatal(err)
	}
}

// writeHost writes a file of the host (an executable one under a bin dir).
func (n *node) writeHost(p, body string) {
	n.t.Helper()
	full := filepath.Join(n.root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		n.t.Fatal(err)
	}
	mode := os.FileMode(0o644)
	if strings.Contains(p, "bin/") || filepath.Base(p) == "kubelet" {
		mode = 0o755
	}
	if err := os.WriteFile(full, []byte(body), mode); err != nil {
		n.t.Fatal(err)
	}
}

// setPayload puts a plugin (a wrapper around the real binary, so a new
// "version" is one changed comment; it logs its arguments) and a config
// made by its `config` command with configArgs into the payload dir.
func (n *node) setPayload(version string, configArgs []string) {
	n.t.Helper()
	wrapper := fmt.Sprintf("#!/bin/sh\n# version %s\nprintf '%%s\\n' \"$*\" >>%q\nexec %q \"$@\"\n",
		version, filepath.Join(n.dir, "plugin-args"), pluginBin)
	if err := os.WriteFile(filepath.Join(n.payload, "ocir-credential-provider"), []byte(wrapper), 0o755); err != nil {
		n.t.Fatal(err)
	}
	out, err := exec.Command(pluginBin, append([]string{"config"}, configArgs...)...).Output()
	if err != nil {
		n.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(n.payload, "credential-provider-config.yaml"), out, 0o644); err != nil {
		n.t.Fatal(err)
	}
}

// hostEnv points install.sh at this fake node (root, systemctl, /proc,
// kubelet log and unit), plus the test's extra variables.
func (n *node) hostEnv() []string {
	return append([]string{
		"HOST_ROOT=" + n.root,
		"SYSTEMCTL=" + filepath.Join(n.dir, "systemctl"),
		"PROC=" + n.proc,
		"VERIFY_TIMEOUT=3",
		"VERIFY_STABLE=0",
		"HEALTHZ_URL=",
		"FAKE_LOG=" + n.log,
		"FAKE_UNIT=" + n.unit,
		"FAKE_ROOT=" + n.root,
		"FAKE_STATE=" + n.dir,
	}, n.extraEnv...)
}

// run runs install.sh with dash or whatever /bin/sh is, as on a node. The
// restarted kubelet must stay up VERIFY_STABLE=0 seconds unless a test
// asks for more; its healthz is not asked.
func (n *node) run(mode string, env ...string) (string, error) {
	n.t.Helper()
	cmd := exec.Command("/bin/sh", "install.sh", mode)
	cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH"), "PAYLOAD_DIR=" + n.payload}, n.hostEnv()...), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (n *node) mustRun(mode string, env ...string) string {
	n.t.Helper()
	out, err := n.run(mode, env...)
	if err != nil {
		n.t.Fatalf("install.sh %s: %v\n%s", mode, err, out)
	}
	return out
}

func (n *node) restarts() int {
	b, _ := os.ReadFile(n.log)
	return strings.Count(string(b), "restart kubelet\n")
}

func (n *node) read(p string) string {
	b, err := os.ReadFile(filepath.Join(n.root, p))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// kubeletPID is the fake kubelet's PID, "" when none runs.
func (n *node) kubeletPID() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "pid"))
	pid := strings.TrimSpace(string(b))
	if _, err := os.Stat(filepath.Join(n.proc, pid, "comm")); pid == "" || err != nil {
		return ""
	}
	return pid
}

// kubeletCmdline is the running fake kubelet's command line, "" when none
// runs.
func (n *node) kubeletCmdline() string {
	pid := n.kubeletPID()
	if pid == "" {
		return ""
	}
	b, _ := os.ReadFile(filepath.Join(n.proc, pid, "cmdline"))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// startKubelet starts a kubelet as systemd would (through the fake), as if
// the node had booted; it does not count as a restart by the installer.
func (n *node) startKubelet(env ...string) {
	n.t.Helper()
	cmd := exec.Command(filepath.Join(n.dir, "systemctl"), "restart", "kubelet")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "PROC=" + n.proc, "FAKE_LOG=" + filepath.Join(n.dir, "boot.log"),
		"FAKE_UNIT=" + n.unit, "FAKE_ROOT=" + n.root, "FAKE_STATE=" + n.dir}, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("start kubelet: %v %s", err, out)
	}
}

const (
	flagConfig = "--image-credential-provider-config=/etc/kubernetes/ocir-credential-provider.yaml"
	flagBin    = "--image-credential-provider-bin-dir=/usr/local/lib/ocir-credential-provider"
	// failedMemo is where a rolled-back install is remembered.
	failedMemo = "var/lib/ocir-credential-provider/failed-install"
)

// withoutMemo is a snapshot without the failed-install memo (and the
// directory holding it, when that is all it holds).
func withoutMemo(s map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range s {
		out[k] = v
	}
	delete(out, failedMemo)
	for k := range out {
		if strings.HasPrefix(k, "var/lib/ocir-credential-provider/") {
			return out
		}
	}
	delete(out, "var/lib/ocir-credential-provider")
	return out
}

func TestInstallIsIdempotentAndUninstallRestores(t *testing.T) {
	for _, tc := range []struct {
		name      string
		unit      string
		flagsFile string
		files     map[string]string
		absent    []string // directories the node does not have
		wantLine  string
	}{
		{
			name: "kubeadm on Debian with extra args", unit: kubeadmUnit, flagsFile: "etc/default/kubelet",
			files:    map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.5\n"},
			wantLine: `KUBELET_EXTRA_ARGS="--node-ip=10.0.0.5 ` + flagConfig + " " + flagBin + `"`,
		},
		{
			name: "quoted value among other variables", unit: kubeadmUnit, flagsFile: "etc/default/kubelet",
			files:    map[string]string{"etc/default/kubelet": "# managed by hand\nFOO=bar\nKUBELET_EXTRA_ARGS='--v=2 --node-labels=a=b'\nBAZ=\"q\"\n"},
			wantLine: `KUBELET_EXTRA_ARGS='--v=2 --node-labels=a=b ` + flagConfig + " " + flagBin + `'`,
		},
		{
			name: "RHEL layout without a flags file", unit: strings.ReplaceAll(kubeadmUnit, "/etc/default/kubelet", "/etc/sysconfig/kubelet"), flagsFile: "etc/sysconfig/kubelet",
			files:    map[string]string{},
			wantLine: `KUBELET_EXTRA_ARGS="` + flagConfig + " " + flagBin + `"`,
		},
		{
			name: "a node without /etc/kubernetes, /usr/local/lib and /etc/default", unit: kubeadmUnit, flagsFile: "etc/default/kubelet",
			files: map[string]string{}, absent: []string{"etc/kubernetes", "usr/local/lib", "etc/default"},
			wantLine: `KUBELET_EXTRA_ARGS="` + flagConfig + " " + flagBin + `"`,
		},
		{
			name: "flags file without the variable", unit: kubeadmUnit, flagsFile: "etc/default/kubelet",
			files:    map[string]string{"etc/default/kubelet": "HTTP_PROXY=http://proxy.internal:3128\n"},
			wantLine: `KUBELET_EXTRA_ARGS="` + flagConfig + " " + flagBin + `"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, tc.unit, tc.files)
			for _, d := range tc.absent {
				if err := os.Remove(filepath.Join(n.root, d)); err != nil {
					t.Fatal(err)
				}
			}
			pristine := snapshot(t, n.root)

			out := n.mustRun("install")
			if n.restarts() != 1 {
				t.Fatalf("first install restarted the kubelet %d times, want 1\n%s", n.restarts(), out)
			}
			if got := n.read(tc.flagsFile); !strings.Contains(got, tc.wantLine+"\n") {
				t.Errorf("%s:\n%s\nwant the line %s", tc.flagsFile, got, tc.wantLine)
			}
			if c := n.kubeletCmdline(); !strings.Contains(c, flagConfig) || !strings.Contains(c, flagBin) {
				t.Errorf("restarted kubelet runs as %q", c)
			}
			if fi, err := os.Stat(filepath.Join(n.root, "usr/local/lib/ocir-credential-provider/ocir-credential-provider")); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("binary: %v %v", fi, err)
			}
			if !strings.Contains(n.read("etc/kubernetes/ocir-credential-provider.yaml"), "kind: CredentialProviderConfig") {
				t.Error("config not installed")
			}

			installed := snapshot(t, n.root)
			out = n.mustRun("install")
			if d := diff(installed, snapshot(t, n.root)); d != "" {
				t.Errorf("second install changed the host:\n%s", d)
			}
			if n.restarts() != 1 || !strings.Contains(out, "not restarted") {
				t.Errorf("second install restarted the kubelet (%d restarts)\n%s", n.restarts(), out)
			}

			n.mustRun("uninstall")
			if d := diff(pristine, snapshot(t, n.root)); d != "" {
				t.Errorf("uninstall did not restore the host:\n%s", d)
			}
			if n.restarts() != 2 {
				t.Errorf("uninstall: %d restarts in all, want 2", n.restarts())
			}
			out = n.mustRun("uninstall")
			if n.restarts() != 2 || !strings.Contains(out, "not restarted") {
				t.Errorf("second uninstall restarted the kubelet\n%s", out)
			}
		})
	}
}

func TestUninstallKeepsFlagsAddedAfterInstall(t *testing.T) {
	n := newNode(t, kubeadmUnit, map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.5\n"})
	n.mustRun("install")
	line := `KUBELET_EXTRA_ARGS="--node-ip=10.0.0.5 ` + flagConfig + " " + flagBin + ` --v=4"` + "\n"
	if err := os.WriteFile(filepath.Join(n.root, "etc/default/kubelet"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	n.mustRun("uninstall")
	if got := n.read("etc/default/kubelet"); got != `KUBELET_EXTRA_ARGS="--node-ip=10.0.0.5 --v=4"`+"\n" {
		t.Errorf("after uninstall: %q", got)
	}
}

func TestInstallRestartsOnlyForWhatTheKubeletReads(t *testing.T) {
	n := newNode(t, kubeadmUnit, map[string]string{})
	n.mustRun("install")

	// A new binary is picked up at the next exec: no restart.
	n.setPayload("2", nil)
	out := n.mustRun("install")
	if n.restarts() != 1 || !strings.Contains(out, "installed /usr/local/lib/ocir-credential-provider/ocir-credential-provider") {
		t.Errorf("binary update: %d restarts\n%s", n.restarts(), out)
	}
	// A new config is only read at kubelet start: restart.
	n.setPayload("2", []string{"--verify-pull"})
	out = n.mustRun("install")
	if n.restarts() != 2 || !strings.Contains(out, "installed /etc/kubernetes/ocir-credential-provider.yaml") {
		t.Errorf("config update: %d restarts\n%s", n.restarts(), out)
	}
	// A kubelet running without the flags (restarted by hand from an old
	// unit, say) is restarted although no file changed.
	if err := os.WriteFile(filepath.Join(n.proc, n.kubeletPID(), "cmdline"), []byte("/usr/bin/kubelet\x00--v=2"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = n.mustRun("install")
	if n.restarts() != 3 || !strings.Contains(out, "lacks the flags") {
		t.Errorf("kubelet without flags: %d restarts\n%s", n.restarts(), out)
	}
}

func TestInstallLinksEveryProviderName(t *testing.T) {
	n := newNode(t, kubeadmUnit, map[string]string{})
	n.setPayload("1", []string{"--service-account-audience", "ocir", "--required-annotation", "ocir-credential-provider/workload-identity"})
	pristine := snapshot(t, n.root)
	n.mustRun("install")
	link, err := os.Readlink(filepath.Join(n.root, "usr/local/lib/ocir-credential-provider/ocir-credential-provider-workload"))
	if err != nil || link != "ocir-credential-provider" {
		t.Errorf("second provider name: %q %v", link, err)
	}
	n.mustRun("uninstall")
	if d := diff(pristine, snapshot(t, n.root)); d != "" {
		t.Errorf("uninstall left:\n%s", d)
	}
}

func TestInstallRefusesAndChangesNothing(t *testing.T) {
	other := "KUBELET_EXTRA_ARGS=--image-credential-provider-config=/etc/other.yaml --image-credential-provider-bin-dir=/opt/other\n"
	saConfig := func(n *node) {
		n.setPayload("", []string{"--service-account-audience", "ocir", "--required-annotation", "ocir-credential-provider/workload-identity"})
	}
	for _, tc := range []struct {
		name, unit string
		files      map[string]string
		payload    func(n *node)
		setup      func(n *node) // after the payload, before the snapshot
		env        []string
		want       string
	}{
		{name: "another credential provider is configured", unit: kubeadmUnit,
			files: map[string]string{"etc/default/kubelet": other}, want: "/etc/default/kubelet already has --image-credential-provider-config=/etc/other.yaml"},
		// Flags the installer does not edit still reach the kubelet.
		{name: "another provider config in kubeadm-flags.env", unit: kubeadmUnit,
			files: map[string]string{"var/lib/kubelet/kubeadm-flags.env": `KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///run/containerd/containerd.sock --image-credential-provider-config=/etc/eks/image-credential-provider/config.json"` + "\n"},
			want:  "/var/lib/kubelet/kubeadm-flags.env already has --image-credential-provider-config=/etc/eks/image-credential-provider/config.json"},
		{name: "another bin dir in kubeadm-flags.env, value as a separate word", unit: kubeadmUnit,
			files: map[string]string{"var/lib/kubelet/kubeadm-flags.env": "KUBELET_KUBEADM_ARGS='--image-credential-provider-bin-dir /opt/other/bin'\n"},
			want:  "/var/lib/kubelet/kubeadm-flags.env already has --image-credential-provider-bin-dir=/opt/other/bin"},
		{name: "another provider config in a drop-in's ExecStart", unit: kubeadmUnit + "\n# /etc/systemd/system/kubelet.service.d/30-ecr.conf\n[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_EXTRA_ARGS --image-credential-provider-config=/etc/ecr.yaml --image-credential-provider-bin-dir=/opt/ecr\n",
			files: map[string]string{}, want: "kubelet unit (systemctl cat kubelet) already has --image-credential-provider-config=/etc/ecr.yaml"},
		{name: "another provider config in the unit's Environment=", unit: strings.Replace(kubeadmUnit, "--config=/var/lib/kubelet/config.yaml", "--config=/var/lib/kubelet/config.yaml --image-credential-provider-config=/etc/k.yaml", 1),
			files: map[string]string{}, want: "already has --image-credential-provider-config=/etc/k.yaml"},
		{name: "the running kubelet has another provider config", unit: kubeadmUnit, files: map[string]string{"run/other.yaml": "providers: []\n", "run/bin/other": ""},
			setup: func(n *node) {
				n.startKubelet("FAKE_EXTRA_ARGS=--image-credential-provider-config=/run/other.yaml --image-credential-provider-bin-dir=/run/bin")
			}, want: "the running kubelet's command line already has --image-credential-provider-config=/run/other.yaml"},
		{name: "the unit does not expand KUBELET_EXTRA_ARGS", unit: "[Service]\nExecStart=/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml\n",
			files: map[string]string{}, want: "does not expand $KUBELET_EXTRA_ARGS"},
		{name: "the unit sets KUBELET_EXTRA_ARGS itself", unit: "[Service]\nEnvironment=\"KUBELET_EXTRA_ARGS=--v=2\"\nEnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet $KUBELET_EXTRA_ARGS\n",
			files: map[string]string{}, want: "sets KUBELET_EXTRA_ARGS with Environment="},
		{name: "no systemd unit", unit: "", files: map[string]string{}, want: "cannot read the kubelet unit"},
		{name: "invalid payload config", unit: kubeadmUnit, files: map[string]string{},
			payload: func(n *node) {
				bad := "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n"
				if err := os.WriteFile(filepath.Join(n.payload, "credential-provider-config.yaml"), []byte(bad), 0o644); err != nil {
					t.Fatal(err)
				}
			}, want: "is not a valid credential provider config"},
		{name: "missing payload binary", unit: kubeadmUnit, files: map[string]string{},
			payload: func(n *node) { _ = os.Remove(filepath.Join(n.payload, "ocir-credential-provider")) }, want: "no executable"},
		{name: "bad FLAGS_VAR", unit: kubeadmUnit, files: map[string]string{}, env: []string{"FLAGS_VAR=A;B"}, want: "not a variable name"},
		// Paths land in the kubelet's flags and name files this script
		// replaces: only plain absolute ones.
		{name: "relative BIN_DIR", unit: kubeadmUnit, files: map[string]string{}, env: []string{"BIN_DIR=relative/dir"}, want: "BIN_DIR 'relative/dir' is not an absolute path"},
		{name: "relative CONFIG_FILE", unit: kubeadmUnit, files: map[string]string{}, env: []string{"CONFIG_FILE=ocir.yaml"}, want: "CONFIG_FILE 'ocir.yaml' is not an absolute path"},
		{name: "relative FLAGS_FILE", unit: kubeadmUnit, files: map[string]string{}, env: []string{"FLAGS_FILE=etc/default/kubelet"}, want: "FLAGS_FILE 'etc/default/kubelet' is not an absolute path"},
		{name: "BIN_DIR is the root", unit: kubeadmUnit, files: map[string]string{}, env: []string{"BIN_DIR=/"}, want: "BIN_DIR '/' must name a file or directory plainly"},
		{name: "CONFIG_FILE climbs out", unit: kubeadmUnit, files: map[string]string{}, env: []string{"CONFIG_FILE=/../escape.yaml"}, want: "CONFIG_FILE '/../escape.yaml' must name a file or directory plainly"},
		{name: "BIN_DIR with a space", unit: kubeadmUnit, files: map[string]string{}, env: []string{"BIN_DIR=/opt/my dir"}, want: "BIN_DIR '/opt/my dir' has a character other than"},
		{name: "CONFIG_FILE with a newline", unit: kubeadmUnit, files: map[string]string{}, env: []string{"CONFIG_FILE=/etc/a\nb.yaml"}, want: "has a character other than"},
		{name: "CONFIG_FILE is another program", unit: kubeadmUnit, files: map[string]string{}, env: []string{"CONFIG_FILE=/usr/bin/kubelet"}, want: "/usr/bin/kubelet already exists and was not installed by this script"},
		{name: "CONFIG_FILE is the flags file", unit: kubeadmUnit, files: map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.1\n"}, env: []string{"CONFIG_FILE=/etc/default/kubelet"}, want: "CONFIG_FILE and the flags file are both /etc/default/kubelet"},
		{name: "CONFIG_FILE is a directory", unit: kubeadmUnit, files: map[string]string{"etc/kubernetes/providers/keep": ""}, env: []string{"CONFIG_FILE=/etc/kubernetes/providers"}, want: "/etc/kubernetes/providers exists and is not a regular file"},
		{name: "bad VERIFY_STABLE", unit: kubeadmUnit, files: map[string]string{}, env: []string{"VERIFY_STABLE=10s"}, want: "VERIFY_STABLE '10s' is not a number"},
		// The kubelet's version decides what it accepts.
		{name: "kubelet older than 1.26", unit: kubeadmUnit, files: map[string]string{"usr/bin/kubelet": fmt.Sprintf(fakeKubelet, "1.25.16")},
			want: "the kubelet is v1.25; ocir-credential-provider needs kubelet 1.26 or newer"},
		{name: "service-account mode on kubelet 1.33", unit: kubeadmUnit, files: map[string]string{"usr/bin/kubelet": fmt.Sprintf(fakeKubelet, "1.33.5")},
			payload: saConfig, want: "uses service-account token mode (tokenAttributes), which needs kubelet 1.34 or newer; this kubelet is v1.33"},
		{name: "service-account mode, KUBELET_VERSION says 1.32", unit: kubeadmUnit, files: map[string]string{},
			payload: saConfig, env: []string{"KUBELET_VERSION=v1.32.1"}, want: "needs kubelet 1.34 or newer; this kubelet is v1.32"},
		{name: "no kubelet binary to ask", unit: kubeadmUnit, files: map[string]string{"usr/bin/kubelet": "#!/bin/sh\nexit 1\n"},
			want: "cannot tell the kubelet's version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, tc.unit, tc.files)
			if tc.payload != nil {
				tc.payload(n)
			}
			if tc.setup != nil {
				tc.setup(n)
			}
			before := snapshot(t, n.root)
			out, err := n.run("install", tc.env...)
			if err == nil {
				t.Fatalf("install succeeded:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("output does not say %q:\n%s", tc.want, out)
			}
			if d := diff(before, snapshot(t, n.root)); d != "" {
				t.Errorf("a refused install changed the host:\n%s", d)
			}
			if n.restarts() != 0 {
				t.Error("a refused install restarted the kubelet")
			}
		})
	}
}

func TestInstallValidatesForTheNodesKubelet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		env     []string
		want    string // in the validate-config command line
	}{
		{"1.33.5", nil, "validate-config --no-service-account-tokens --names"},
		{"1.26.0", nil, "validate-config --no-service-account-tokens --names"},
		{"1.34.2", nil, "validate-config --names"},
		{"1.37.0", nil, "validate-config --names"},
		// No binary to ask, but the version is given.
		{"", []string{"KUBELET_VERSION=1.30"}, "validate-config --no-service-account-tokens --names"},
		{"", []string{"KUBELET_BIN=/opt/k8s/kubelet"}, "validate-config --names"},
	} {
		files := map[string]string{"usr/bin/kubelet": "#!/bin/sh\nexit 1\n", "opt/k8s/kubelet": fmt.Sprintf(fakeKubelet, "1.35.1")}
		if tc.version != "" {
			files["usr/bin/kubelet"] = fmt.Sprintf(fakeKubelet, tc.version)
		}
		n := newNode(t, kubeadmUnit, files)
		out := n.mustRun("install", tc.env...)
		args, _ := os.ReadFile(filepath.Join(n.dir, "plugin-args"))
		if !strings.Contains(string(args), tc.want+" ") {
			t.Errorf("kubelet %q %v: the plugin ran as\n%s\nwant %q\n%s", tc.version, tc.env, args, tc.want, out)
		}
	}
}

// TestInstallRollsBackAKubeletThatDoesNotStayUp: a kubelet that starts with
// the flags but exits a second later is not a success. The installer puts
// the node back as it was, restarts the kubelet again, fails, and does not
// try the same payload again (each try would restart the kubelet).
func TestInstallRollsBackAKubeletThatDoesNotStayUp(t *testing.T) {
	t.Parallel()
	n := newNode(t, kubeadmUnit, map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.5\n"})
	n.startKubelet()
	pristine := snapshot(t, n.root)
	// This kubelet cannot use a config that has --verify-pull in it.
	n.extraEnv = []string{"FAKE_CRASH_ON=verify-pull", "VERIFY_STABLE=2"}
	n.setPayload("1", []string{"--verify-pull"})

	out, err := n.run("install")
	if err == nil || !strings.Contains(out, "did not stay up for 2s") || !strings.Contains(out, "Rolled back: the kubelet runs as before the install") {
		t.Fatalf("err %v\n%s", err, out)
	}
	if d := diff(pristine, withoutMemo(snapshot(t, n.root))); d != "" {
		t.Errorf("the rollback left:\n%s", d)
	}
	if n.restarts() != 2 {
		t.Errorf("%d restarts, want 2 (install, rollback)", n.restarts())
	}
	if c := n.kubeletCmdline(); c == "" || strings.Contains(c, flagConfig) {
		t.Errorf("after the rollback the kubelet runs as %q, want it running without the flags", c)
	}

	// The DaemonSet retries its init container: no more restarts.
	for range 2 {
		out, err = n.run("install")
		if err == nil || !strings.Contains(out, "failed on this node before and was rolled back") || !strings.Contains(out, "RETRY_FAILED=1") {
			t.Fatalf("retry: err %v\n%s", err, out)
		}
	}
	if n.restarts() != 2 {
		t.Errorf("retries restarted the kubelet: %d restarts", n.restarts())
	}
	if d := diff(pristine, withoutMemo(snapshot(t, n.root))); d != "" {
		t.Errorf("a refused retry changed the host:\n%s", d)
	}
	// Asked to, it tries again (and rolls back again).
	if out, err = n.run("install", "RETRY_FAILED=1"); err == nil || n.restarts() != 4 {
		t.Errorf("RETRY_FAILED=1: err %v, %d restarts\n%s", err, n.restarts(), out)
	}
	// A different payload is tried without being asked, and works.
	n.setPayload("2", nil)
	n.mustRun("install", "VERIFY_STABLE=0")
	if n.restarts() != 5 || !strings.Contains(n.kubeletCmdline(), flagConfig) {
		t.Errorf("new payload: %d restarts, kubelet %q", n.restarts(), n.kubeletCmdline())
	}
	if _, err := os.Stat(filepath.Join(n.root, failedMemo)); !os.IsNotExist(err) {
		t.Errorf("the memo of the failed install outlived a good one: %v", err)
	}
	n.mustRun("uninstall", "VERIFY_STABLE=0")
	if d := diff(pristine, snapshot(t, n.root)); d != "" {
		t.Errorf("uninstall left:\n%s", d)
	}
}

// TestInstallRollsBackAFailedUpdate: a new config the kubelet cannot use
// brings back the previous config, binary and flags, and the kubelet runs
// with those again.
func TestInstallRollsBackAFailedUpdate(t *testing.T) {
	t.Parallel()
	n := newNode(t, kubeadmUnit, map[string]string{"var/lib/kubelet/kubeadm-flags.env": "KUBELET_KUBEADM_ARGS=--pod-infra-container-image=pause:3.9\n"})
	n.mustRun("install")
	installed := snapshot(t, n.root)
	n.extraEnv = []string{"FAKE_CRASH_ON=verify-pull", "VERIFY_STABLE=2"}
	n.setPayload("2", []string{"--verify-pull"})
	out, err := n.run("install")
	if err == nil || !strings.Contains(out, "Rolled back") {
		t.Fatalf("err %v\n%s", err, out)
	}
	if d := diff(installed, withoutMemo(snapshot(t, n.root))); d != "" {
		t.Errorf("the rollback did not restore the previous install:\n%s", d)
	}
	if c := n.kubeletCmdline(); !strings.Contains(c, flagConfig) || !strings.Contains(c, "--pod-infra-container-image=pause:3.9") {
		t.Errorf("after the rollback the kubelet runs as %q", c)
	}
	if n.restarts() != 3 {
		t.Errorf("%d restarts, want 3", n.restarts())
	}
}

// TestInstallPassesOnHealthz: a kubelet whose healthz answers ok passes at
// once, without waiting VERIFY_STABLE seconds.
func TestInstallPassesOnHealthz(t *testing.T) {
	t.Parallel()
	_, curl := exec.LookPath("curl")
	_, wget := exec.LookPath("wget")
	if curl != nil && wget != nil {
		t.Skip("install.sh asks healthz with curl or wget; neither is installed")
	}
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	n := newNode(t, kubeadmUnit, map[string]string{})
	start := time.Now()
	n.mustRun("install", "VERIFY_STABLE=60", "VERIFY_TIMEOUT=90", "HEALTHZ_URL="+srv.URL+"/healthz")
	if d := time.Since(start); d > 30*time.Second || asked.Load() == 0 {
		t.Errorf("install took %s, healthz asked %d times", d, asked.Load())
	}
}

// TestInstallEditsTheLastDefinition: systemd uses the last of several
// definitions of a variable in an environment file; that is the one to
// edit (editing another would leave the kubelet without the flags and make
// every retry restart it again).
func TestInstallEditsTheLastDefinition(t *testing.T) {
	t.Parallel()
	before := "KUBELET_EXTRA_ARGS=--v=2\n# later override\nKUBELET_EXTRA_ARGS=\"--node-ip=10.0.0.5\"\nOTHER=1\n"
	n := newNode(t, kubeadmUnit, map[string]string{"etc/default/kubelet": before})
	pristine := snapshot(t, n.root)
	n.mustRun("install")
	want := "KUBELET_EXTRA_ARGS=--v=2\n# later override\nKUBELET_EXTRA_ARGS=\"--node-ip=10.0.0.5 " + flagConfig + " " + flagBin + "\"\nOTHER=1\n"
	if got := n.read("etc/default/kubelet"); got != want {
		t.Errorf("flags file:\n%s\nwant\n%s", got, want)
	}
	if c := n.kubeletCmdline(); !strings.Contains(c, flagConfig) || !strings.Contains(c, "--node-ip=10.0.0.5") {
		t.Errorf("kubelet runs as %q", c)
	}
	if out := n.mustRun("install"); n.restarts() != 1 || !strings.Contains(out, "not restarted") {
		t.Errorf("second install: %d restarts\n%s", n.restarts(), out)
	}
	n.mustRun("uninstall")
	if d := diff(pristine, snapshot(t, n.root)); d != "" {
		t.Errorf("uninstall left:\n%s", d)
	}
}

func TestInstallFailsWhenTheKubeletIgnoresTheFlags(t *testing.T) {
	t.Parallel()
	n := newNode(t, kubeadmUnit, map[string]string{})
	n.startKubelet()
	pristine := snapshot(t, n.root)
	out, err := n.run("install", "FAKE_IGNORE_FILE=/etc/default/kubelet", "VERIFY_STABLE=1")
	if err == nil || !strings.Contains(out, "runs without "+flagConfig) || !strings.Contains(out, "FLAGS_FILE") || !strings.Contains(out, "Rolled back") {
		t.Errorf("err %v\n%s", err, out)
	}
	if d := diff(pristine, withoutMemo(snapshot(t, n.root))); d != "" {
		t.Errorf("the rollback left:\n%s", d)
	}
}

func TestInstallWithExplicitFlagsFile(t *testing.T) {
	t.Parallel()
	// No readable unit: FLAGS_FILE and FLAGS_VAR say where the flags go.
	n := newNode(t, "", map[string]string{"etc/kubernetes/kubelet.env": "KUBELET_ARGS=--v=2\n"})
	pristine := snapshot(t, n.root)
	env := []string{"FLAGS_FILE=/etc/kubernetes/kubelet.env", "FLAGS_VAR=KUBELET_ARGS", "FAKE_VAR=KUBELET_ARGS", "FAKE_ENV_FILE=/etc/kubernetes/kubelet.env"}
	out := n.mustRun("install", env...)
	if got := n.read("etc/kubernetes/kubelet.env"); got != `KUBELET_ARGS="--v=2 `+flagConfig+" "+flagBin+`"`+"\n" {
		t.Errorf("flags file %q\n%s", got, out)
	}
	n.mustRun("uninstall", env...)
	if d := diff(pristine, snapshot(t, n.root)); d != "" {
		t.Errorf("uninstall left:\n%s", d)
	}
}

// --- uninstall while something else still names our files ------------------

// dropIn is the shipped systemd drop-in as `systemctl cat` shows it.
func dropIn(t *testing.T) string {
	b, err := os.ReadFile("systemd/20-ocir-credential-provider.conf")
	if err != nil {
		t.Fatal(err)
	}
	return "\n# /etc/systemd/system/kubelet.service.d/20-ocir-credential-provider.conf\n" + string(b)
}

// TestUninstallKeepsWhatTheKubeletStillNeeds: the kubelet exits at start
// without its provider config or bin dir, so while the unit or one of its
// environment files still names ours, uninstall changes nothing and fails.
func TestUninstallKeepsWhatTheKubeletStillNeeds(t *testing.T) {
	cloudInit := `KUBELET_KUBEADM_ARGS="--node-ip=10.0.0.5 ` + flagConfig + " " + flagBin + `"` + "\n"
	for _, tc := range []struct {
		name    string
		install bool              // run install.sh install first
		unit    func() string     // the unit at uninstall time
		files   map[string]string // host files at uninstall time
		want    string
	}{
		{name: "the shipped drop-in was installed too", install: true,
			unit: func() string { return kubeadmUnit + dropIn(t) }, want: "kubelet unit (systemctl cat kubelet)"},
		{name: "cloud-init's extra args in kubeadm-flags.env, no install.sh", unit: func() string { return kubeadmUnit },
			files: map[string]string{"var/lib/kubelet/kubeadm-flags.env": cloudInit}, want: "/var/lib/kubelet/kubeadm-flags.env"},
		{name: "flags added by hand next to install.sh's", install: true, unit: func() string { return kubeadmUnit },
			files: map[string]string{"var/lib/kubelet/kubeadm-flags.env": cloudInit}, want: "/var/lib/kubelet/kubeadm-flags.env"},
		{name: "flags added by hand, no install.sh", unit: func() string { return kubeadmUnit },
			files: map[string]string{"etc/default/kubelet": `KUBELET_EXTRA_ARGS="--image-credential-provider-bin-dir /usr/local/lib/ocir-credential-provider/"` + "\n"},
			want:  "/etc/default/kubelet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newNode(t, kubeadmUnit, map[string]string{})
			if tc.install {
				n.mustRun("install")
			} else {
				// As cloud-init would have put them.
				n.writeHost("usr/local/lib/ocir-credential-provider/ocir-credential-provider", "#!/bin/sh\n")
				n.writeHost("etc/kubernetes/ocir-credential-provider.yaml", "kind: CredentialProviderConfig\n")
			}
			for p, body := range tc.files {
				n.writeHost(p, body)
			}
			n.write("unit", tc.unit(), 0o644)
			n.startKubelet()
			before := snapshot(t, n.root)
			restarts := n.restarts()

			out, err := n.run("uninstall")
			if err == nil || !strings.Contains(out, "the kubelet still gets "+flagConfig) || !strings.Contains(out, tc.want) || !strings.Contains(out, "Changed nothing") {
				t.Fatalf("err %v, want a refusal naming %q:\n%s", err, tc.want, out)
			}
			if d := diff(before, snapshot(t, n.root)); d != "" {
				t.Errorf("a refused uninstall changed the host:\n%s", d)
			}
			if n.restarts() != restarts {
				t.Error("a refused uninstall restarted the kubelet")
			}
			// And the kubelet, restarted later by anyone, still starts.
			n.startKubelet()
			if n.kubeletPID() == "" {
				t.Errorf("the kubelet no longer starts:\n%s", out)
			}
		})
	}
}

// TestUninstallChecksTheRestartedKubelet: flags from somewhere the script
// cannot see (here: not the unit nor its environment files) show in the
// restarted kubelet's command line; the files stay until they are gone.
func TestUninstallChecksTheRestartedKubelet(t *testing.T) {
	t.Parallel()
	n := newNode(t, kubeadmUnit, map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.5\n"})
	pristine := snapshot(t, n.root)
	n.mustRun("install")
	hidden := "FAKE_EXTRA_ARGS=" + flagConfig + " " + flagBin
	out, err := n.run("uninstall", hidden, "VERIFY_STABLE=1")
	if err == nil || !strings.Contains(out, "from somewhere other than its unit and environment files") {
		t.Fatalf("err %v\n%s", err, out)
	}
	for _, p := range []string{"etc/kubernetes/ocir-credential-provider.yaml", "usr/local/lib/ocir-credential-provider/ocir-credential-provider"} {
		if _, err := os.Stat(filepath.Join(n.root, p)); err != nil {
			t.Errorf("uninstall removed %s, which the running kubelet needs", p)
		}
	}
	if n.kubeletPID() == "" {
		t.Error("the kubelet is down")
	}
	// Once they are gone, uninstall finishes (the running kubelet still has
	// the flags: it is restarted once more).
	out = n.mustRun("uninstall")
	if !strings.Contains(out, "the running kubelet still has the credential provider flags") || strings.Contains(n.kubeletCmdline(), flagConfig) {
		t.Errorf("second uninstall; kubelet %q\n%s", n.kubeletCmdline(), out)
	}
	if d := diff(pristine, snapshot(t, n.root)); d != "" {
		t.Errorf("uninstall left:\n%s", d)
	}
}

// TestUninstallKeepsTheFilesWhenTheKubeletDoesNotComeBack: the files are
// only removed once the kubelet runs without them.
func TestUninstallKeepsTheFilesWhenTheKubeletDoesNotComeBack(t *testing.T) {
	t.Parallel()
	n := newNode(t, kubeadmUnit, map[string]string{})
	n.mustRun("install")
	out, err := n.run("uninstall", "FAKE_NO_START=1", "VERIFY_TIMEOUT=1")
	if err == nil || !strings.Contains(out, "the kubelet is not running") || !strings.Contains(out, "Kept /etc/kubernetes/ocir-credential-provider.yaml") {
		t.Fatalf("err %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(n.root, "etc/kubernetes/ocir-credential-provider.yaml")); err != nil {
		t.Errorf("config removed: %v", err)
	}
	// Once the kubelet runs again, uninstall finishes.
	n.startKubelet()
	n.mustRun("uninstall")
	if _, err := os.Stat(filepath.Join(n.root, "etc/kubernetes/ocir-credential-provider.yaml")); !os.IsNotExist(err) {
		t.Errorf("config left: %v", err)
	}
}
