package cmdline

import (
	"context"
	"fmt"
	"log/slog"

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

// NewProvider builds the token provider from settings as ocir.NewFromEnv
// does (one source of truth for the environment contract), with the
// config file the command already loaded (nil: load it from settings) and
// the logger it already made, then any extra options. Both binaries' full
// and warm paths build it here, so they all find the same cache entries.
func (p Program) NewProvider(s config.Settings, cfg *config.File, log *slog.Logger, getenv func(string) string, extra ...ocir.Option) (*ocir.Provider, error) {
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
	return ocir.NewFromSettings(s, append(opts, extra...)...)
}

// Settings resolves the settings of one run: the OCIR_* environment
// (config.FromEnv), then every global flag the command line set, which
// wins over its variable. flag returns a flag's value by name, "" when it
// was not given; a command line that does not declare one (the kubelet
// plugin has no --cache or --config) simply never sets it. envErr is the
// environment's error; flagErr the first bad flag's, as "--<name>: …".
// Every good value is applied either way, so that a caller that goes on
// (to log, or to answer "nothing") works with the rest.
func Settings(flag func(name string) string, getenv func(string) string) (s config.Settings, envErr, flagErr error) {
	s, envErr = config.FromEnv(getenv)
	fail := func(name string, err error) {
		if flagErr == nil {
			flagErr = fmt.Errorf("--%s: %w", name, err)
		}
	}
	if v := flag("timeout"); v != "" {
		if d, err := config.ParseTimeout(v); err != nil {
			fail("timeout", err)
		} else {
			s.Timeout = d
		}
	}
	if v := flag("cache"); v != "" {
		if on, err := config.ParseOnOff(v); err != nil {
			fail("cache", err)
		} else {
			s.Cache = on
		}
	}
	if v := flag("cache-dir"); v != "" {
		s.CacheDir = v
	}
	if v := flag("config"); v != "" {
		s.ConfigPath, s.ConfigExplicit = v, true
	}
	if v := flag("log-level"); v != "" {
		if l, err := config.ParseLogLevel(v); err != nil {
			fail("log-level", err)
		} else {
			s.LogLevel = l
		}
	}
	if v := flag("log-file"); v != "" {
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
