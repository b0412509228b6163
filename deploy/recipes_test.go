package deploy

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// recipes returns the code blocks of docs/kubernetes.md that follow a
// `<!-- recipe: NAME -->` marker, by name.
func recipes(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile("../docs/kubernetes.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	re := regexp.MustCompile("(?s)<!-- recipe: ([a-z0-9-]+) -->\n```[a-z]*\n(.*?)\n```")
	for _, m := range re.FindAllStringSubmatch(string(doc), -1) {
		out[m[1]] = m[2] + "\n"
	}
	return out
}

// scriptDefault is the default a deploy script gives VAR (`: "${VAR:=value}"`).
func scriptDefault(t *testing.T, script, name string) string {
	t.Helper()
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^: "\$\{` + name + `:=([^}]*)\}"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no default for %s", script, name)
	}
	return string(m[1])
}

// providerFlags reads the two kubelet flags out of a command line.
func providerFlags(t *testing.T, args string) (config, binDir string) {
	t.Helper()
	for _, w := range strings.Fields(args) {
		if v, ok := strings.CutPrefix(w, "--image-credential-provider-config="); ok {
			config = v
		}
		if v, ok := strings.CutPrefix(w, "--image-credential-provider-bin-dir="); ok {
			binDir = v
		}
	}
	if config == "" || binDir == "" {
		t.Fatalf("no credential provider flags in %q", args)
	}
	return config, binDir
}

// validateOnNode runs validate-config on what a recipe put under root: the
// config at the kubelet's --image-credential-provider-config, the binary in
// its --image-credential-provider-bin-dir.
func validateOnNode(t *testing.T, root, config, binDir string) {
	t.Helper()
	out, err := exec.Command(pluginBin, "validate-config", "--bin-dir", filepath.Join(root, binDir), filepath.Join(root, config)).CombinedOutput()
	if err != nil {
		t.Errorf("validate-config --bin-dir %s %s: %v\n%s", binDir, config, err, out)
	}
}

