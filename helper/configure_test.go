package helper

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the configure-docker golden files")

// goldenDir holds the configure-docker cases shared with the end-to-end
// suite, which runs the same cases through the built binary.
const goldenDir = "../test/testdata/configure-docker"

// goldenCase is one directory of goldenDir:
//
//	args        arguments after "configure-docker", one per line ($DIR = scratch dir)
//	env         KEY=VALUE lines ($DIR expanded); HOME is $DIR/home unless set
//	oci-config  an OCI config file; OCI_CLI_CONFIG_FILE points at it
//	before.json content of the target before the run (absent: no file)
//	target      the edited file relative to $DIR (default docker/config.json)
//	dir-link    make the directory of target a symlink to this directory (relative to $DIR)
//	link        make target a symlink to this path (relative to $DIR; the link text is
//	            relative to the real directory of target); before.json goes there
//	mode        octal permissions of the file before the run
//	after.json  expected content afterwards (absent: byte-identical to before)
//	after-mode  expected octal permissions afterwards
//	stdout, stderr, exit   expected output ($DIR substituted back) and exit code
type goldenCase struct {
	name string
	dir  string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, goldenCase{e.Name(), filepath.Join(goldenDir, e.Name())})
		}
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	return cases
}

func (c goldenCase) read(t *testing.T, name string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

func (c goldenCase) write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// prepare builds the scratch directory of a case and returns its args and
// environment.
func (c goldenCase) prepare(t *testing.T, scratch string) (args []string, env map[string]string, target string) {
	t.Helper()
	expand := func(s string) string { return strings.ReplaceAll(s, "$DIR", scratch) }
	argText, _ := c.read(t, "args")
	for _, a := range lines(argText) {
		args = append(args, expand(a))
	}
	env = map[string]string{"HOME": filepath.Join(scratch, "home")}
	envText, _ := c.read(t, "env")
	for _, l := range lines(envText) {
		k, v, _ := strings.Cut(l, "=")
		env[k] = expand(v)
	}
	if oci, ok := c.read(t, "oci-config"); ok {
		p := filepath.Join(scratch, "oci-config")
		if err := os.WriteFile(p, []byte(oci), 0o600); err != nil {
			t.Fatal(err)
		}
		env["OCI_CLI_CONFIG_FILE"] = p
	}
	rel := "docker/config.json"
	if s, ok := c.read(t, "target"); ok {
		rel = strings.TrimSpace(s)
	}
	target = filepath.Join(scratch, rel)
	contentAt := target
	realDir := filepath.Dir(target)
	if dl, ok := c.read(t, "dir-link"); ok {
		realDir = filepath.Join(scratch, strings.TrimSpace(dl))
		mkdir(t, realDir)
		mkdir(t, filepath.Dir(filepath.Dir(target)))
		symlinkRel(t, realDir, filepath.Dir(target))
	}
	if link, ok := c.read(t, "link"); ok {
		contentAt = filepath.Join(scratch, strings.TrimSpace(link))
		mkdir(t, realDir)
		symlinkRel(t, contentAt, filepath.Join(realDir, filepath.Base(target)))
	}
	if before, ok := c.read(t, "before.json"); ok {
		mkdir(t, filepath.Dir(contentAt))
		mode := fs.FileMode(0o600)
		if m, ok := c.read(t, "mode"); ok {
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
	return args, env, target
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

func mkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

// check compares the outcome of a case with its golden files (or rewrites
// them with -update).
func (c goldenCase) check(t *testing.T, scratch, target string, code int, stdout, stderr string) {
	t.Helper()
	unexpand := func(s string) string { return strings.ReplaceAll(s, scratch, "$DIR") }
	got := map[string]string{"stdout": unexpand(stdout), "stderr": unexpand(stderr), "exit": strconv.Itoa(code) + "\n"}
	before, hadBefore := c.read(t, "before.json")
	content, err := os.ReadFile(target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if *update {
		for name, v := range got {
			c.write(t, name, v)
		}
		if exists && (!hadBefore || string(content) != before) {
			c.write(t, "after.json", string(content))
		} else {
			_ = os.Remove(filepath.Join(c.dir, "after.json"))
		}
		return
	}
	for name, v := range got {
		want, _ := c.read(t, name)
		if v != want {
			t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, v, want)
		}
	}
	if after, ok := c.read(t, "after.json"); ok {
		if !exists || string(content) != after {
			t.Errorf("file content differs:\n--- got\n%s\n--- want\n%s", content, after)
		}
	} else if hadBefore != exists || string(content) != before {
		t.Errorf("file must be untouched; before %q (exists %v), now %q (exists %v)", before, hadBefore, content, exists)
	}
	if m, ok := c.read(t, "after-mode"); ok && exists {
		st, err := os.Stat(target)
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.FormatUint(uint64(st.Mode().Perm()), 8); got != strings.TrimSpace(m) {
			t.Errorf("mode %s, want %s", got, strings.TrimSpace(m))
		}
	}
	if _, ok := c.read(t, "dir-link"); ok {
		if st, err := os.Lstat(filepath.Dir(target)); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the directory symlink %s was replaced (%v)", filepath.Dir(target), err)
		}
	}
	if _, ok := c.read(t, "link"); ok {
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

func TestConfigureDockerGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			// Without symlinks in its own path (macOS /var), so that the
			// resolved paths in the output are under $DIR.
			scratch, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			args, env, target := c.prepare(t, scratch)
			vars := env
			var stdout, stderr bytes.Buffer
			code := Main(Env{
				Args:   append([]string{ProgramName, "configure-docker"}, args...),
				Stdout: &stdout, Stderr: &stderr,
				Getenv:  func(k string) string { return vars[k] },
				Context: context.Background(),
				Version: "v0.0.0-test",
				// The real provider: configure-docker only asks it to
				// recognise hosts, which reads nothing and needs no network,
				// and the end-to-end suite must produce the same output.
				NewProvider: nil,
				LookPath:    func(string) (string, error) { return "/usr/local/bin/" + ProgramName, nil },
			})
			c.check(t, scratch, target, code, stdout.String(), stderr.String())
		})
	}
}

func TestConfigureDockerWarnsWhenTheBinaryIsNotOnPath(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := Main(Env{
		Args:        []string{ProgramName, "configure-docker", "--registries", "iad.ocir.io", "--config-dir", dir},
		Stdout:      &stdout,
		Stderr:      &stderr,
		Getenv:      func(k string) string { return map[string]string{"HOME": dir}[k] },
		NewProvider: func(ProviderSettings) (Provider, error) { return newFake(t), nil },
		LookPath:    func(string) (string, error) { return "", errors.New("not found") },
	})
	if code != 0 || !strings.Contains(stderr.String(), "docker-credential-ocir is not on PATH") {
		t.Fatalf("exit %d stderr %q", code, stderr.String())
	}
}

func TestConfigureDockerRefusesConflictingSelections(t *testing.T) {
	for _, args := range [][]string{
		{"--registries", "iad.ocir.io", "--region", "iad"},
		{"--registries", "iad.ocir.io", "--all-regions"},
		{"--registries", ","},
		{"--region", "atlantis"},
		{"extra-arg"},
	} {
		r := runMain(t, newFake(t), nil, "", append([]string{"configure-docker", "--config-dir", t.TempDir()}, args...)...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("%v: got %+v", args, r)
		}
	}
}
