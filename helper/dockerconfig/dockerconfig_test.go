package dockerconfig

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// semantic decodes JSON for a comparison that ignores formatting.
func semantic(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}

func TestSetCredHelperKeepsEveryOtherKeyAndItsOrder(t *testing.T) {
	in := `{"z": 1, "auths": {"a": {"auth": "eA=="}}, "credHelpers": {"gcr.io": "gcloud"}, "a": [true, null, 1.50]}`
	d, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	prev, changed, err := d.SetCredHelper("iad.ocir.io", "ocir")
	if err != nil || !changed || prev != "" {
		t.Fatalf("got %q %v %v", prev, changed, err)
	}
	out, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Keys(), []string{"z", "auths", "credHelpers", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("key order %v, want %v", got, want)
	}
	if !strings.Contains(string(out), "1.50") {
		t.Errorf("number literal rewritten:\n%s", out)
	}
	got, want := semantic(t, out), semantic(t, []byte(in))
	want["credHelpers"].(map[string]any)["iad.ocir.io"] = "ocir"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestSetCredHelperReportsNoChangeWhenAlreadySet(t *testing.T) {
	d, _ := Parse([]byte(`{"credHelpers": {"iad.ocir.io": "ocir"}}`))
	if prev, changed, err := d.SetCredHelper("iad.ocir.io", "ocir"); err != nil || changed || prev != "ocir" {
		t.Fatalf("got %q %v %v", prev, changed, err)
	}
}

func TestRemoveCredHelperLeavesOtherHelpersAlone(t *testing.T) {
	d, _ := Parse([]byte(`{"credHelpers": {"iad.ocir.io": "other", "fra.ocir.io": "ocir"}}`))
	removed, other, err := d.RemoveCredHelper("iad.ocir.io", "ocir")
	if err != nil || removed || other != "other" {
		t.Fatalf("got %v %q %v", removed, other, err)
	}
	removed, _, err = d.RemoveCredHelper("fra.ocir.io", "ocir")
	if err != nil || !removed {
		t.Fatalf("got %v %v", removed, err)
	}
	e, _ := d.CredHelpers()
	if len(e) != 1 || e[0] != (Entry{"iad.ocir.io", "other"}) {
		t.Errorf("left %v", e)
	}
	_, _, _ = d.RemoveCredHelper("iad.ocir.io", "other")
	if _, ok := d.top.get(KeyCredHelpers); ok {
		t.Error("an emptied credHelpers was kept")
	}
}

func TestParseTreatsEmptyAndNullAsEmptyConfig(t *testing.T) {
	for _, in := range []string{"", "  \n", "null", `{"credHelpers": null}`} {
		d, err := Parse([]byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if e, err := d.CredHelpers(); err != nil || len(e) != 0 {
			t.Errorf("%q: %v %v", in, e, err)
		}
	}
}

func TestParseRejectsWhatItCannotEditSafely(t *testing.T) {
	for _, in := range []string{
		`{`, `[]`, `"x"`, `{"a":1}{}`, `{"a":1,"a":2}`, `{"credHelpers": []}`, `{"credHelpers": {"h": 1}}`,
		`{"credHelpers": {"h": "a", "h": "b"}}`, "{\"a\": \"\xff\"}", `{"a": tru}`,
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v, want ErrMalformed", in, err)
		}
	}
}

func TestAuthsReportsStoredSecrets(t *testing.T) {
	d, _ := Parse([]byte(`{"auths": {"a": {}, "b": {"auth": "x"}, "c": {"identitytoken": "t"}, "d": {"email": "e"}}}`))
	got := d.Auths()
	want := []AuthEntry{{"a", false}, {"b", true}, {"c", true}, {"d", false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
}

func TestWriteCreatesAPrivateDirectoryAndFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits")
	}
	p := filepath.Join(t.TempDir(), "new", ".docker", "config.json")
	if _, err := Edit(context.Background(), p, Options{}, writeAll("{}\n")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	dst, _ := os.Stat(filepath.Dir(p))
	if st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
		t.Errorf("file %v dir %v, want 0600 in 0700", st.Mode(), dst.Mode())
	}
}

func TestWriteKeepsTheModeAndLeavesNoTemporaryFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("permission bits")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte("{}"), 0o640); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(p, 0o640)
	if _, err := Edit(context.Background(), p, Options{}, writeAll(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != "config.json" || entries[1].Name() != "config.json.lock" {
		t.Errorf("directory holds %v, want the file and its lock file", entries)
	}
}

// realTempDir is t.TempDir without symlinks in its path (macOS /var), so
// that resolved paths can be compared.
func realTempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReadFollowsSymlinkChainsAndRefusesLoops(t *testing.T) {
	dir := realTempDir(t)
	real := filepath.Join(dir, "real.json")
	if err := os.WriteFile(real, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustLink(t, "real.json", filepath.Join(dir, "b"))
	mustLink(t, filepath.Join(dir, "b"), filepath.Join(dir, "a"))
	f, err := Read(filepath.Join(dir, "a"))
	if err != nil || f.Target != real || !f.Exists {
		t.Fatalf("got %+v %v", f, err)
	}
	mustLink(t, "loop2", filepath.Join(dir, "loop1"))
	mustLink(t, "loop1", filepath.Join(dir, "loop2"))
	if _, err := Read(filepath.Join(dir, "loop1")); err == nil {
		t.Error("a symlink loop was accepted")
	}
}

// A relative link target is relative to the directory that really holds
// the link: with home/.docker -> dotfiles/docker and config.json ->
// ../shared.json the file is dotfiles/shared.json, whether it exists yet
// or not.
func TestReadResolvesRelativeLinksFromTheRealDirectory(t *testing.T) {
	for _, tc := range []struct {
		name, link, want string
		exists           bool
	}{
		{"existing file", "../shared.json", "dotfiles/shared.json", true},
		{"dangling link", "../new/config.json", "dotfiles/new/config.json", false},
		// alias -> ../other/deep: alias/.. is other, the real parent of
		// other/deep, not dotfiles as a textual clean would have it.
		{"dangling link through a symlinked directory", "../alias/../../dotfiles/new/config.json", "dotfiles/new/config.json", false},
		{"dangling chain", "next.json", "dotfiles/new/config.json", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := realTempDir(t)
			home := filepath.Join(dir, "home")
			for _, d := range []string{home, filepath.Join(dir, "dotfiles", "docker"), filepath.Join(dir, "other", "deep")} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "dotfiles", "shared.json"), []byte(`{"auths":{}}`), 0o600); err != nil {
				t.Fatal(err)
			}
			mustLink(t, "../dotfiles/docker", filepath.Join(home, ".docker"))
			mustLink(t, "../other/deep", filepath.Join(dir, "dotfiles", "alias"))
			mustLink(t, "../new/config.json", filepath.Join(dir, "dotfiles", "docker", "next.json"))
			mustLink(t, tc.link, filepath.Join(dir, "dotfiles", "docker", "config.json"))

			f, err := Read(filepath.Join(home, ".docker", "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tc.want); f.Target != want || f.Exists != tc.exists {
				t.Fatalf("target %s (exists %v), want %s (exists %v)", f.Target, f.Exists, want, tc.exists)
			}
			if _, err := Edit(context.Background(), filepath.Join(home, ".docker", "config.json"), Options{}, writeAll("{}\n")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.want)); err != nil {
				t.Errorf("the link target was not written: %v", err)
			}
			for _, wrong := range []string{filepath.Join(dir, "shared.json"), filepath.Join(dir, "new"), filepath.Join(home, "shared.json")} {
				if _, err := os.Lstat(wrong); err == nil {
					t.Errorf("%s was created", wrong)
				}
			}
			if st, err := os.Lstat(filepath.Join(dir, "dotfiles", "docker", "config.json")); err != nil || st.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the symlink was replaced: %v", err)
			}
		})
	}
}

