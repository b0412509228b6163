package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// serveCached answers a plugin request from the token cache before the CLI
// and the signal handler are set up: the kubelet execs the plugin for
// every image it does not have cached itself, so a hit is the common call.
//
// It only answers when the plugin runs without arguments (as the kubelet
// runs it; flags go the full way), stdin is not a terminal, the settings
// and config file are valid, no log file and no --verify-pull are
// configured, and a fresh token is cached. The answer comes from the same
// kubelet.Plugin as the full path. Otherwise it writes nothing and returns
// the stdin to hand to run (what it read, followed by the rest).
func serveCached(args []string, stdin *os.File, stdout, stderr io.Writer, getenv func(string) string, ver string) (done bool, rest io.Reader) {
	if len(args) != 1 {
		return false, stdin
	}
	if fi, err := stdin.Stat(); err != nil || fi.Mode()&os.ModeCharDevice != 0 {
		return false, stdin
	}
	in, err := io.ReadAll(io.LimitReader(stdin, kubelet.MaxRequestSize+1))
	rest = io.MultiReader(bytes.NewReader(in), stdin)
	if err != nil {
		return false, rest
	}
	settings, err := config.FromEnv(getenv)
	if err != nil || settings.LogFile != "" {
		return false, rest
	}
	if v := strings.TrimSpace(getenv("OCIR_VERIFY_PULL")); v != "" {
		if verify, err := config.ParseOnOff(v); err != nil || verify {
			return false, rest
		}
	}
	if !settings.CacheDirExplicit {
		settings.CacheDir = config.SystemCacheDir
	}
	cfg, err := config.Load(settings.ConfigPath, settings.ConfigExplicit)
	if err != nil {
		return false, rest
	}
	// Diagnostics are held back until the answer is certain, so that a
	// miss, which run then handles from the start, logs nothing twice.
	var logs, out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: settings.LogLevel}))
	if t := kubelet.ClampTimeout(settings.Timeout); t != settings.Timeout {
		log.Info("timeout capped", "requested", settings.Timeout.String(), "cap", t.String())
		settings.Timeout = t
	}
	provider, err := cmdline.Program{Name: name, Version: ver}.NewProvider(settings, cfg, log, getenv)
	if err != nil {
		return false, rest
	}
	p := &kubelet.Plugin{
		Source:  cmdline.CacheOnly{Checker: pullcheck.Checker{Provider: provider}},
		Timeout: settings.Timeout,
		Log:     log,
	}
	if p.Run(context.Background(), bytes.NewReader(in), &out) != nil {
		return false, rest
	}
	_, _ = stderr.Write(logs.Bytes())
	_, _ = stdout.Write(out.Bytes())
	return true, nil
}
