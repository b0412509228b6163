package dockerconfig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
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

// Who gets what root creates, decided from owners alone: no root needed.
func TestNewOwnerIsTheNearestDirectorysOwnerWithTheSudoGroup(t *testing.T) {
	const user, group, sudoGroup, other = 1000, 100, 1000, 1001
	dir := func(uid, gid int) owner { return owner{uid: uid, gid: gid, known: true} }
	for _, tc := range []struct {
		name             string
		euid             int
		sudoUID, sudoGID string
		dir, want        owner
	}{
		{"sudo, the user's HOME: the user, with the sudo group", 0, "1000", "1000", dir(user, group), dir(user, sudoGroup)},
		{"root without sudo, a user's HOME: the directory's owner", 0, "", "", dir(user, group), dir(user, group)},
		{"sudo -i, root's HOME: root", 0, "1000", "1000", dir(0, 0), dir(0, 0)},
		{"sudo, another user's directory: theirs", 0, "1000", "1000", dir(other, other), dir(other, other)},
		{"sudo with a malformed SUDO_GID: the directory's group", 0, "1000", "x", dir(user, group), dir(user, group)},
		{"sudo with a malformed SUDO_UID: the directory's owner", 0, "x", "1000", dir(user, group), dir(user, group)},
		{"not root: nothing is given away", user, "1000", "1000", dir(other, other), owner{}},
		{"owners unknown (Windows)", 0, "1000", "1000", owner{}, owner{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newOwner(tc.euid, tc.sudoUID, tc.sudoGID, tc.dir); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A directory swapped for a symlink between the read and the write (a race
// a user can run against `sudo configure-docker`) must not redirect the
// write or the lock file.
func TestEditGoesNowhereElseWhenTheDirectoryIsSwappedAfterTheRead(t *testing.T) {
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
			swapped := false
			_, err := Edit(context.Background(), p, Options{}, func(*File) ([]byte, error) {
				if !swapped { // after the first read, before the lock and the write
					swapped = true
					if err := os.Rename(docker, docker+"-old"); err != nil {
						return nil, err
					}
					if err := os.Symlink("elsewhere", docker); err != nil {
						return nil, err
					}
				}
				return []byte("{}\n"), nil
			})
			if err == nil || !strings.Contains(err.Error(), "changed while being edited") {
				t.Errorf("got %v, want a refusal", err)
			}
			if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
				t.Errorf("written through the swapped-in link: %v", entries)
			}
		})
	}
}

// addHost is the edit of the tests: credHelpers[host] = "ocir".
func addHost(host string) func(*File) ([]byte, error) {
	return func(f *File) ([]byte, error) {
		d, err := Parse(f.Raw)
		if err != nil {
			return nil, err
		}
		if _, changed, err := d.SetCredHelper(host, "ocir"); err != nil || !changed {
			return nil, err
		}
		return d.Marshal()
	}
}

// Concurrent Edits of one file take turns: every entry survives, whether
// the file and its directory exist or not, and through a symlink.
func TestEditConcurrentlyKeepsEveryEntry(t *testing.T) {
	const n = 8
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (path, real string)
	}{
		{"no directory yet", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "new", ".docker", "config.json")
			return p, p
		}},
		{"existing file", func(t *testing.T, dir string) (string, string) {
			p := filepath.Join(dir, "config.json")
			if err := os.WriteFile(p, []byte(`{"auths": {}}`), 0o600); err != nil {
				t.Fatal(err)
			}
			return p, p
		}},
		{"symlink to a file in another directory", func(t *testing.T, dir string) (string, string) {
			real := filepath.Join(dir, "dotfiles", "docker.json")
			if err := os.Mkdir(filepath.Dir(real), 0o700); err != nil {
				t.Fatal(err)
			}
			mustLink(t, "dotfiles/docker.json", filepath.Join(dir, "config.json"))
			return filepath.Join(dir, "config.json"), real
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, real := tc.setup(t, realTempDir(t))
			start := make(chan struct{})
			errs := make(chan error, n)
			for i := range n {
				go func() {
					<-start
					_, err := Edit(context.Background(), path, Options{}, addHost(fmt.Sprintf("h%d.ocir.io", i)))
					errs <- err
				}()
			}
			close(start)
			for range n {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			raw, err := os.ReadFile(real)
			if err != nil {
				t.Fatal(err)
			}
			d, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if e, _ := d.CredHelpers(); len(e) != n {
				t.Errorf("%d entries, want %d:\n%s", len(e), n, raw)
			}
			if _, err := os.Lstat(real + ".lock"); err != nil {
				t.Errorf("no lock file next to the file the link leads to: %v", err)
			}
		})
	}
}

// A lock that another process holds too long is an error after the
// wait, not a hang, and the file is left alone.
func TestEditGivesUpOnALockHeldTooLong(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	holder := flock.New(p + ".lock")
	if ok, err := holder.TryLock(); !ok || err != nil {
		t.Fatalf("%v %v", ok, err)
	}
	defer holder.Close()
	began := time.Now()
	_, err := Edit(context.Background(), p, Options{LockWait: 100 * time.Millisecond}, addHost("iad.ocir.io"))
	if err == nil || !strings.Contains(err.Error(), "being edited by another process") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("waited %v", d)
	}
	if raw, _ := os.ReadFile(p); string(raw) != "{}" {
		t.Errorf("written: %s", raw)
	}
	// The wait ends early when the holder lets go.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = holder.Unlock()
	}()
	if _, err := Edit(context.Background(), p, Options{LockWait: 10 * time.Second}, addHost("iad.ocir.io")); err != nil {
		t.Fatal(err)
	}
}

// An edit that writes nothing (nothing to change, a dry run) creates
// nothing: no directory, no lock file.
func TestEditWithNothingToWriteCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new", "config.json")
	f, err := Edit(context.Background(), p, Options{}, func(*File) ([]byte, error) { return nil, nil })
	if err != nil || f.Exists {
		t.Fatalf("%+v %v", f, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("created %v", entries)
	}
}

// Without the lock, another edit may replace the file (rename) between its
// resolution and its opening: Read resolves it again instead of failing.
func TestReadWhileTheFileIsReplacedConcurrently(t *testing.T) {
	for _, tc := range []struct {
		name string
		link bool
	}{
		{"file", false},
		{"through a symlink", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			real := filepath.Join(dir, "config.json")
			p := real
			if tc.link {
				p = filepath.Join(dir, "link.json")
				mustLink(t, "config.json", p)
			}
			if err := os.WriteFile(real, []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					tmp := filepath.Join(dir, fmt.Sprintf("tmp-%d", i))
					if os.WriteFile(tmp, []byte("{}"), 0o600) != nil || os.Rename(tmp, real) != nil {
						return
					}
				}
			}()
			defer func() { close(stop); <-done }()
			for range 2000 {
				if _, err := Read(p); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
