package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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

// fakeSystemctl answers `cat` with the unit text and, on `restart`, starts
// a pretend kubelet in the fake /proc with the flags systemd would expand
// from the environment file, unless FAKE_IGNORE_FILE is set.
const fakeSystemctl = `#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_LOG"
case $1 in
cat) cat "$FAKE_UNIT" ;;
restart)
	rm -rf "$PROC/4242"
	mkdir -p "$PROC/4242"
	echo kubelet >"$PROC/4242/comm"
	args=''
	if [ -z "${FAKE_IGNORE_FILE:-}" ] && [ -f "$FAKE_FLAGS_FILE" ]; then
		args=$(. "$FAKE_FLAGS_FILE"; eval "printf '%s' \"\${${FAKE_VAR:-KUBELET_EXTRA_ARGS}:-}\"")
	fi
	printf '/usr/bin/kubelet %s' "$args" | tr ' ' '\000' >"$PROC/4242/cmdline"
	;;
esac
`

// node is a fake host root with a fake systemd and /proc.
type node struct {
	t                       *testing.T
	dir, root, proc, log    string
	payload, unit, extraEnv string
}

func newNode(t *testing.T, unit string, flagsFile string, files map[string]string) *node {
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
	for p, body := range files {
		full := filepath.Join(n.root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n.write("unit", unit, 0o644)
	n.write("systemctl", fakeSystemctl, 0o755)
	n.setPayload("", nil)
	n.extraEnv = "FAKE_FLAGS_FILE=" + filepath.Join(n.root, flagsFile)
	return n
}

func (n *node) write(name, body string, mode os.FileMode) {
	n.t.Helper()
	if err := os.WriteFile(filepath.Join(n.dir, name), []byte(body), mode); err != nil {
		n.t.Fatal(err)
	}
}

// setPayload puts a plugin (a wrapper around the real binary, so a new
// "version" is one changed comment) and a config made by its `config`
// command with configArgs into the payload dir.
func (n *node) setPayload(version string, configArgs []string) {
	n.t.Helper()
	wrapper := fmt.Sprintf("#!/bin/sh\n# version %s\nexec %q \"$@\"\n", version, pluginBin)
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

// run runs install.sh with dash or whatever /bin/sh is, as on a node.
func (n *node) run(mode string, env ...string) (string, error) {
	n.t.Helper()
	cmd := exec.Command("/bin/sh", "install.sh", mode)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOST_ROOT=" + n.root,
		"PAYLOAD_DIR=" + n.payload,
		"SYSTEMCTL=" + filepath.Join(n.dir, "systemctl"),
		"PROC=" + n.proc,
		"VERIFY_TIMEOUT=1",
		"FAKE_LOG=" + n.log,
		"FAKE_UNIT=" + n.unit,
		n.extraEnv,
	}, env...)
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

func (n *node) kubeletCmdline() string {
	b, _ := os.ReadFile(filepath.Join(n.proc, "4242", "cmdline"))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

const (
	flagConfig = "--image-credential-provider-config=/etc/kubernetes/ocir-credential-provider.yaml"
	flagBin    = "--image-credential-provider-bin-dir=/usr/local/lib/ocir-credential-provider"
)

func TestInstallIsIdempotentAndUninstallRestores(t *testing.T) {
	for _, tc := range []struct {
		name      string
		unit      string
		flagsFile string
		files     map[string]string
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
			name: "flags file without the variable", unit: kubeadmUnit, flagsFile: "etc/default/kubelet",
			files:    map[string]string{"etc/default/kubelet": "HTTP_PROXY=http://proxy.internal:3128\n"},
			wantLine: `KUBELET_EXTRA_ARGS="` + flagConfig + " " + flagBin + `"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, tc.unit, tc.flagsFile, tc.files)
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
	n := newNode(t, kubeadmUnit, "etc/default/kubelet", map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=--node-ip=10.0.0.5\n"})
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
	n := newNode(t, kubeadmUnit, "etc/default/kubelet", map[string]string{})
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
	if err := os.WriteFile(filepath.Join(n.proc, "4242", "cmdline"), []byte("/usr/bin/kubelet\x00--v=2"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = n.mustRun("install")
	if n.restarts() != 3 || !strings.Contains(out, "lacks the flags") {
		t.Errorf("kubelet without flags: %d restarts\n%s", n.restarts(), out)
	}
}

func TestInstallLinksEveryProviderName(t *testing.T) {
	n := newNode(t, kubeadmUnit, "etc/default/kubelet", map[string]string{})
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
	for _, tc := range []struct {
		name, unit string
		files      map[string]string
		payload    func(n *node)
		env        []string
		want       string
	}{
		{name: "another credential provider is configured", unit: kubeadmUnit,
			files: map[string]string{"etc/default/kubelet": other}, want: "already has --image-credential-provider-config=/etc/other.yaml"},
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t, tc.unit, "etc/default/kubelet", tc.files)
			if tc.payload != nil {
				tc.payload(n)
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

func TestInstallFailsWhenTheKubeletIgnoresTheFlags(t *testing.T) {
	n := newNode(t, kubeadmUnit, "etc/default/kubelet", map[string]string{})
	out, err := n.run("install", "FAKE_IGNORE_FILE=1")
	if err == nil || !strings.Contains(out, "runs without "+flagConfig) || !strings.Contains(out, "FLAGS_FILE") {
		t.Errorf("err %v\n%s", err, out)
	}
}

func TestInstallWithExplicitFlagsFile(t *testing.T) {
	// No readable unit: FLAGS_FILE and FLAGS_VAR say where the flags go.
	n := newNode(t, "", "etc/kubernetes/kubelet.env", map[string]string{"etc/kubernetes/kubelet.env": "KUBELET_ARGS=--v=2\n"})
	pristine := snapshot(t, n.root)
	env := []string{"FLAGS_FILE=/etc/kubernetes/kubelet.env", "FLAGS_VAR=KUBELET_ARGS", "FAKE_VAR=KUBELET_ARGS"}
	out := n.mustRun("install", env...)
	if got := n.read("etc/kubernetes/kubelet.env"); got != `KUBELET_ARGS="--v=2 `+flagConfig+" "+flagBin+`"`+"\n" {
		t.Errorf("flags file %q\n%s", got, out)
	}
	n.mustRun("uninstall", env...)
	if d := diff(pristine, snapshot(t, n.root)); d != "" {
		t.Errorf("uninstall left:\n%s", d)
	}
}
