// Package golden runs the configure-docker golden cases
// (test/testdata/configure-docker) for tests: it reads the cases, builds
// each one's scratch directory and checks the outcome. Two runners use it:
// cmd/docker-credential-ocir runs the command line in-process (and owns -update), the
// end-to-end suite runs the built binary.
//
// A case is one directory:
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
package golden

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Case is one directory of golden files.
type Case struct {
	Name string
	Dir  string
}

// Run is a prepared case: the scratch directory ($DIR), the arguments
// after "configure-docker", the complete environment and the file the
// command edits.
type Run struct {
	Scratch string
	Args    []string
	Env     map[string]string
	Target  string
}

// Cases lists the cases under root, failing the test when there are none.
func Cases(t testing.TB, root string) []Case {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var cases []Case
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, Case{e.Name(), filepath.Join(root, e.Name())})
		}
	}
	if len(cases) == 0 {
		t.Fatal("no golden cases")
	}
	return cases
}

func (c Case) read(t testing.TB, name string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

func (c Case) write(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(content), 0o644); err != nil {
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

// Prepare builds the scratch directory of the case in a new temporary
// directory and returns what to run there.
func (c Case) Prepare(t testing.TB) Run {
	t.Helper()
	// Without symlinks in its own path (macOS /var), so that the resolved
	// paths in the output are under $DIR.
	scratch, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := Run{Scratch: scratch}
	expand := func(s string) string { return strings.ReplaceAll(s, "$DIR", scratch) }
	argText, _ := c.read(t, "args")
	for _, a := range lines(argText) {
		r.Args = append(r.Args, expand(a))
	}
	r.Env = map[string]string{"HOME": filepath.Join(scratch, "home")}
	envText, _ := c.read(t, "env")
	for _, l := range lines(envText) {
		k, v, _ := strings.Cut(l, "=")
		r.Env[k] = expand(v)
	}
	if oci, ok := c.read(t, "oci-config"); ok {
		p := filepath.Join(scratch, "oci-config")
		if err := os.WriteFile(p, []byte(oci), 0o600); err != nil {
			t.Fatal(err)
		}
		r.Env["OCI_CLI_CONFIG_FILE"] = p
	}
	rel := "docker/config.json"
	if s, ok := c.read(t, "target"); ok {
		rel = strings.TrimSpace(s)
	}
	r.Target = filepath.Join(scratch, rel)
	contentAt := r.Target
	realDir := filepath.Dir(r.Target)
	if dl, ok := c.read(t, "dir-link"); ok {
		realDir = filepath.Join(scratch, strings.TrimSpace(dl))
		mkdir(t, realDir)
		mkdir(t, filepath.Dir(filepath.Dir(r.Target)))
		symlinkRel(t, realDir, filepath.Dir(r.Target))
	}
	if link, ok := c.read(t, "link"); ok {
		contentAt = filepath.Join(scratch, strings.TrimSpace(link))
		mkdir(t, realDir)
		symlinkRel(t, contentAt, filepath.Join(realDir, filepath.Base(r.Target)))
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
	return r
}

// symlinkRel makes link a symlink to dest, with a link text relative to
// the directory holding link.
func symlinkRel(t testing.TB, dest, link string) {
	t.Helper()
	rl, err := filepath.Rel(filepath.Dir(link), dest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rl, link); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t testing.TB, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

// Check compares the outcome of a run of the case with its golden files,
// or with update rewrites them instead.
func (c Case) Check(t testing.TB, r Run, code int, stdout, stderr string, update bool) {
	t.Helper()
	unexpand := func(s string) string { return strings.ReplaceAll(s, r.Scratch, "$DIR") }
	got := map[string]string{"stdout": unexpand(stdout), "stderr": unexpand(stderr), "exit": strconv.Itoa(code) + "\n"}
	before, hadBefore := c.read(t, "before.json")
	content, err := os.ReadFile(r.Target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	if update {
		for name, v := range got {
			c.write(t, name, v)
		}
		if exists && (!hadBefore || string(content) != before) {
			c.write(t, "after.json", string(content))
		} else {
			_ = os.Remove(filepath.Join(c.Dir, "after.json"))
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
		st, err := os.Stat(r.Target)
		if err != nil {
			t.Fatal(err)
		}
		if got := strconv.FormatUint(uint64(st.Mode().Perm()), 8); got != strings.TrimSpace(m) {
			t.Errorf("mode %s, want %s", got, strings.TrimSpace(m))
		}
	}
	// The links must survive: the edit replaces what they point at.
	if _, ok := c.read(t, "dir-link"); ok {
		if st, err := os.Lstat(filepath.Dir(r.Target)); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the directory symlink %s was replaced (%v)", filepath.Dir(r.Target), err)
		}
	}
	if _, ok := c.read(t, "link"); ok {
		if st, err := os.Lstat(r.Target); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the symlink %s was replaced by a file (%v)", r.Target, err)
		}
	}
	// No temporary files may be left behind, whatever the outcome.
	_ = filepath.WalkDir(r.Scratch, func(p string, d fs.DirEntry, err error) error {
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
