package deploy

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig"
)

// pluginBin is the real ocir-credential-provider, built once: install.sh and
// the cloud-init script run its validate-config before touching a node.
var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ocir-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginBin = filepath.Join(dir, "ocir-credential-provider")
	cmd := exec.Command("go", "build", "-o", pluginBin, "../cmd/ocir-credential-provider")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ocir-credential-provider: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// --- manifests ------------------------------------------------------------

// decodeManifests decodes every document of a manifest file strictly into
// its k8s.io/api type: unknown or misspelled fields are errors.
func decodeManifests(t *testing.T, path string) []any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeManifestBytes(t, path, raw)
}

// decodeManifestBytes is decodeManifests for YAML in memory (path names it
// in errors); empty documents are skipped.
func decodeManifestBytes(t *testing.T, path string, raw []byte) []any {
	t.Helper()
	var out []any
	for i, doc := range strings.Split("\n"+string(raw), "\n---") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("%s document %d: %v", path, i, err)
		}
		var obj any
		switch meta.APIVersion + " " + meta.Kind {
		case "apps/v1 DaemonSet":
			obj = &appsv1.DaemonSet{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			obj = &rbacv1.ClusterRole{}
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			obj = &rbacv1.ClusterRoleBinding{}
		default:
			t.Fatalf("%s document %d: unexpected %s %s", path, i, meta.APIVersion, meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			t.Fatalf("%s document %d (%s): %v", path, i, meta.Kind, err)
		}
		out = append(out, obj)
	}
	return out
}

func TestManifestsDecodeStrictly(t *testing.T) {
	paths, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(paths) < 4 {
		t.Fatalf("manifests: %v %v", paths, err)
	}
	for _, p := range paths {
		if len(decodeManifests(t, p)) == 0 {
			t.Errorf("%s: no documents", p)
		}
	}
}

func TestInstallerDaemonSets(t *testing.T) {
	for _, tc := range []struct {
		file, mode string
		config     bool
	}{
		{"kubernetes/installer.yaml", "install", true},
		{"kubernetes/uninstaller.yaml", "uninstall", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			objs := decodeManifests(t, tc.file)
			ds, ok := objs[0].(*appsv1.DaemonSet)
			if !ok || len(objs) != 1 {
				t.Fatalf("want one DaemonSet, got %T×%d", objs[0], len(objs))
			}
			spec := ds.Spec.Template.Spec
			if !spec.HostPID {
				t.Error("hostPID is needed to nsenter the host's init")
			}
			if spec.NodeSelector["kubernetes.io/os"] != "linux" || len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != corev1.TolerationOpExists {
				t.Error("must run on every Linux node, tainted or not")
			}
			// maxUnavailable paces updates only (a node's pod is unavailable
			// until its init container is done): one node at a time.
			if ds.Spec.UpdateStrategy.RollingUpdate == nil || ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.IntValue() != 1 {
				t.Error("updates must restart one node's kubelet at a time")
			}
			if len(spec.InitContainers) != 1 || len(spec.Containers) != 1 {
				t.Fatal("want one init container and one pause container")
			}
			ic := spec.InitContainers[0]
			if strings.Join(ic.Args, " ") != tc.mode || ic.SecurityContext == nil || ic.SecurityContext.Privileged == nil || !*ic.SecurityContext.Privileged {
				t.Errorf("init container: args %q, privileged required", ic.Args)
			}
			env := map[string]string{}
			for _, e := range ic.Env {
				env[e.Name] = e.Value
			}
			// Creation is not paced at all: every node starts at once, so a
			// random delay spreads the kubelet restarts.
			if j, err := time.ParseDuration(env["START_JITTER"]); err != nil || j < 30*time.Second || j > 10*time.Minute {
				t.Errorf("START_JITTER %q: want a delay of 30s to 10m spreading the restarts of a new DaemonSet", env["START_JITTER"])
			}
			raw, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte("One node's kubelet restarts at a time")) {
				t.Error("the manifest claims maxUnavailable paces its creation")
			}
			var hostMount string
			for _, m := range ic.VolumeMounts {
				if m.Name == "host" {
					hostMount = m.MountPath
				}
			}
			if hostMount == "" || env["HOST_ROOT"] != hostMount {
				t.Errorf("HOST_ROOT %q must be where the host is mounted (%q)", env["HOST_ROOT"], hostMount)
			}
			var hostPath string
			for _, v := range spec.Volumes {
				if v.Name == "host" && v.HostPath != nil {
					hostPath = v.HostPath.Path
				}
				if v.ConfigMap != nil && (v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional) {
					t.Error("the config ConfigMap must be optional")
				}
			}
			if hostPath != "/" {
				t.Errorf("host volume %q, want /", hostPath)
			}
			hasConfig := false
			for _, m := range ic.VolumeMounts {
				hasConfig = hasConfig || m.MountPath == "/config"
			}
			if hasConfig != tc.config {
				t.Errorf("config mount %v, want %v", hasConfig, tc.config)
			}
			pc := spec.Containers[0]
			if strings.Join(pc.Args, " ") != "pause" || pc.Image != ic.Image {
				t.Errorf("pause container: args %q image %q", pc.Args, pc.Image)
			}
			sc := pc.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.Privileged != nil && *sc.Privileged {
				t.Error("the pause container must run unprivileged")
			}
		})
	}
}

