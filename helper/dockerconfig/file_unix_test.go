//go:build unix

package dockerconfig

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile/userfiletest"
)

// The uids of the tests run as root: a user whose config is edited with
// sudo, and someone else.
const (
	userUID  = 12345
	userGID  = 12346
	otherUID = 23456
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root, to give files to other users and to edit as root")
	}
}

// chownAll gives each path (not following a symlink) to uid:gid.
func chownAll(t *testing.T, uid, gid int, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Lchown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// An edit as root (sudo with the user's HOME) goes through the user's
// symlinks only to what the user owns: a user must not be able to make
// root write a file the user could not write.
func TestAsRootSymlinksAreFollowedOnlyToWhatTheirOwnerOwns(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		// setup builds the case under dir (root's, like /etc/protected
		// the victim directory) and home (the user's) and returns the file
		// that must not be written, or "" when the edit is allowed and
		// lands in want.
		setup func(t *testing.T, dir, home string) (victim, want string)
	}{
		{"link to a file of root", func(t *testing.T, dir, home string) (string, string) {
			victim := filepath.Join(dir, "protected", "victim.json")
			writeOwned(t, victim, 0, 0)
			userLink(t, victim, filepath.Join(home, ".docker", "config.json"))
			return victim, ""
		}},
		{"dangling link into a directory of root", func(t *testing.T, dir, home string) (string, string) {
			victim := filepath.Join(dir, "protected", "new.json")
			userLink(t, victim, filepath.Join(home, ".docker", "config.json"))
			return victim, ""
		}},
		{"dangling link into a missing directory under one of root", func(t *testing.T, dir, home string) (string, string) {
			victim := filepath.Join(dir, "protected", "sub", "new.json")
			userLink(t, victim, filepath.Join(home, ".docker", "config.json"))
			return filepath.Join(dir, "protected", "sub"), ""
		}},
		{"directory link to a directory of root", func(t *testing.T, dir, home string) (string, string) {
			if err := os.Remove(filepath.Join(home, ".docker")); err != nil {
				t.Fatal(err)
			}
			userLink(t, filepath.Join(dir, "protected"), filepath.Join(home, ".docker"))
			return filepath.Join(dir, "protected", "config.json"), ""
		}},
		{"link to a file of another user", func(t *testing.T, dir, home string) (string, string) {
			victim := filepath.Join(dir, "other", "config.json")
			writeOwned(t, victim, otherUID, otherUID)
			chownAll(t, otherUID, otherUID, filepath.Dir(victim))
			userLink(t, victim, filepath.Join(home, ".docker", "config.json"))
			return victim, ""
		}},
		{"user link to a link of root to a file of root", func(t *testing.T, dir, home string) (string, string) {
			victim := filepath.Join(dir, "protected", "victim.json")
			writeOwned(t, victim, 0, 0)
			mustLink(t, victim, filepath.Join(dir, "protected", "root-link"))
			userLink(t, filepath.Join(dir, "protected", "root-link"), filepath.Join(home, ".docker", "config.json"))
			return victim, ""
		}},
		{"user link to a user link to a file of root", func(t *testing.T, dir, home string) (string, string) {
			victim := filepath.Join(dir, "protected", "victim.json")
			writeOwned(t, victim, 0, 0)
			userLink(t, victim, filepath.Join(home, "hop"))
			userLink(t, filepath.Join(home, "hop"), filepath.Join(home, ".docker", "config.json"))
			return victim, ""
		}},
		{"user link into the user's dotfiles", func(t *testing.T, dir, home string) (string, string) {
			want := filepath.Join(home, "dotfiles", "docker.json")
			writeOwned(t, want, userUID, userGID)
			chownAll(t, userUID, userGID, filepath.Dir(want))
			userLink(t, "../dotfiles/docker.json", filepath.Join(home, ".docker", "config.json"))
			return "", want
		}},
		{"dangling user link into the user's dotfiles", func(t *testing.T, dir, home string) (string, string) {
			want := filepath.Join(home, "dotfiles", "docker.json")
			mkdirOwned(t, filepath.Dir(want), userUID, userGID)
			userLink(t, "../dotfiles/docker.json", filepath.Join(home, ".docker", "config.json"))
			return "", want
		}},
		{"link of root to a file of root", func(t *testing.T, dir, home string) (string, string) {
			want := filepath.Join(dir, "protected", "shared.json")
			writeOwned(t, want, 0, 0)
			mustLink(t, want, filepath.Join(home, ".docker", "config.json"))
			return "", want
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := realTempDir(t)
			home := filepath.Join(dir, "home")
			mkdirOwned(t, filepath.Join(dir, "protected"), 0, 0)
			mkdirOwned(t, home, userUID, userGID)
			mkdirOwned(t, filepath.Join(home, ".docker"), userUID, userGID)
			victim, want := tc.setup(t, dir, home)
			var before []byte
			if victim != "" {
				before, _ = os.ReadFile(victim)
			}

			p := filepath.Join(home, ".docker", "config.json")
			_, err := Edit(context.Background(), p, Options{}, writeAll("{\"credHelpers\": {}}\n"))
			if victim == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got, _ := os.ReadFile(want); !strings.Contains(string(got), "credHelpers") {
					t.Errorf("%s was not written: %q", want, got)
				}
				return
			}
			if err == nil {
				t.Fatalf("root followed the link from %s", p)
			}
			if !strings.Contains(err.Error(), "refusing") {
				t.Errorf("the error does not say it refused: %v", err)
			}
			after, statErr := os.ReadFile(victim)
			if string(after) != string(before) || (before == nil && !os.IsNotExist(statErr)) {
				t.Errorf("%s was written: %q (%v)", victim, after, statErr)
			}
		})
	}
}