// placeBinary puts the plugin in binDir under root, as an install would.
func placeBinary(t *testing.T, root, binDir string) {
	t.Helper()
	b, err := os.ReadFile(pluginBin)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, binDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ocir-credential-provider"), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// nodePoolRun is one run of the OKE node-pool script against a file://
// release holding the plugin and a fake OKE bootstrap that records its
// arguments.
type nodePoolRun struct {
	dir, release, sum, argsFile string
	env                         []string
}

func newNodePoolRun(t *testing.T) *nodePoolRun {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed (apt-get install curl)")
		}
		t.Skip("SKIP curl is not installed")
	}
	bin, err := os.ReadFile(pluginBin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	dir := t.TempDir()
	r := &nodePoolRun{dir: dir, release: filepath.Join(dir, "release"), sum: hex.EncodeToString(sum[:]), argsFile: filepath.Join(dir, "oke-init-args")}
	if err := os.MkdirAll(r.release, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if err := os.WriteFile(filepath.Join(r.release, "ocir-credential-provider-linux-"+arch), bin, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	okeInit := "#!/bin/bash\nprintf '%s\\n' \"$@\" >" + r.argsFile + "\n"
	if err := os.WriteFile(filepath.Join(dir, "oke_init_script"), []byte(base64.StdEncoding.EncodeToString([]byte(okeInit))), 0o644); err != nil {
		t.Fatal(err)
	}
	r.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"OKE_INIT_URL=file://" + filepath.Join(dir, "oke_init_script"),
		"OKE_INIT_SCRIPT=" + filepath.Join(dir, "oke-init.sh"),
	}
	return r
}

// run runs script (the node-pool script or a variant) with extra env.
func (r *nodePoolRun) run(script string, env ...string) ([]byte, error) {
	path := filepath.Join(r.dir, "script.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", path)
	cmd.Env = append(append([]string{}, r.env...), env...)
	return cmd.CombinedOutput()
}

func TestNodeRecipesPassValidateConfig(t *testing.T) {
	all := recipes(t)
	for _, name := range []string{"k3s", "karpenter", "terraform", "talos", "kubeadm"} {
		if all[name] == "" {
			t.Errorf("docs/kubernetes.md has no `<!-- recipe: %s -->` snippet", name)
		}
	}
	script, err := os.ReadFile("cloud-init/oke-node-pool.sh")
	if err != nil {
		t.Fatal(err)
	}
	defaultConfig, defaultBin := scriptDefault(t, "cloud-init/oke-node-pool.sh", "CONFIG_FILE"), scriptDefault(t, "cloud-init/oke-node-pool.sh", "BIN_DIR")

	t.Run("k3s", func(t *testing.T) {
		// The snippet runs as written, with its absolute paths under a
		// scratch root and a systemctl that only records.
		root, tools := t.TempDir(), t.TempDir()
		placeBinary(t, tools, ".")
		if err := os.WriteFile(filepath.Join(tools, "systemctl"), []byte("#!/bin/sh\necho \"$*\" >>"+filepath.Join(root, "systemctl.log")+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		snippet := strings.ReplaceAll(all["k3s"], " /var/lib/rancher/", " "+root+"/var/lib/rancher/")
		cmd := exec.Command("sh", "-e", "-c", snippet)
		cmd.Dir = tools
		cmd.Env = []string{"PATH=" + tools + ":" + os.Getenv("PATH")}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, snippet)
		}
		validateOnNode(t, root, "/var/lib/rancher/credentialprovider/config.yaml", "/var/lib/rancher/credentialprovider/bin")
		if log, _ := os.ReadFile(filepath.Join(root, "systemctl.log")); string(log) != "restart k3s-agent\n" {
			t.Errorf("systemctl %q, want one restart of k3s-agent", log)
		}
		for _, p := range []string{"rancher_bin_dir=/var/lib/rancher/credentialprovider/bin", "rancher_config=/var/lib/rancher/credentialprovider/config.yaml"} {
			if !strings.Contains(string(InstallScript), p) {
				t.Errorf("install.sh does not use the recipe's %s", p)
			}
		}
	})

	t.Run("karpenter", func(t *testing.T) {
		var nc struct {
			APIVersion, Kind string
			Spec             struct {
				KubeletConfig struct {
					ExtraArgs string `json:"extraArgs"`
				} `json:"kubeletConfig"`
				PreBootstrapInitScript string `json:"preBootstrapInitScript"`
			}
		}
		if err := yaml.Unmarshal([]byte(all["karpenter"]), &nc); err != nil {
			t.Fatal(err)
		}
		if nc.APIVersion != "oci.oraclecloud.com/v1beta1" || nc.Kind != "OCINodeClass" || nc.Spec.PreBootstrapInitScript == "" {
			t.Fatalf("not an OCINodeClass with a preBootstrapInitScript: %+v", nc)
		}
		config, binDir := providerFlags(t, nc.Spec.KubeletConfig.ExtraArgs)
		if config != defaultConfig || binDir != defaultBin {
			t.Fatalf("extraArgs name %s and %s; the pre-bootstrap script installs to %s and %s", config, binDir, defaultConfig, defaultBin)
		}
		// The pre-bootstrap script: the node-pool script with OKE_BOOTSTRAP=no.
		r := newNodePoolRun(t)
		root := filepath.Join(r.dir, "node")
		out, err := r.run(string(script), "RELEASE_URL=file://"+r.release, "SHA256_AMD64="+r.sum, "SHA256_ARM64="+r.sum,
			"OKE_BOOTSTRAP=no", "BIN_DIR="+filepath.Join(root, binDir), "CONFIG_FILE="+filepath.Join(root, config))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if _, err := os.Stat(r.argsFile); err == nil {
			t.Error("OKE_BOOTSTRAP=no ran OKE's bootstrap (KPO runs it)")
		}
		validateOnNode(t, root, config, binDir)
	})

	t.Run("terraform", func(t *testing.T) {
		tf := all["terraform"]
		for _, want := range []string{"disable_default_cloud_init = true", `content_type = "text/x-shellscript"`, `replace(file("${path.module}/oke-node-pool.sh"), "set -euo pipefail\n", <<-EOT`} {
			if !strings.Contains(tf, want) {
				t.Errorf("snippet lacks %s", want)
			}
		}
		m := regexp.MustCompile(`(?s)<<-EOT\n(.*?)\n\s*EOT\n`).FindStringSubmatch(tf)
		if m == nil {
			t.Fatal("no heredoc in the snippet")
		}
		// Terraform's <<-EOT strips the common indentation.
		var lines []string
		for _, l := range strings.Split(m[1], "\n") {
			lines = append(lines, strings.TrimSpace(l))
		}
		heredoc := strings.Join(lines, "\n") + "\n"
		if !strings.Contains(string(script), "set -euo pipefail\n") {
			t.Fatal("the node-pool script no longer has the line the recipe replaces")
		}
		r := newNodePoolRun(t)
		// The placeholders, filled as a user would.
		heredoc = regexp.MustCompile(`(?m)^RELEASE_URL=.*$`).ReplaceAllString(heredoc, "RELEASE_URL=file://"+r.release)
		heredoc = regexp.MustCompile(`(?m)^(SHA256_(AMD|ARM)64)=.*$`).ReplaceAllString(heredoc, "${1}="+r.sum)
		userData := strings.Replace(string(script), "set -euo pipefail\n", heredoc, 1)
		root := filepath.Join(r.dir, "node")
		out, err := r.run(userData, "BIN_DIR="+filepath.Join(root, defaultBin), "CONFIG_FILE="+filepath.Join(root, defaultConfig))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		args, err := os.ReadFile(r.argsFile)
		if err != nil {
			t.Fatal("the script did not run OKE's bootstrap")
		}
		config, binDir := providerFlags(t, string(args))
		if config != filepath.Join(root, defaultConfig) || binDir != filepath.Join(root, defaultBin) {
			t.Errorf("bootstrap flags %q", args)
		}
		validateOnNode(t, root, defaultConfig, defaultBin)
	})

	t.Run("talos", func(t *testing.T) {
		var mc struct {
			Machine struct {
				Kubelet struct {
					CredentialProviderConfig map[string]any `json:"credentialProviderConfig"`
				}
			}
		}
		if err := yaml.UnmarshalStrict([]byte(all["talos"]), &mc); err != nil {
			t.Fatal(err)
		}
		cfg, err := yaml.Marshal(mc.Machine.Kubelet.CredentialProviderConfig)
		if err != nil {
			t.Fatal(err)
		}
		root := t.TempDir()
		const talosBinDir, config = "/usr/local/lib/kubelet/credentialproviders", "/etc/kubernetes/kubelet-credentialproviderconfig.yaml"
		placeBinary(t, root, talosBinDir)
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(config)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, config), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		validateOnNode(t, root, config, talosBinDir)
	})

	t.Run("kubeadm", func(t *testing.T) {
		var jc struct {
			APIVersion, Kind string
			NodeRegistration struct {
				KubeletExtraArgs []struct{ Name, Value string } `json:"kubeletExtraArgs"`
			} `json:"nodeRegistration"`
		}
		if err := yaml.Unmarshal([]byte(all["kubeadm"]), &jc); err != nil {
			t.Fatal(err)
		}
		if jc.APIVersion != "kubeadm.k8s.io/v1beta4" || jc.Kind != "JoinConfiguration" {
			t.Fatalf("%s %s", jc.APIVersion, jc.Kind)
		}
		var args []string
		for _, a := range jc.NodeRegistration.KubeletExtraArgs {
			args = append(args, "--"+a.Name+"="+a.Value)
		}
		config, binDir := providerFlags(t, strings.Join(args, " "))
		if !strings.Contains(string(InstallScript), "CONFIG_FILE:-"+config+"}") || !strings.Contains(string(InstallScript), "BIN_DIR:-"+binDir+"}") {
			t.Errorf("the recipe's %s and %s are not where install.sh and the quick start install", config, binDir)
		}
		// The quick start: the binary in the bin dir, the config from `config`.
		root := t.TempDir()
		placeBinary(t, root, binDir)
		out, err := exec.Command(pluginBin, "config").Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(config)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, config), out, 0o644); err != nil {
			t.Fatal(err)
		}
		validateOnNode(t, root, config, binDir)
	})
}
