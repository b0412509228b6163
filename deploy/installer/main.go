//go:build linux

// Command ocir-node-installer is the entry point of the installer image's
// DaemonSet. The image is built from static binaries only (no shell), so
// this program stages the payload (the plugin, its config and install.sh)
// into the host through the host-root mount, then runs install.sh with the
// host's own shell in the host's mount namespace, where systemctl works.
//
//	ocir-node-installer install|uninstall   stage and run install.sh
//	ocir-node-installer pause               wait for SIGTERM (the DaemonSet's main container)
//
// START_JITTER (a duration, e.g. 5m, or seconds) makes install and uninstall
// first wait a random time up to that long. A DaemonSet starts its pods on
// every node at once when it is created (maxUnavailable only paces updates),
// so without it every kubelet of the cluster would restart in the same few
// seconds.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// stagingDir is where the payload is copied, as a host path. install.sh
	// uninstall removes it.
	stagingDir = "/var/lib/ocir-credential-provider/installer"
	// configOverride is where the DaemonSet mounts its optional ConfigMap.
	configOverride = "/config/credential-provider-config.yaml"
	configName     = "credential-provider-config.yaml"
)

// passEnv are the install.sh settings the DaemonSet may set.
var passEnv = []string{"BIN_DIR", "CONFIG_FILE", "FLAGS_FILE", "FLAGS_VAR", "KUBELET_UNIT", "KUBELET_BIN", "KUBELET_VERSION",
	"VERIFY_TIMEOUT", "VERIFY_STABLE", "HEALTHZ_URL", "RETRY_FAILED"}

// maxJitter bounds START_JITTER: the pod sits in Init that long.
const maxJitter = time.Hour

// usage is printed for -h, --help and help, and names what a wrong command
// line should have been.
const usage = `usage: ocir-node-installer install|uninstall|pause

  install    stage the plugin, its config and install.sh into the host (HOST_ROOT,
             default /host) and run install.sh there: the kubelet gets the plugin
  uninstall  stage and run install.sh uninstall
  pause      wait for SIGTERM (the DaemonSet's main container)

Environment: START_JITTER (wait a random time up to this long first, e.g. 5m),
HOST_ROOT, PAYLOAD_DIR, and install.sh's settings: ` + "BIN_DIR, CONFIG_FILE, FLAGS_FILE, FLAGS_VAR,\nKUBELET_UNIT, KUBELET_BIN, KUBELET_VERSION, VERIFY_TIMEOUT, VERIFY_STABLE, HEALTHZ_URL, RETRY_FAILED.\n"

func main() {
	if isHelp(os.Args[1:]) {
		fmt.Print(usage)
		return
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "ocir-node-installer: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: ocir-node-installer install|uninstall|pause (--help explains them)")
	}
	switch args[0] {
	case "pause":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
		<-ch
		return nil
	case "install", "uninstall":
	default:
		return fmt.Errorf("unknown mode %q; usage: ocir-node-installer install|uninstall|pause (--help explains them)", args[0])
	}
	jitter, err := parseJitter(os.Getenv("START_JITTER"))
	if err != nil {
		return err
	}
	if jitter > 0 {
		d := time.Duration(rand.Int64N(int64(jitter)))
		fmt.Fprintf(os.Stderr, "ocir-node-installer: waiting %s (random, START_JITTER=%s) so that nodes do not restart their kubelets all at once\n",
			d.Round(time.Second), jitter)
		time.Sleep(d)
	}
	hostRoot := getenv("HOST_ROOT", "/host")
	payload := getenv("PAYLOAD_DIR", "/payload")
	if err := stage(payload, configOverride, hostRoot); err != nil {
		return err
	}
	argv, env := hostCommand(hostRoot, args[0], os.Getenv)
	if err := syscall.Chroot(hostRoot); err != nil {
		return fmt.Errorf("chroot %s (the init container must be privileged): %w", hostRoot, err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ocir-node-installer: running %v on the host\n", argv)
	if err := syscall.Exec(argv[0], argv, env); err != nil {
		return fmt.Errorf("run %s on the host (HOST_ROOT %s): %w", argv[0], hostRoot, err)
	}
	return nil
}

// isHelp reports whether the command line asks for the usage text.
func isHelp(args []string) bool {
	return len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
}

// parseJitter reads START_JITTER: empty or 0 for none, a Go duration, or
// whole seconds.
func parseJitter(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, fmt.Errorf("START_JITTER %q: want a duration such as 5m, or seconds", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > maxJitter {
		return 0, fmt.Errorf("START_JITTER %q: want between 0 and %s", v, maxJitter)
	}
	return d, nil
}

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// stage copies the payload files into stagingDir under the host root,
// preferring the ConfigMap's config when one is mounted. Every path is
// resolved inside the host root (os.Root), so no symlink on the way can
// send a write or a chmod into the container's own files; each file is
// written under a new name (O_EXCL, after removing whatever stood there)
// and renamed over, never through a symlink at its name; the directory is
// made private even when it already existed.
func stage(payload, override, hostRoot string) error {
	root, err := os.OpenRoot(hostRoot)
	if err != nil {
		return fmt.Errorf("stage into the host: %w", err)
	}
	defer root.Close()
	dir := strings.TrimPrefix(stagingDir, "/")
	if err := root.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("stage into the host: %w", err)
	}
	if err := root.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("stage into the host: %w", err)
	}
	files := []struct {
		src, name string
		mode      os.FileMode
	}{
		{filepath.Join(payload, "ocir-credential-provider"), "ocir-credential-provider", 0o755},
		{filepath.Join(payload, "install.sh"), "install.sh", 0o755},
		{filepath.Join(payload, configName), configName, 0o644},
	}
	if _, err := os.Stat(override); err == nil {
		files[2].src = override
	}
	for _, f := range files {
		if err := copyFile(root, f.src, path.Join(dir, f.name), f.mode); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(root *os.Root, src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("stage %s: %w", src, err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	if err := root.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stage /%s: %w", dst, err)
	}
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("stage /%s: %w", dst, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("stage /%s: %w", dst, err)
	}
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return fmt.Errorf("stage /%s: %w", dst, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("stage /%s: %w", dst, err)
	}
	return root.Rename(tmp, dst)
}

// hostCommand is what runs after the chroot into the host root: install.sh
// under the host's shell, through the host's nsenter into PID 1's mount
// and network namespaces when there is one (systemctl ignores most requests
// in a chroot; the kubelet's healthz, which install.sh asks after a restart,
// listens on the host's loopback; the DaemonSet uses hostPID so PID 1 is the
// host's init).
func hostCommand(hostRoot, mode string, getenv func(string) string) (argv, env []string) {
	script := filepath.Join(stagingDir, "install.sh")
	argv = []string{"/bin/sh", script, mode}
	for _, nsenter := range []string{"/usr/bin/nsenter", "/bin/nsenter", "/usr/sbin/nsenter"} {
		if _, err := os.Stat(filepath.Join(hostRoot, nsenter)); err == nil {
			argv = append([]string{nsenter, "--target", "1", "--mount", "--net", "--"}, argv...)
			break
		}
	}
	env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PAYLOAD_DIR=" + stagingDir,
	}
	for _, k := range passEnv {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return argv, env
}
