package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrepareBuildsTheLinkedLayoutAndCheckAcceptsAnUntouchedFile: a case
// with a directory symlink, a file symlink, a mode and before.json, run
// by a command that changes nothing.
func TestPrepareBuildsTheLinkedLayoutAndCheckAcceptsAnUntouchedFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"args": "--region\niad\n", "env": "DOCKER_CONFIG=$DIR/docker\n",
		"dir-link": "real\n", "link": "store/config.json\n", "mode": "640\n",
		"before.json": "{}\n", "stdout": "ok $DIR\n", "stderr": "", "exit": "0\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := Case{Name: "linked", Dir: dir}
	r := c.Prepare(t)
	if len(r.Args) != 2 || r.Args[1] != "iad" || r.Env["DOCKER_CONFIG"] != filepath.Join(r.Scratch, "docker") || r.Env["HOME"] != filepath.Join(r.Scratch, "home") {
		t.Fatalf("args %q env %q", r.Args, r.Env)
	}
	if st, err := os.Lstat(filepath.Join(r.Scratch, "docker")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("docker is not a directory symlink: %v", err)
	}
	if st, err := os.Lstat(r.Target); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the target is not a symlink: %v", err)
	}
	st, err := os.Stat(filepath.Join(r.Scratch, "store", "config.json"))
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Fatalf("the linked file: %v %v", st, err)
	}
	c.Check(t, r, 0, "ok "+r.Scratch+"\n", "", false)
}
