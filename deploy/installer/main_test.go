//go:build linux

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestStagePrefersTheMountedConfig(t *testing.T) {
	host := t.TempDir()
	payload, dst := t.TempDir(), filepath.Join(host, stagingDir)
	for name, body := range map[string]string{"ocir-credential-provider": "bin", "install.sh": "#!/bin/sh\n", configName: "image config"} {
		if err := os.WriteFile(filepath.Join(payload, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	override := filepath.Join(t.TempDir(), configName)
	for _, tc := range []struct {
		override string
		want     string
	}{
		{filepath.Join(t.TempDir(), "absent.yaml"), "image config"},
		{override, "configmap config"},
	} {
		if err := os.WriteFile(override, []byte("configmap config"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := stage(payload, tc.override, host); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dst, configName))
		if err != nil || string(got) != tc.want {
			t.Errorf("config %q, %v; want %q", got, err, tc.want)
		}
		fi, err := os.Stat(filepath.Join(dst, "install.sh"))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("install.sh mode %v, %v", fi.Mode(), err)
		}
	}
	if err := stage(filepath.Join(payload, "missing"), override, host); err == nil {
		t.Error("staged a missing payload")
	}
}

// Staging writes only inside the host root and never through a symlink:
// not at a staged file's name, not on the way to the staging directory.
func TestStageNeverWritesThroughSymlinks(t *testing.T) {
	payload := t.TempDir()
	for name, body := range map[string]string{"ocir-credential-provider": "bin", "install.sh": "#!/bin/sh\n", configName: "config"} {
		if err := os.WriteFile(filepath.Join(payload, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	checkVictim := func(t *testing.T) {
		t.Helper()
		fi, err := os.Stat(outside)
		if b, _ := os.ReadFile(outside); err != nil || string(b) != "victim" || fi.Mode().Perm() != 0o600 {
			t.Errorf("the file outside the host root was written or chmodded: %q, %v, %v", b, fi.Mode(), err)
		}
	}

	t.Run("a symlink at a staged file's temporary name", func(t *testing.T) {
		host := t.TempDir()
		dir := filepath.Join(host, stagingDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		inside := filepath.Join(host, "etc-shadow")
		if err := os.WriteFile(inside, []byte("host file"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "install.sh.tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(inside, filepath.Join(dir, configName+".tmp")); err != nil {
			t.Fatal(err)
		}
		if err := stage(payload, "/nonexistent", host); err != nil {
			t.Fatal(err)
		}
		checkVictim(t)
		if b, _ := os.ReadFile(inside); string(b) != "host file" {
			t.Errorf("a host file behind a symlink was overwritten: %q", b)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "install.sh")); string(b) != "#!/bin/sh\n" {
			t.Errorf("install.sh = %q", b)
		}
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("an existing staging directory stays %v, %v; want 0700", fi.Mode(), err)
		}
	})
	t.Run("a symlink out of the host root on the way", func(t *testing.T) {
		host, elsewhere := t.TempDir(), t.TempDir()
		if err := os.MkdirAll(filepath.Join(host, "var/lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(elsewhere, filepath.Join(host, "var/lib/ocir-credential-provider")); err != nil {
			t.Fatal(err)
		}
		if err := stage(payload, "/nonexistent", host); err == nil {
			t.Error("staged through a symlink that leaves the host root")
		}
		if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
			t.Errorf("wrote outside the host root: %v", entries)
		}
		checkVictim(t)
	})
}

func TestHostCommandUsesNsenterWhenTheHostHasIt(t *testing.T) {
	host := t.TempDir()
	env := func(k string) string {
		return map[string]string{"FLAGS_FILE": "/etc/default/kubelet", "HOST_ROOT": "/host"}[k]
	}
	argv, e := hostCommand(host, "install", env)
	if !slices.Equal(argv, []string{"/bin/sh", stagingDir + "/install.sh", "install"}) {
		t.Errorf("without nsenter: %q", argv)
	}
	if !slices.Contains(e, "FLAGS_FILE=/etc/default/kubelet") || !slices.Contains(e, "PAYLOAD_DIR="+stagingDir) || slices.Contains(e, "HOST_ROOT=/host") {
		t.Errorf("env %q", e)
	}
	if err := os.MkdirAll(filepath.Join(host, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "usr/bin/nsenter"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	argv, _ = hostCommand(host, "uninstall", env)
	if !slices.Equal(argv, []string{"/usr/bin/nsenter", "--target", "1", "--mount", "--net", "--", "/bin/sh", stagingDir + "/install.sh", "uninstall"}) {
		t.Errorf("with nsenter: %q", argv)
	}
}

func TestRunRejectsUnknownModes(t *testing.T) {
	for _, args := range [][]string{nil, {"upgrade"}, {"install", "extra"}} {
		if err := run(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestParseJitter(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "0": 0, " 5m ": 5 * time.Minute, "90": 90 * time.Second, "1h": time.Hour, "30s": 30 * time.Second} {
		if got, err := parseJitter(in); err != nil || got != want {
			t.Errorf("parseJitter(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"soon", "-1m", "2h", "1.5"} {
		if _, err := parseJitter(in); err == nil {
			t.Errorf("parseJitter(%q) accepted", in)
		}
	}
}

func TestRunRejectsABadJitterBeforeTouchingTheHost(t *testing.T) {
	t.Setenv("START_JITTER", "soon")
	t.Setenv("HOST_ROOT", t.TempDir())
	if err := run([]string{"install"}); err == nil {
		t.Error("accepted START_JITTER=soon")
	}
}

func TestPassEnvCoversTheInstallScriptSettings(t *testing.T) {
	for _, k := range []string{"VERIFY_STABLE", "HEALTHZ_URL", "KUBELET_VERSION", "RETRY_FAILED"} {
		if !slices.Contains(passEnv, k) {
			t.Errorf("%s is not passed to install.sh", k)
		}
	}
}

func TestUsageNamesEveryModeAndInstallSetting(t *testing.T) {
	for _, want := range append([]string{"install ", "uninstall ", "pause ", "START_JITTER", "HOST_ROOT", "PAYLOAD_DIR"}, passEnv...) {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
	for args, want := range map[string]bool{"--help": true, "-h": true, "help": true, "install": false, "--help install": false} {
		if got := isHelp(strings.Fields(args)); got != want {
			t.Errorf("isHelp(%q) = %v, want %v", args, got, want)
		}
	}
}
