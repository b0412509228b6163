package dockerconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The rule for symlinks as root, decided from owners alone: no root needed.
func TestFollowRuleAsRootAcceptsOnlyLinksOfRootOrOfThePlacesOwner(t *testing.T) {
	const user, other = 1000, 1001
	uid := func(id int) owner { return owner{uid: id, gid: id, known: true} }
	linkOf := func(id int) link { return link{path: "/home/u/.docker/config.json", owner: uid(id)} }
	for _, tc := range []struct {
		name    string
		euid    int
		links   []link
		place   owner
		refused bool
	}{
		{"root, no link", 0, nil, uid(other), false},
		{"root, user's link to the user's file", 0, []link{linkOf(user)}, uid(user), false},
		{"root, root's link to the user's file", 0, []link{linkOf(0)}, uid(user), false},
		{"root, root's link to root's file", 0, []link{linkOf(0)}, uid(0), false},
		{"root, user's link to root's file", 0, []link{linkOf(user)}, uid(0), true},
		{"root, user's link to another user's file", 0, []link{linkOf(user)}, uid(other), true},
		{"root, root's link then user's link to root's file", 0, []link{linkOf(0), linkOf(user)}, uid(0), true},
		{"root, user's links all to the user's file", 0, []link{linkOf(user), linkOf(0), linkOf(user)}, uid(user), false},
		{"root, owners unknown (Windows)", 0, []link{{path: "x"}}, owner{}, false},
		{"not root, user's link to root's file: the kernel decides", user, []link{linkOf(user)}, uid(0), false},
		{"not root, another user's link", user, []link{linkOf(other)}, uid(user), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := followRule(tc.euid, tc.links, "/place", tc.place)
			if got := errors.Is(err, ErrRefused); got != tc.refused {
				t.Fatalf("refused %v (%v), want %v", got, err, tc.refused)
			}
		})
	}
}

// A directory swapped for a symlink between Read and Write (a race a user
// can run against `sudo configure-docker`) must not redirect the write.
func TestWriteGoesNowhereElseWhenTheDirectoryIsSwappedAfterRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		exists bool
	}{
		{"existing file", true},
		{"new file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := realTempDir(t)
			docker := filepath.Join(dir, ".docker")
			elsewhere := filepath.Join(dir, "elsewhere")
			for _, d := range []string{docker, elsewhere} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(docker, "config.json")
			if tc.exists {
				if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f, err := Read(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(docker, docker+"-old"); err != nil {
				t.Fatal(err)
			}
			mustLink(t, "elsewhere", docker)
			if err := f.Write([]byte("{}\n")); err == nil || !strings.Contains(err.Error(), "changed while being edited") {
				t.Errorf("got %v, want a refusal", err)
			}
			if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
				t.Errorf("written through the swapped-in link: %v", entries)
			}
		})
	}
}
