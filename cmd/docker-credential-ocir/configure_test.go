package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/golden"
)

var update = flag.Bool("update", false, "rewrite the configure-docker golden files")

// goldenDir holds the configure-docker cases (layout: package test/golden)
// shared with the end-to-end suite, which runs the same cases through the
// built binary.
const goldenDir = "../../test/testdata/configure-docker"

func TestConfigureDockerGolden(t *testing.T) {
	for _, c := range golden.Cases(t, goldenDir) {
		t.Run(c.Name, func(t *testing.T) {
			r := c.Prepare(t)
			var stdout, stderr bytes.Buffer
			code := run(Env{
				Args:   append([]string{helper.ProgramName, "configure-docker"}, r.Args...),
				Stdout: &stdout, Stderr: &stderr,
				Getenv:  func(k string) string { return r.Env[k] },
				Context: context.Background(),
				Version: "v0.0.0-test",
				// The real provider: configure-docker only asks it to
				// recognise hosts, which reads nothing and needs no network,
				// and the end-to-end suite must produce the same output.
				NewProvider: nil,
				LookPath:    func(string) (string, error) { return "/usr/local/bin/" + helper.ProgramName, nil },
			})
			c.Check(t, r, code, stdout.String(), stderr.String(), *update)
		})
	}
}

func TestConfigureDockerWarnsWhenTheBinaryIsNotOnPath(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(Env{
		Args:        []string{helper.ProgramName, "configure-docker", "--registries", "iad.ocir.io", "--config-dir", dir},
		Stdout:      &stdout,
		Stderr:      &stderr,
		Getenv:      func(k string) string { return map[string]string{"HOME": dir}[k] },
		NewProvider: func(providerSettings) (core, error) { return newFake(t), nil },
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

func TestConfigureDockerWithoutARegionSaysWhatToDo(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ociConfig string // "" means no ~/.oci/config at all
		want      []string
	}{
		{name: "no OCI config file", want: []string{"/.oci/config does not exist: create it with `oci setup config` or `oci session authenticate`", "pass --region (e.g. us-ashburn-1) or --registries"}},
		{name: "profile without region", ociConfig: "[DEFAULT]\nuser=ocid1.user.oc1..aaaa\n", want: []string{"profile DEFAULT in ", "has no region", "pass --region"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if tc.ociConfig != "" {
				if err := os.MkdirAll(filepath.Join(home, ".oci"), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(home, ".oci", "config"), []byte(tc.ociConfig), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			code := run(Env{
				Args:   []string{helper.ProgramName, "configure-docker", "--config-dir", t.TempDir()},
				Stdout: &stdout, Stderr: &stderr,
				Getenv:   func(k string) string { return map[string]string{"HOME": home}[k] },
				LookPath: func(string) (string, error) { return "/usr/local/bin/" + helper.ProgramName, nil },
			})
			if code != cmdline.ExitFailure || stdout.Len() != 0 {
				t.Fatalf("exit %d, stdout %q; want %d and nothing", code, stdout.String(), cmdline.ExitFailure)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// Concurrent runs on one config file (a provisioning script starting
// several at once) must each add their entries: none may be lost to
// another run's read-modify-write.
func TestConfigureDockerConcurrentRunsKeepEveryEntry(t *testing.T) {
	regions := []string{"iad", "phx", "fra", "lhr", "nrt", "syd", "ams", "yyz"}
	for _, tc := range []struct {
		name   string
		before string // content of config.json before the runs; "-" for no file
	}{
		{"no file yet", "-"},
		{"existing file with other keys", `{"auths": {"example.invalid": {}}, "credHelpers": {"gcr.invalid": "gcloud"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			dir := filepath.Join(home, ".docker")
			if tc.before != "-" {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(tc.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			start := make(chan struct{})
			codes := make(chan string, len(regions))
			for _, region := range regions {
				go func() {
					<-start
					var stdout, stderr bytes.Buffer
					code := run(Env{
						Args:   []string{helper.ProgramName, "configure-docker", "--region", region},
						Stdout: &stdout, Stderr: &stderr,
						Getenv:   func(k string) string { return map[string]string{"HOME": home}[k] },
						LookPath: func(string) (string, error) { return "/usr/local/bin/" + helper.ProgramName, nil },
					})
					if code != 0 {
						codes <- region + ": exit " + strconv.Itoa(code) + ": " + stderr.String()
						return
					}
					codes <- ""
				}()
			}
			close(start)
			for range regions {
				if msg := <-codes; msg != "" {
					t.Error(msg)
				}
			}
			raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Auths       map[string]any    `json:"auths"`
				CredHelpers map[string]string `json:"credHelpers"`
			}
			if err := json.Unmarshal(raw, &cfg); err != nil {
				t.Fatalf("%v\n%s", err, raw)
			}
			want := 2 * len(regions) // both host forms of each region
			if tc.before != "-" {
				want++ // gcr.invalid
				if _, ok := cfg.Auths["example.invalid"]; !ok {
					t.Errorf("auths lost:\n%s", raw)
				}
			}
			for _, region := range regions {
				if cfg.CredHelpers[region+".ocir.io"] != helper.HelperSuffix {
					t.Errorf("%s.ocir.io lost", region)
				}
			}
			if len(cfg.CredHelpers) != want {
				t.Errorf("%d credHelpers entries, want %d:\n%s", len(cfg.CredHelpers), want, raw)
			}
		})
	}
}

// `sudo configure-docker` with the user's HOME and no ~/.docker yet
// leaves the user a ~/.docker and config.json of their own (needs root).
func TestConfigureDockerUnderSudoCreatesTheUsersOwnFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root, to run as sudo does")
	}
	const uid, gid = 12345, 12347
	home := t.TempDir()
	if err := os.Chown(home, uid, 12346); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home, "SUDO_UID": strconv.Itoa(uid), "SUDO_GID": strconv.Itoa(gid)}
	var stderr bytes.Buffer
	code := run(Env{
		Args:   []string{helper.ProgramName, "configure-docker", "--region", "iad"},
		Stderr: &stderr, Getenv: func(k string) string { return env[k] },
		LookPath: func(string) (string, error) { return "/usr/local/bin/" + helper.ProgramName, nil },
	})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, p := range []string{filepath.Join(home, ".docker"), filepath.Join(home, ".docker", "config.json")} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if u, g, _ := userfile.Owner(st); u != uid || g != gid {
			t.Errorf("%s belongs to %d:%d, want %d:%d", p, u, g, uid, gid)
		}
	}
}
