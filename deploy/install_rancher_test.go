package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRancherSystemctl is a pretend systemd on a k3s or RKE2 node: there is
// no kubelet unit, only FAKE_RANCHER_UNIT, whose process runs the kubelet
// inside (k3s) or as its child; `show -p MainPID --value` prints its PID.
// Like k3s, a restart hands the kubelet the credential provider flags when
// /var/lib/rancher/credentialprovider/config.yaml and bin/ exist; it stays
// down when that config contains FAKE_CRASH_ON (a config the kubelet cannot
// use). Each restart gets a new PID and logs the flags it passed.
const fakeRancherSystemctl = `#!/bin/sh
printf '%s\n' "$*" >>"$FAKE_LOG"
for unit; do :; done
case $1 in
cat) [ "$2" = "$FAKE_RANCHER_UNIT" ] || exit 1; cat "$FAKE_UNIT" ;;
is-active) [ "$unit" = "$FAKE_RANCHER_UNIT" ] && [ -f "$FAKE_STATE/running" ] ;;
show) if [ -f "$FAKE_STATE/running" ]; then cat "$FAKE_STATE/pid"; else echo 0; fi ;;
restart)
	[ "$2" = "$FAKE_RANCHER_UNIT" ] || { echo "Unit $2.service not found." >&2; exit 5; }
	rm -f "$FAKE_STATE/running"
	pid=$(($(cat "$FAKE_STATE/pid" 2>/dev/null || echo 4241) + 1))
	echo "$pid" >"$FAKE_STATE/pid"
	cfg=$FAKE_ROOT/var/lib/rancher/credentialprovider/config.yaml
	if [ -f "$cfg" ] && [ -d "$FAKE_ROOT/var/lib/rancher/credentialprovider/bin" ]; then
		echo "started with credential provider flags" >>"$FAKE_LOG"
		if [ -n "${FAKE_CRASH_ON:-}" ] && grep -q -- "$FAKE_CRASH_ON" "$cfg"; then
			echo "kubelet exited: cannot use the config" >>"$FAKE_LOG"
			exit 0
		fi
	else
		echo "started without credential provider flags" >>"$FAKE_LOG"
	fi
	: >"$FAKE_STATE/running"
	;;
esac
`

// rancherNode is a fake k3s or RKE2 node: the distribution's binary
// answers --version, its unit is the only one, and it runs.
func rancherNode(t *testing.T, dist, unit, version string, files map[string]string) *node {
	t.Helper()
	if files == nil {
		files = map[string]string{}
	}
	files["usr/local/bin/"+dist] = fmt.Sprintf("#!/bin/sh\n[ \"$1\" = --version ] && printf '%s version v%s+%s1 (0123abcd)\\ngo version go1.24.4\\n'\n", dist, version, dist)
	// A kubelet binary the installer must not ask: k3s's is built in.
	files["usr/bin/kubelet"] = "#!/bin/sh\nexit 1\n"
	role := "server"
	if strings.HasSuffix(unit, "agent") {
		role = "agent"
	}
	n := newNode(t, fmt.Sprintf("[Service]\nType=notify\nExecStart=/usr/local/bin/%s %s\n", dist, role), files)
	n.write("systemctl", fakeRancherSystemctl, 0o755)
	n.extraEnv = append(n.extraEnv, "FAKE_RANCHER_UNIT="+unit)
	n.write("running", "", 0o644)
	n.write("pid", "4241\n", 0o644)
	return n
}

func (n *node) unitRestarts(unit string) int {
	b, _ := os.ReadFile(n.log)
	return strings.Count(string(b), "restart "+unit+"\n")
}

// lastStart is how the fake unit last started: with or without the flags.
func lastStart(log string) string {
	last := ""
	for _, line := range strings.Split(log, "\n") {
		if strings.HasPrefix(line, "started ") {
			last = line
		}
	}
	return last
}

func (n *node) systemctlLog() string {
	b, _ := os.ReadFile(n.log)
	return string(b)
}

const (
	rancherConfig = "var/lib/rancher/credentialprovider/config.yaml"
	rancherPlugin = "var/lib/rancher/credentialprovider/bin/ocir-credential-provider"
)

