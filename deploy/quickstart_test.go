package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// quickStartMarker precedes the README's Kubernetes quick start block.
const quickStartMarker = "<!-- kubernetes-quick-start: tested, keep in sync -->"

// readmeBlock returns the ```sh block that follows marker in the README.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), marker+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", marker)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(after))
	for i := 0; sc.Scan(); i++ {
		line := sc.Text()
		switch {
		case i == 0 && line != "```sh":
			t.Fatalf("the line after the marker is %q, want ```sh", line)
		case i == 0:
		case line == "```":
			return strings.Join(lines, "\n") + "\n"
		default:
			lines = append(lines, line)
		}
	}
	t.Fatal("the quick start block is not closed")
	return ""
}

// TestReadmeKubernetesQuickStart runs the README's quick start lines as
// they are written, on a fresh fake kubeadm node: a checkout with bin/ and
// deploy/install.sh as the working directory, sudo that just runs the
// command, and the host paths of install.sh under the node's root.
func TestReadmeKubernetesQuickStart(t *testing.T) {
	block := readmeBlock(t, quickStartMarker)
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		// Everything that touches the host goes through install.sh, which
		// the fake node relocates; a line writing elsewhere would escape it.
		if strings.Contains(line, " /") || strings.HasPrefix(line, "/") {
			t.Errorf("quick start line uses an absolute path the test cannot relocate: %q", line)
		}
	}

	n := newNode(t, kubeadmUnit, map[string]string{"etc/default/kubelet": "KUBELET_EXTRA_ARGS=\n"})
	n.startKubelet()

	checkout := t.TempDir()
	for src, dst := range map[string]string{pluginBin: "bin/ocir-credential-provider", "install.sh": "deploy/install.sh"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		full := filepath.Join(checkout, dst)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stubs := t.TempDir()
	if err := os.WriteFile(filepath.Join(stubs, "sudo"), []byte("#!/bin/sh\nexec \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("/bin/sh", "-eu", "-c", block)
	cmd.Dir = checkout
	cmd.Env = append([]string{
		"PATH=" + stubs + string(os.PathListSeparator) + os.Getenv("PATH"),
		"TMPDIR=" + t.TempDir(),
	}, n.hostEnv()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the quick start failed: %v\n%s", err, out)
	}

	const success = "ocir-credential-provider-installer: the kubelet runs with ocir-credential-provider"
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); lines[len(lines)-1] != success {
		t.Errorf("last line %q, want the success line the README names, %q\n%s", lines[len(lines)-1], success, out)
	}
	if st, err := os.Stat(filepath.Join(n.root, "usr/local/lib/ocir-credential-provider/ocir-credential-provider")); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("plugin not installed as an executable: %v", err)
	}
	if cfg := n.read("etc/kubernetes/ocir-credential-provider.yaml"); !strings.Contains(cfg, "kind: CredentialProviderConfig") {
		t.Errorf("config not installed: %s", cfg)
	}
	if cl := n.kubeletCmdline(); !strings.Contains(cl, flagConfig) || !strings.Contains(cl, flagBin) {
		t.Errorf("the restarted kubelet runs %q, want both credential provider flags", cl)
	}
	if n.restarts() != 1 {
		t.Errorf("the kubelet was restarted %d times, want 1", n.restarts())
	}
}
