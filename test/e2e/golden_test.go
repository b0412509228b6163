package e2e

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestConfigureDockerGoldenThroughTheBinary runs the configure-docker
// golden cases (test/testdata/configure-docker, see helper's
// configure_test.go for the layout; -update lives there) with the built
// binary, with nothing but the case's environment, HOME and PATH.
func TestConfigureDockerGoldenThroughTheBinary(t *testing.T) {
	root := filepath.Join("..", "testdata", "configure-docker")
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(root, e.Name())
		t.Run(e.Name(), func(t *testing.T) { runGoldenCase(t, dir) })
	}
	if n == 0 {
		t.Fatal("no golden cases")
	}
}

func readCase(t *testing.T, dir, name string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func runGoldenCase(t *testing.T, dir string) {
	// Without symlinks in its own path (macOS /var), so that the resolved
	// paths in the output are under $DIR.
	scratch, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	expand := func(s string) string { return strings.ReplaceAll(s, "$DIR", scratch) }
	args := []string{"configure-docker"}
	argText, _ := readCase(t, dir, "args")
	for _, a := range nonEmptyLines(argText) {
		args = append(args, expand(a))
	}
	env := map[string]string{"HOME": filepath.Join(scratch, "home"), "PATH": binDir + string(os.PathListSeparator) + os.Getenv("PATH")}
	envText, _ := readCase(t, dir, "env")
	for _, l := range nonEmptyLines(envText) {
		k, v, _ := strings.Cut(l, "=")
		env[k] = expand(v)
	}
	if oci, ok := readCase(t, dir, "oci-config"); ok {
		p := filepath.Join(scratch, "oci-config")
		if err := os.WriteFile(p, []byte(oci), 0o600); err != nil {
			t.Fatal(err)
		}
		env["OCI_CLI_CONFIG_FILE"] = p
	}
	rel := "docker/config.json"
	if s, ok := readCase(t, dir, "target"); ok {
		rel = strings.TrimSpace(s)
	}
	target := filepath.Join(scratch, rel)
	contentAt := target
	realDir := filepath.Dir(target)
	_, hasDirLink := readCase(t, dir, "dir-link")
	if dl, ok := readCase(t, dir, "dir-link"); ok {
		realDir = filepath.Join(scratch, strings.TrimSpace(dl))
		mkdirAll(t, realDir)
		mkdirAll(t, filepath.Dir(filepath.Dir(target)))
		symlinkRel(t, realDir, filepath.Dir(target))
	}
	_, hasLink := readCase(t, dir, "link")
	if link, ok := readCase(t, dir, "link"); ok {
		contentAt = filepath.Join(scratch, strings.TrimSpace(link))
		mkdirAll(t, realDir)
		symlinkRel(t, contentAt, filepath.Join(realDir, filepath.Base(target)))
	}
	before, hadBefore := readCase(t, dir, "before.json")
	if hadBefore {
		mkdirAll(t, filepath.Dir(contentAt))
		mode := fs.FileMode(0o600)
		if m, ok := readCase(t, dir, "mode"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(m), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			mode = fs.FileMode(n)
		}
		if err := os.WriteFile(contentAt, []byte(before), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(contentAt, mode); err != nil {
			t.Fatal(err)
		}
	}

	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	cmd := exec.CommandContext(context.Background(), filepath.Join(binDir, helperName), args...)
	cmd.Env, cmd.Dir = envList, scratch
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := exitCodeOf(cmd.Run())

	unexpand := func(s string) string { return strings.ReplaceAll(s, scratch, "$DIR") }
	for name, got := range map[string]string{"stdout": unexpand(stdout.String()), "stderr": unexpand(stderr.String()), "exit": strconv.Itoa(code) + "\n"} {
		if want, _ := readCase(t, dir, name); got != want {
			t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
		}
	}
	content, err := os.ReadFile(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if after, ok := readCase(t, dir, "after.json"); ok {
		if string(content) != after {
			t.Errorf("file content differs:\n--- got\n%s\n--- want\n%s", content, after)
		}
	} else if exists != hadBefore || string(content) != before {
		t.Errorf("file must be untouched; now %q (exists %v)", content, exists)
	}
	if m, ok := readCase(t, dir, "after-mode"); ok && exists {
		st, err := os.Stat(target)
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.FormatUint(uint64(st.Mode().Perm()), 8); got != strings.TrimSpace(m) {
			t.Errorf("mode %s, want %s", got, strings.TrimSpace(m))
		}
	}
	// The links must survive: the edit replaces what they point at.
	if hasDirLink {
		if st, err := os.Lstat(filepath.Dir(target)); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the directory symlink %s was replaced (%v)", filepath.Dir(target), err)
		}
	}
	if hasLink {
		if st, err := os.Lstat(target); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink %s was replaced by a file (%v)", target, err)
		}
	}
	// No temporary files may be left behind, whatever the outcome.
	_ = filepath.WalkDir(scratch, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Errorf("walk %s: %v", p, err)
			return nil
		}
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func mkdirAll(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

// symlinkRel makes link a symlink to dest, with a link text relative to
// the directory holding link.
func symlinkRel(t *testing.T, dest, link string) {
	t.Helper()
	rl, err := filepath.Rel(filepath.Dir(link), dest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rl, link); err != nil {
		t.Fatal(err)
	}
}
