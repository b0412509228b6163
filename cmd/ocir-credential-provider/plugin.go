package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// pluginAction is the kubelet plugin: settings from OCIR_* and the flags,
// then one request answered by kubelet.Plugin.
func pluginAction(c *cli.Context, e env) error {
	if c.Args().Present() {
		return cmdline.Usagef("unknown command %q", c.Args().First())
	}
	if f, ok := e.stdin.(*os.File); ok {
		// Run by hand at a terminal: say what is expected instead of
		// waiting silently for a request that will not come.
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return errors.New("expects a CredentialProviderRequest on stdin, as the kubelet sends it (see --help)")
		}
	}
	settings, envErr, flagErr := cmdline.Settings(c.String, e.getenv)
	if envErr != nil {
		return envErr
	}
	if flagErr != nil {
		return flagErr
	}
	// The plugin's token cache: --cache-dir, else OCIR_CACHE_DIR, else
	// config.SystemCacheDir. Unlike the other commands (and the docker
	// helper) the plugin does not fall back to the user's cache dir:
	// whatever HOME the kubelet happens to pass, every exec on a node must
	// share one root-owned cache, or N parallel lookups at boot make N
	// token requests.
	if c.String("cache-dir") == "" && !settings.CacheDirExplicit {
		settings.CacheDir = config.SystemCacheDir
	}
	verify := c.Bool("verify-pull")
	if !c.IsSet("verify-pull") {
		if v := strings.TrimSpace(e.getenv("OCIR_VERIFY_PULL")); v != "" {
			var err error
			if verify, err = config.ParseOnOff(v); err != nil {
				return fmt.Errorf("OCIR_VERIFY_PULL: %w", err)
			}
		}
	}
	return e.serve(c.Context, e, settings, verify)
}

// servePlugin answers one request with the resolved settings.
func servePlugin(ctx context.Context, e env, settings config.Settings, verify bool) error {
	log, closer, err := settings.Logger(e.stderr)
	defer closer.Close()
	if err != nil {
		// A log file that cannot be opened must not cost the node its
		// credentials; stderr logging still works.
		log.Warn("logging to stderr only", "err", err)
	}
	if t := kubelet.ClampTimeout(settings.Timeout); t != settings.Timeout {
		log.Info("timeout capped", "requested", settings.Timeout.String(), "cap", t.String())
		settings.Timeout = t
	}
	var extra []ocir.Option
	if e.proxy != nil {
		extra = append(extra, ocir.WithProxy(e.proxy))
	}
	provider, err := e.program.NewProvider(settings, nil, log, e.getenv, extra...)
	if err != nil {
		return err
	}
	p := &kubelet.Plugin{
		Source:     pullcheck.Checker{Provider: provider},
		Timeout:    settings.Timeout,
		VerifyPull: verify,
		Log:        log,
		Stderr:     e.stderr,
	}
	return p.Run(ctx, e.stdin, e.stdout)
}