func TestReadRefusesADirectory(t *testing.T) {
	if _, err := Read(t.TempDir()); err == nil {
		t.Error("a directory was accepted as config file")
	}
}

// A config file larger than any real one is refused before it is read
// whole: a wrong path (a disk image, a log) must not cost gigabytes.
func TestReadRefusesAFileLargerThanAnyConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxFileSize + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	_, err = Read(path)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Read of a %d-byte file: %v, want a too-large error", MaxFileSize+1, err)
	}
}

// writeAll is the simplest edit: the whole content replaced with data.
func writeAll(data string) func(*File) ([]byte, error) {
	return func(*File) ([]byte, error) { return []byte(data), nil }
}

func mustLink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

// FuzzEdit checks the editor on arbitrary input: it never panics; what it
// accepts it can edit, and an edit changes credHelpers and nothing else.
func FuzzEdit(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `{"auths":{}}`, `{"credHelpers":{"gcr.io":"gcloud"}}`, "{\n  \"a\": [1, {\"b\": null}]\n}",
		`{"credHelpers":{"iad.ocir.io":"ocir"},"credsStore":"desktop"}`, `{"a":"\u003c\u0000"}`, `{"a":1e400}`,
	} {
		f.Add([]byte(s), "iad.ocir.io")
	}
	f.Fuzz(func(t *testing.T, raw []byte, host string) {
		d, err := Parse(raw)
		if err != nil {
			return
		}
		var orig map[string]any
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		_ = dec.Decode(&orig)
		if orig == nil {
			orig = map[string]any{}
		}
		_, _, err = d.SetCredHelper(host, "ocir")
		if host == "" || !utf8.ValidString(host) {
			if err == nil {
				t.Fatalf("invalid host %q accepted", host)
			}
			return
		}
		if err != nil {
			t.Fatalf("set: %v", err)
		}
		out, err := d.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		d2, err := Parse(out)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, out)
		}
		got := semantic(t, out)
		ch, _ := got[KeyCredHelpers].(map[string]any)
		if ch[host] != "ocir" {
			t.Fatalf("entry missing: %s", out)
		}
		for k, v := range orig {
			if k == KeyCredHelpers {
				continue
			}
			if !reflect.DeepEqual(got[k], v) {
				t.Fatalf("key %q changed: %v -> %v", k, v, got[k])
			}
		}
		if removed, _, err := d2.RemoveCredHelper(host, "ocir"); err != nil || !removed {
			t.Fatalf("remove: %v %v", removed, err)
		}
		if _, err := d2.Marshal(); err != nil {
			t.Fatal(err)
		}
	})
}
