//go:build !windows

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// User-named files that are not regular files fail fast instead of hanging
// or eating memory.
func TestBinaryFailsFastOnIrregularUserFiles(t *testing.T) {
	tests := []struct {
		name string
		env  func(h *harness, fifo string)
		ok   bool // the lookup still succeeds (a log file problem must not cost the token)
		want string
	}{
		{"OCIR_LOG_FILE is a FIFO", func(h *harness, fifo string) { h.env["OCIR_LOG_FILE"] = fifo }, true, "logging to stderr only"},
		{"OCIR_CONFIG is a FIFO", func(h *harness, fifo string) { h.env["OCIR_CONFIG"] = fifo }, false, "not a regular file"},
		{"OCIR_CONFIG is /dev/zero", func(h *harness, _ string) { h.env["OCIR_CONFIG"] = "/dev/zero" }, false, "not a regular file"},
		{"OCI_CLI_CONFIG_FILE is a FIFO", func(h *harness, fifo string) { h.env["OCI_CLI_CONFIG_FILE"] = fifo }, false, "not a regular file"},
		{"OCI_CLI_CONFIG_FILE is /dev/zero", func(h *harness, _ string) { h.env["OCI_CLI_CONFIG_FILE"] = "/dev/zero" }, false, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, apiKey)
			fifo := filepath.Join(h.dir, "fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			tt.env(h, fifo)
			start := time.Now()
			out, errOut, err := h.helperStdin(hostShort, "get")
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("took %s", took)
			}
			if (err == nil) != tt.ok || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d stdout %q stderr %q", exitCodeOf(err), out, errOut)
			}
		})
	}
}

// SIGTERM and SIGINT during a lookup end it promptly, and the message says
// it was interrupted, not that the timeout passed.
func TestBinaryInterruptedLookupExitsPromptly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		for _, bin := range []string{"helper", "plugin"} {
			t.Run(bin+" "+sig.String(), func(t *testing.T) {
				h := newHarness(t, apiKey)
				h.emu.AddFault(emulator.Fault{Endpoint: "token", Hang: true})
				h.env["OCIR_TIMEOUT"] = "40s"
				cmd := exec.Command(filepath.Join(binDir, helperName), "get")
				cmd.Stdin = strings.NewReader(hostShort)
				if bin == "plugin" {
					cmd = exec.Command(pluginBin(t), "--cache-dir", filepath.Join(h.dir, "plugin-cache"))
					cmd.Stdin = strings.NewReader(pluginRequest(hostShort + "/ns/app"))
				}
				cmd.Env = h.environ()
				var o, e bytes.Buffer
				cmd.Stdout, cmd.Stderr = &o, &e
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(20 * time.Second)
				for h.emu.Count("token-attempts") == 0 && time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
				}
				sent := time.Now()
				cmd.Process.Signal(sig)
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					<-done
					t.Fatalf("still running 10s after %s", sig)
				}
				if took := time.Since(sent); took > 5*time.Second {
					t.Errorf("exited %s after %s", took, sig)
				}
				if !strings.Contains(e.String(), "interrupted") || strings.Contains(e.String(), "no token within") {
					t.Errorf("stderr does not say it was interrupted:\n%s", e.String())
				}
				if bin == "plugin" && o.Len() != 0 {
					t.Errorf("plugin stdout %q", o.String())
				}
			})
		}
	}
}

// Under sudo with the user's HOME the helper leaves the user's home alone.
func TestBinaryUnderSudoDoesNotCreateTheUsersCacheDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to act as sudo")
	}
	h := newHarness(t, apiKey)
	userHome := filepath.Join(h.dir, "user-home")
	os.Mkdir(userHome, 0o755)
	if err := os.Chown(userHome, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	h.env["HOME"] = userHome
	delete(h.env, "OCIR_CACHE_DIR")
	delete(h.env, "XDG_CACHE_HOME")
	out, errOut, err := h.helperStdin(hostShort, "get")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	if _, err := os.Lstat(filepath.Join(userHome, ".cache")); err == nil {
		t.Error("root created the user's ~/.cache")
	}
}

// A config file others could have written is refused with a clear error
// and its mirrors get nothing.
func TestBinaryRefusesConfigFileOthersCanWrite(t *testing.T) {
	for _, mode := range []os.FileMode{0o666, 0o620, 0o602} {
		t.Run(mode.String(), func(t *testing.T) {
			h := newHarness(t, apiKey)
			cfg := filepath.Join(h.dir, "config.yaml")
			os.WriteFile(cfg, []byte("mirrors:\n  - host: registry-1.docker.io\n    tokenURL: https://iad.ocir.io/20180419/docker/token\n"), 0o600)
			os.Chmod(cfg, mode)
			h.env["OCIR_CONFIG"] = cfg
			out, errOut, err := h.helperStdin("registry-1.docker.io", "get")
			if exitCodeOf(err) != 1 || strings.Contains(out, "Secret") || !strings.Contains(errOut, "writable by group or others") || !strings.Contains(errOut, cfg) {
				t.Errorf("exit %d stdout %q stderr %q", exitCodeOf(err), out, errOut)
			}
			if n := h.emu.Count("token-attempts"); n != 0 {
				t.Errorf("%d signed token requests", n)
			}
		})
	}
}
