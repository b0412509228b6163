package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
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