func TestInstallOnK3sAndRKE2UsesTheirProviderDirectory(t *testing.T) {
	for _, tc := range []struct{ dist, unit string }{
		{"k3s", "k3s-agent"},
		{"k3s", "k3s"},
		{"rke2", "rke2-agent"},
		{"rke2", "rke2-server"},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			t.Parallel()
			n := rancherNode(t, tc.dist, tc.unit, "1.31.4", map[string]string{"var/lib/rancher/" + tc.dist + "/agent/.keep": ""})
			pristine := snapshot(t, n.root)

			out := n.mustRun("install")
			if !strings.Contains(out, tc.dist+" node ("+tc.unit+" unit)") {
				t.Errorf("install did not say it found %s:\n%s", tc.dist, out)
			}
			if got, want := n.read(rancherConfig), n.payloadConfig(); got != want {
				t.Errorf("config.yaml:\n%s\nwant the payload's:\n%s", got, want)
			}
			if fi, err := os.Stat(filepath.Join(n.root, rancherPlugin)); err != nil || fi.Mode().Perm() != 0o755 {
				t.Fatalf("plugin: %v %v", fi, err)
			}
			if n.unitRestarts(tc.unit) != 1 || !strings.Contains(n.systemctlLog(), "started with credential provider flags") {
				t.Fatalf("want one restart of %s that picks the config up:\n%s", tc.unit, n.systemctlLog())
			}
			for _, p := range []string{"etc/default/kubelet", "etc/sysconfig/kubelet", "etc/kubernetes/ocir-credential-provider.yaml", "usr/local/lib/ocir-credential-provider"} {
				if _, err := os.Stat(filepath.Join(n.root, p)); err == nil {
					t.Errorf("install wrote %s, which %s does not read", p, tc.dist)
				}
			}

			// Again: nothing changes, no restart.
			installed := snapshot(t, n.root)
			if out := n.mustRun("install"); !strings.Contains(out, "nothing changed") {
				t.Errorf("second install:\n%s", out)
			}
			if d := diff(installed, snapshot(t, n.root)); d != "" || n.unitRestarts(tc.unit) != 1 {
				t.Errorf("second install changed the host (%d restarts):\n%s", n.unitRestarts(tc.unit), d)
			}
			// A new binary is used at the next pull: no restart.
			n.setPayload("2", nil)
			n.mustRun("install")
			if n.unitRestarts(tc.unit) != 1 || !strings.Contains(n.read(rancherPlugin), "# version 2") {
				t.Errorf("binary update: %d restarts", n.unitRestarts(tc.unit))
			}
			// A new config is read at start: one restart.
			n.setPayload("2", []string{"--realm", "oc1,oc2"})
			n.mustRun("install")
			if n.unitRestarts(tc.unit) != 2 || n.read(rancherConfig) != n.payloadConfig() {
				t.Errorf("config update: %d restarts", n.unitRestarts(tc.unit))
			}

			out = n.mustRun("uninstall")
			if n.unitRestarts(tc.unit) != 3 || lastStart(n.systemctlLog()) != "started without credential provider flags" {
				t.Errorf("uninstall must restart %s without the config:\n%s\n%s", tc.unit, out, n.systemctlLog())
			}
			if d := diff(pristine, snapshot(t, n.root)); d != "" {
				t.Errorf("uninstall did not restore the host:\n%s", d)
			}
			if out := n.mustRun("uninstall"); !strings.Contains(out, "was not restarted") || n.unitRestarts(tc.unit) != 3 {
				t.Errorf("second uninstall:\n%s", out)
			}
		})
	}
}

func TestInstallOnK3sRefusesAndChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version string
		files   map[string]string
		env     []string
		want    string
	}{
		{name: "another provider's config is there", version: "1.31.4",
			files: map[string]string{rancherConfig: "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n"},
			want:  "already holds another credential provider config"},
		{name: "kubelet-arg sets the flags", version: "1.31.4",
			files: map[string]string{"etc/rancher/k3s/config.yaml": "kubelet-arg:\n  - image-credential-provider-config=/etc/ecr.yaml\n"},
			want:  "etc/rancher/k3s/config.yaml sets the kubelet's image-credential-provider flags"},
		{name: "kubelet-arg in a config.yaml.d file", version: "1.31.4",
			files: map[string]string{"etc/rancher/k3s/config.yaml.d/50-ecr.yaml": "kubelet-arg+:\n  - \"image-credential-provider-bin-dir=/opt/ecr\"\n"},
			want:  "50-ecr.yaml sets the kubelet's image-credential-provider flags"},
		{name: "a bin dir k3s does not read", version: "1.31.4", env: []string{"BIN_DIR=/opt/bin"},
			want: "BIN_DIR=/opt/bin would not be read"},
		{name: "k3s older than 1.26", version: "1.25.16",
			want: "the kubelet is v1.25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := rancherNode(t, "k3s", "k3s-agent", tc.version, tc.files)
			pristine := snapshot(t, n.root)
			out, err := n.run("install", tc.env...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("err %v, want %q in:\n%s", err, tc.want, out)
			}
			if d := diff(pristine, snapshot(t, n.root)); d != "" || n.unitRestarts("k3s-agent") != 0 {
				t.Errorf("a refused install changed the host (%d restarts):\n%s", n.unitRestarts("k3s-agent"), d)
			}
		})
	}
}

func TestInstallOnK3sRollsBackWhenItDoesNotComeBack(t *testing.T) {
	t.Parallel()
	n := rancherNode(t, "k3s", "k3s", "1.33.1", nil)
	pristine := snapshot(t, n.root)
	n.extraEnv = append(n.extraEnv, "FAKE_CRASH_ON=verify-pull", "VERIFY_STABLE=1")
	n.setPayload("1", []string{"--verify-pull"})
	out, err := n.run("install")
	if err == nil || !strings.Contains(out, "k3s did not stay up") || !strings.Contains(out, "Rolled back") {
		t.Fatalf("err %v\n%s", err, out)
	}
	if d := diff(pristine, withoutMemo(snapshot(t, n.root))); d != "" {
		t.Errorf("the rollback left:\n%s", d)
	}
	if n.unitRestarts("k3s") != 2 || lastStart(n.systemctlLog()) != "started without credential provider flags" {
		t.Errorf("want install and rollback restarts, k3s up without the config:\n%s", n.systemctlLog())
	}
	if out, err := n.run("install"); err == nil || !strings.Contains(out, "failed on this node before") || n.unitRestarts("k3s") != 2 {
		t.Errorf("a retry of the same payload restarted k3s again: %v\n%s", err, out)
	}
}

// payloadConfig is the config in the node's payload dir.
func (n *node) payloadConfig() string {
	n.t.Helper()
	b, err := os.ReadFile(filepath.Join(n.payload, "credential-provider-config.yaml"))
	if err != nil {
		n.t.Fatal(err)
	}
	return string(b)
}
