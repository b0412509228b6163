package cmdline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// Program names one binary and the version it reports: in the version
// line, in the User-Agent of its token requests and in its logs.
type Program struct {
	Name    string // e.g. "docker-credential-ocir"
	Version string // as printed: version.Resolve's
	Commit  string // logged at debug level
}

// VersionLine is what `version`, -v and --version print (without the
// newline): "<name> (<module>) <version>".
func (p Program) VersionLine() string {
	return fmt.Sprintf("%s (%s) %s", p.Name, version.Module, p.Version)
}

// VersionFlag is -v/--version, spelled as urfave/cli's own. An App that
// declares it sets HideVersion and prints VersionLine itself: urfave/cli v2
// prints its own --version only through the package variable
// cli.VersionPrinter, which one binary's run must not overwrite for
// another (or for a test running in parallel).
func VersionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version", DisableDefaultText: true}
}

// AppHelpTemplate is cli.AppHelpTemplate with its VERSION section shown
// although the App sets HideVersion (see VersionFlag): HideVersion is
// there to take the printing of the version away from urfave/cli, not to
// take the version out of --help.
var AppHelpTemplate = strings.Replace(cli.AppHelpTemplate, "{{if .Version}}{{if not .HideVersion}}", "{{if .Version}}{{if true}}", 1)

// NewProvider builds the token provider from settings as ocir.NewFromEnv
// does (one source of truth for the environment contract), with the
// config file the command already loaded (nil: load it from settings) and
// the logger it already made. Both binaries' full and warm paths build it
// here, so they all find the same cache entries.
func (p Program) NewProvider(s config.Settings, cfg *config.File, log *slog.Logger, getenv func(string) string) (*ocir.Provider, error) {
	opts := []ocir.Option{
		ocir.WithLogger(log),
		ocir.WithGetenv(getenv),
		ocir.WithUserAgent(p.Name + "/" + p.Version),
	}
	if cfg != nil {
		// Only when given: WithConfig(nil) means "no config file",
		// while nil here means "the file the settings name".
		opts = append(opts, ocir.WithConfig(cfg))
	}
	return ocir.NewFromSettings(s, opts...)
}

// Settings resolves the settings of one run: the OCIR_* environment
// (config.FromEnv), then every global flag the command line set, which
// wins over its variable. The flags are looked up by name, so an App that
// does not declare one (the kubelet plugin has no --cache or --config)
// simply never sets it. envErr is the environment's error; flagErr the
// first bad flag's, as "--<name>: …". Every good value is applied either
// way, so that a caller that goes on (to log, or to answer "nothing")
// works with the rest.
func Settings(c *cli.Context, getenv func(string) string) (s config.Settings, envErr, flagErr error) {
	s, envErr = config.FromEnv(getenv)
	fail := func(name string, err error) {
		if flagErr == nil {
			flagErr = fmt.Errorf("--%s: %w", name, err)
		}
	}
	if v := c.String("timeout"); v != "" {
		if d, err := config.ParseTimeout(v); err != nil {
			fail("timeout", err)
		} else {
			s.Timeout = d
		}
	}
	if v := c.String("cache"); v != "" {
		if on, err := config.ParseOnOff(v); err != nil {
			fail("cache", err)
		} else {
			s.Cache = on
		}
	}
	if v := c.String("cache-dir"); v != "" {
		s.CacheDir = v
	}
	if v := c.String("config"); v != "" {
		s.ConfigPath, s.ConfigExplicit = v, true
	}
	if v := c.String("log-level"); v != "" {
		if l, err := config.ParseLogLevel(v); err != nil {
			fail("log-level", err)
		} else {
			s.LogLevel = l
		}
	}
	if v := c.String("log-file"); v != "" {
		s.LogFile = v
	}
	return s, envErr, flagErr
}

// CacheOnly makes every Credential call of the provider answer from the
// token cache or fail with ocir.ErrCacheMiss: the warm paths, which answer
// a cache hit before the command line is built, ask through it.
type CacheOnly struct{ pullcheck.Checker }

// Credential is the provider's, from the cache only.
func (c CacheOnly) Credential(ctx context.Context, serverURL string, opts ...ocir.RequestOption) (ocir.Credential, error) {
	return c.Provider.Credential(ctx, serverURL, append(opts, ocir.WithCacheOnly())...)
}