func writeOwned(t *testing.T, path string, uid, gid int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{\"keep\": true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	chownAll(t, uid, gid, path)
}

func mkdirOwned(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	chownAll(t, uid, gid, dir)
}

// userLink makes link a symlink to target, owned by the user.
func userLink(t *testing.T, target, link string) {
	t.Helper()
	mustLink(t, target, link)
	chownAll(t, userUID, userGID, link)
}

// Whatever is planted as the lock file — a FIFO (whose open would block),
// a symlink (to make root create or lock a file elsewhere), a directory —
// is refused at once, and nothing is written.
func TestEditRefusesALockFileThatIsNotARegularFile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, lock string)
	}{
		{"FIFO", func(t *testing.T, lock string) {
			userfiletest.FIFO(t, filepath.Dir(lock), filepath.Base(lock))
		}},
		{"symlink to a file", func(t *testing.T, lock string) {
			victim := filepath.Join(filepath.Dir(lock), "victim")
			if err := os.WriteFile(victim, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			mustLink(t, victim, lock)
		}},
		{"relative symlink to a file beside it", func(t *testing.T, lock string) {
			if err := os.WriteFile(filepath.Join(filepath.Dir(lock), "victim"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			mustLink(t, "victim", lock)
		}},
		{"dangling symlink", func(t *testing.T, lock string) {
			mustLink(t, filepath.Join(filepath.Dir(lock), "created-by-the-lock"), lock)
		}},
		{"directory", func(t *testing.T, lock string) {
			if err := os.Mkdir(lock, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "config.json")
			tc.plant(t, p+".lock")
			err := userfiletest.NoHang(t, "Edit with a planted lock file", func() error {
				_, err := Edit(context.Background(), p, Options{LockWait: time.Second}, addHost("iad.ocir.io"))
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "lock") {
				t.Errorf("got %v, want a lock file error", err)
			}
			for _, name := range []string{"config.json", "created-by-the-lock"} {
				if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
					t.Errorf("%s was created", name)
				}
			}
			if raw, _ := os.ReadFile(filepath.Join(dir, "victim")); len(raw) != 0 {
				t.Errorf("the link's target was written: %q", raw)
			}
		})
	}
}

// What root creates for a user (sudo with the user's HOME, no ~/.docker
// yet) belongs to that user, not to root: the directories, the file and
// the lock file. The owner is that of the nearest existing directory, with
// SUDO_GID as group when that is the sudo user's; never the sudo user's
// when the directory is someone else's (sudo -i: root's own HOME).
func TestAsRootNewDirectoriesAndFilesBelongToTheOwnerOfTheirPlace(t *testing.T) {
	requireRoot(t)
	const sudoGID = 12347
	sudo := map[string]string{"SUDO_UID": strconv.Itoa(userUID), "SUDO_GID": strconv.Itoa(sudoGID)}
	for _, tc := range []struct {
		name         string
		homeOwner    [2]int
		env          map[string]string
		existing     string // a directory under home that exists already
		rel          string // the file, relative to home
		wantUID, GID int
	}{
		{"sudo with the user's HOME", [2]int{userUID, userGID}, sudo, "", ".docker/config.json", userUID, sudoGID},
		{"root without sudo in a user's HOME", [2]int{userUID, userGID}, nil, "", ".docker/config.json", userUID, userGID},
		{"sudo, two missing directories (podman)", [2]int{userUID, userGID}, sudo, "", ".config/containers/auth.json", userUID, sudoGID},
		{"sudo, existing directory of the user", [2]int{userUID, userGID}, sudo, ".docker", ".docker/config.json", userUID, sudoGID},
		{"sudo -i: root's own HOME stays root's", [2]int{0, 0}, sudo, "", ".docker/config.json", 0, 0},
		{"sudo into another user's directory: theirs", [2]int{otherUID, otherUID}, sudo, "", ".docker/config.json", otherUID, otherUID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := filepath.Join(realTempDir(t), "home")
			mkdirOwned(t, home, tc.homeOwner[0], tc.homeOwner[1])
			if tc.existing != "" {
				mkdirOwned(t, filepath.Join(home, tc.existing), tc.wantUID, tc.GID)
			}
			p := filepath.Join(home, tc.rel)
			getenv := func(k string) string { return tc.env[k] }
			if _, err := Edit(context.Background(), p, Options{Getenv: getenv}, addHost("iad.ocir.io")); err != nil {
				t.Fatal(err)
			}
			created := []string{p, p + ".lock"}
			for d := filepath.Dir(p); d != home; d = filepath.Dir(d) {
				created = append(created, d)
			}
			for _, c := range created {
				if uid, gid := ownerIDs(t, c); uid != tc.wantUID || gid != tc.GID {
					t.Errorf("%s belongs to %d:%d, want %d:%d", c, uid, gid, tc.wantUID, tc.GID)
				}
			}
		})
	}
}

func ownerIDs(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	s := st.Sys().(*syscall.Stat_t)
	return int(s.Uid), int(s.Gid)
}
