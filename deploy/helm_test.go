package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig"
)

const chartDir = "helm/ocir-credential-provider"

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helm runs the helm pinned in tools/release/go.mod (helm v4) with a
// private home: $OCIR_HELM when `make test` built it already, else built
// once per test run from the module cache.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	helmOnce.Do(func() {
		if helmBin = os.Getenv("OCIR_HELM"); helmBin != "" {
			return
		}
		dir, err := os.MkdirTemp("", "ocir-helm-")
		if err != nil {
			helmErr = err
			return
		}
		helmBin = filepath.Join(dir, "helm")
		cmd := exec.Command("go", "build", "-o", helmBin, "helm.sh/helm/v4/cmd/helm")
		cmd.Dir = "../tools/release"
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = &buildError{err, string(out)}
		}
	})
	if helmErr != nil {
		t.Fatalf("build the pinned helm (cd tools/release && go mod download first when offline): %v", helmErr)
	}
	home := t.TempDir()
	cmd := exec.Command(helmBin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// render runs helm template with the chart into the kube-system namespace
// and decodes every manifest strictly.
func render(t *testing.T, set ...string) []any {
	t.Helper()
	args := []string{"template", "ocir", chartDir, "--namespace", "kube-system"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return decodeManifestBytes(t, "helm template "+strings.Join(set, " "), []byte(helm(t, args...)))
}

func only[T any](t *testing.T, objs []any) []T {
	t.Helper()
	var out []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestHelmChartLints(t *testing.T) {
	out := helm(t, "lint", "--strict", chartDir, "--set", "serviceAccountMode.enabled=true")
	if !strings.Contains(out, "0 chart(s) failed") {
		t.Errorf("helm lint:\n%s", out)
	}
}

// The chart and deploy/kubernetes are one source of truth: the chart's
// default is the raw installer, object for object.
func TestHelmDefaultRendersTheRawManifests(t *testing.T) {
	objs := render(t)
	want := decodeManifests(t, "kubernetes/installer.yaml")
	if len(objs) != len(want) {
		t.Fatalf("default render has %d objects, installer.yaml %d", len(objs), len(want))
	}
	for i := range want {
		if !equality.Semantic.DeepEqual(objs[i], want[i]) {
			t.Errorf("object %d differs from installer.yaml:\n got %+v\nwant %+v", i, objs[i], want[i])
		}
	}
	// The optional pieces are the raw ones too.
	cms := only[*corev1.ConfigMap](t, render(t, "providerConfig.create=true"))
	rawCM := decodeManifests(t, "kubernetes/configmap.yaml")[0].(*corev1.ConfigMap)
	if len(cms) != 1 || !equality.Semantic.DeepEqual(cms[0].ObjectMeta, rawCM.ObjectMeta) {
		t.Fatalf("providerConfig.create: ConfigMap %+v, want the metadata of configmap.yaml", cms)
	}
	got, err := providerconfig.DecodeConfig([]byte(cms[0].Data["credential-provider-config.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	wantProviders, err := providerconfig.DecodeConfig([]byte(rawCM.Data["credential-provider-config.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got, wantProviders) {
		t.Errorf("default provider config:\n got %+v\nwant %+v (configmap.yaml)", got, wantProviders)
	}
	saObjs := render(t, "serviceAccountMode.enabled=true")
	rawSA := decodeManifests(t, "kubernetes/service-account-mode.yaml")
	roles, bindings := only[*rbacv1.ClusterRole](t, saObjs), only[*rbacv1.ClusterRoleBinding](t, saObjs)
	if len(roles) != 1 || !equality.Semantic.DeepEqual(roles[0], rawSA[0]) {
		t.Errorf("ClusterRole %+v, want service-account-mode.yaml's %+v", roles, rawSA[0])
	}
	if len(bindings) != 1 || !equality.Semantic.DeepEqual(bindings[0], rawSA[1]) {
		t.Errorf("ClusterRoleBinding %+v, want service-account-mode.yaml's %+v", bindings, rawSA[1])
	}
}

// The config the chart renders is the one `ocir-credential-provider config`
// prints for the same choices, and passes validate-config.
func TestHelmProviderConfigMatchesTheConfigCommand(t *testing.T) {
	for _, tc := range []struct {
		name       string
		set        []string
		configArgs []string
	}{
		{"plugin env: auth, proxy, OCIR settings",
			[]string{"providerConfig.create=true", "providerConfig.env.OCI_CLI_AUTH=instance_principal",
				"providerConfig.env.HTTPS_PROXY=http://proxy.internal:3128", "providerConfig.env.NO_PROXY=169.254.169.254",
				"providerConfig.env.OCIR_TOKEN_CACHE=off"},
			[]string{"--verify-pull", "--env", "HTTPS_PROXY=http://proxy.internal:3128", "--env", "NO_PROXY=169.254.169.254",
				"--env", "OCIR_TOKEN_CACHE=off", "--env", "OCI_CLI_AUTH=instance_principal"}},
		{"service-account mode",
			[]string{"serviceAccountMode.enabled=true"},
			[]string{"--verify-pull", "--service-account-audience", "ocir", "--required-annotation", "ocir-credential-provider/workload-identity"}},
		{"service-account mode without verify-pull, other cache duration",
			[]string{"serviceAccountMode.enabled=true", "providerConfig.args=null", "providerConfig.defaultCacheDuration=5m0s",
				"providerConfig.env.OCI_CLI_AUTH=oke_workload_identity"},
			[]string{"--default-cache-duration", "5m", "--service-account-audience", "ocir", "--required-annotation",
				"ocir-credential-provider/workload-identity", "--env", "OCI_CLI_AUTH=oke_workload_identity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cms := only[*corev1.ConfigMap](t, render(t, tc.set...))
			if len(cms) != 1 {
				t.Fatalf("%d ConfigMaps", len(cms))
			}
			data := cms[0].Data["credential-provider-config.yaml"]
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(pluginBin, "validate-config", path).CombinedOutput(); err != nil {
				t.Fatalf("validate-config: %v\n%s\n%s", err, out, data)
			}
			want, err := exec.Command(pluginBin, append([]string{"config"}, tc.configArgs...)...).Output()
			if err != nil {
				t.Fatal(err)
			}
			got, err := providerconfig.DecodeConfig([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			wantProviders, err := providerconfig.DecodeConfig(want)
			if err != nil {
				t.Fatal(err)
			}
			if !equality.Semantic.DeepEqual(got, wantProviders) {
				t.Errorf("chart:\n%s\nconfig %s:\n%s", data, strings.Join(tc.configArgs, " "), want)
			}
			ds := only[*appsv1.DaemonSet](t, render(t, tc.set...))[0]
			if ds.Spec.Template.Annotations["ocir-credential-provider/config-sha256"] == "" {
				t.Error("a rendered config must roll the DaemonSet when it changes (config-sha256 annotation)")
			}
		})
	}
}

func TestHelmValuesReachTheInstaller(t *testing.T) {
	ds := only[*appsv1.DaemonSet](t, render(t,
		"image.repository=ocir.eu-frankfurt-1.oci.oraclecloud.com/ns/installer", "image.tag=v9.9.9", "image.pullPolicy=Always",
		"imagePullSecrets[0].name=pull", "kubelet.binDir=/opt/ocir/bin", "kubelet.configFile=/etc/ocir/config.yaml",
		"kubelet.flagsFile=/etc/sysconfig/kubelet", "kubelet.version=1.33", "rollout.startJitter=5m", "rollout.maxUnavailable=3",
		"nodeSelector.pool=blue", "tolerations=null", "priorityClassName=", "extraEnv[0].name=VERIFY_TIMEOUT", "extraEnv[0].value=120",
	))[0]
	spec := ds.Spec.Template.Spec
	install := spec.InitContainers[0]
	if install.Image != "ocir.eu-frankfurt-1.oci.oraclecloud.com/ns/installer:v9.9.9" || install.ImagePullPolicy != corev1.PullAlways ||
		spec.Containers[0].Image != install.Image {
		t.Errorf("image %q %q", install.Image, install.ImagePullPolicy)
	}
	env := map[string]string{}
	for _, e := range install.Env {
		env[e.Name] = e.Value
	}
	for k, v := range map[string]string{"BIN_DIR": "/opt/ocir/bin", "CONFIG_FILE": "/etc/ocir/config.yaml",
		"FLAGS_FILE": "/etc/sysconfig/kubelet", "KUBELET_VERSION": "1.33", "START_JITTER": "5m", "VERIFY_TIMEOUT": "120", "HOST_ROOT": "/host"} {
		if env[k] != v {
			t.Errorf("env %s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["FLAGS_VAR"]; ok {
		t.Error("unset kubelet values must leave install.sh's defaults alone")
	}
	if ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.IntValue() != 3 {
		t.Errorf("maxUnavailable %v", ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable)
	}
	if spec.NodeSelector["pool"] != "blue" || spec.NodeSelector["kubernetes.io/os"] != "linux" || len(spec.Tolerations) != 0 ||
		spec.PriorityClassName != "" || len(spec.ImagePullSecrets) != 1 || spec.ImagePullSecrets[0].Name != "pull" {
		t.Errorf("scheduling: selector %v tolerations %v priority %q secrets %v", spec.NodeSelector, spec.Tolerations, spec.PriorityClassName, spec.ImagePullSecrets)
	}
	if objs := render(t, "serviceAccountMode.enabled=true", "serviceAccountMode.rbac=false"); len(only[*rbacv1.ClusterRole](t, objs)) != 0 {
		t.Error("serviceAccountMode.rbac=false still renders the ClusterRole")
	}
}