func TestConfigMapHoldsAValidProviderConfig(t *testing.T) {
	cm := decodeManifests(t, "kubernetes/configmap.yaml")[0].(*corev1.ConfigMap)
	data, ok := cm.Data["credential-provider-config.yaml"]
	if !ok {
		t.Fatal("no credential-provider-config.yaml key (the installer looks for it)")
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := providerconfig.ValidateConfigPath(path, providerconfig.ValidateOptions{}); err != nil {
		t.Error(err)
	}
}

func TestServiceAccountModeRBAC(t *testing.T) {
	objs := decodeManifests(t, "kubernetes/service-account-mode.yaml")
	role := objs[0].(*rbacv1.ClusterRole)
	if r := role.Rules[0]; len(r.APIGroups) != 1 || r.APIGroups[0] != "" || r.Verbs[0] != "request-serviceaccounts-token-audience" {
		t.Errorf("rule %+v", r)
	}
	binding := objs[1].(*rbacv1.ClusterRoleBinding)
	if binding.Subjects[0].Name != "system:nodes" || binding.RoleRef.Name != role.Name {
		t.Errorf("binding %+v", binding)
	}
	sa := objs[2].(*corev1.ServiceAccount)
	if sa.Annotations["ocir-credential-provider/workload-identity"] == "" {
		t.Error("the example service account lacks the opt-in annotation")
	}
}

func TestKubeadmDropInUsesTheInstallerDefaults(t *testing.T) {
	b, err := os.ReadFile("systemd/20-ocir-credential-provider.conf")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, w := range []string{
		"[Service]\nExecStart=\nExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS ",
		"--image-credential-provider-config=/etc/kubernetes/ocir-credential-provider.yaml",
		"--image-credential-provider-bin-dir=/usr/local/lib/ocir-credential-provider",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("drop-in lacks %q", w)
		}
		if strings.HasPrefix(w, "--") && !bytes.Contains(InstallScript, []byte(strings.SplitN(w, "=", 2)[1])) {
			t.Errorf("install.sh does not default to %q", w)
		}
	}
}

// stripComments drops YAML comment lines.
func stripComments(doc string) string {
	var keep []string
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// --- shellcheck -----------------------------------------------------------

func TestScriptsPassShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed (apt-get install shellcheck)")
		}
		t.Skip("shellcheck is not installed")
	}
	scripts := []string{"install.sh", "cloud-init/oke-node-pool.sh", "../test/kubelet/run.sh", "../test/kubelet/genmod.sh"}
	for _, s := range scripts {
		out, err := exec.Command(sc, "--external-sources", s).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", s, err, out)
		}
	}
}

// --- snapshots of a fake host ----------------------------------------------

// snapshot maps every path under root to its type, mode and content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link " + target
		case info.IsDir():
			out[rel] = fmt.Sprintf("dir %v", info.Mode().Perm())
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %v %x", info.Mode().Perm(), sha256.Sum256(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diff(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: %q → %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: new %q", k, v))
		}
	}
	return strings.Join(d, "\n")
}
