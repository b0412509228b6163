package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

const name = "ocir-credential-provider"

// env carries the process environment into the app, so tests can run it
// without touching the real one.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // the lookup or the command failed
	exitUsage   = 2 // bad command line: unknown flag or command, missing argument
)

// run executes the command line and returns the exit status. Every error
// ends here and is printed once on stderr: a usage error becomes status 2,
// any other error status 1. stdout only ever carries a command's real
// output, never help or a partial answer.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	err := newApp(e).RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	var usage usageError
	var coder cli.ExitCoder // only the help command's "No help topic"
	if errors.As(err, &usage) || errors.As(err, &coder) {
		return exitUsage
	}
	return exitFailure
}

// usageError marks a bad command line: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() + " (see --help)" }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// onUsageError replaces urfave/cli's default, which prints the help on
// stdout (in plugin mode the kubelet's response channel) and returns a
// plain error: every command, subcommands included, gets it.
func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usageError{err}
}

func setUsageHandler(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
		setUsageHandler(c.Subcommands)
	}
}

func newApp(e env) *cli.App {
	// The linked version, or the module version recorded by
	// `go install module@version` when the Makefile did not set one.
	ver := version.Resolve(version.Version)
	cli.VersionPrinter = func(c *cli.Context) {
		fmt.Fprintf(c.App.Writer, "%s (%s) %s\n", name, version.Module, ver)
	}
	app := &cli.App{
		Name:    name,
		Usage:   "kubelet image credential provider for Oracle Cloud Infrastructure Registry (OCIR)",
		Version: ver,
		Description: "Without a command this is the kubelet exec plugin: it reads one CredentialProviderRequest\n" +
			"on stdin and answers with OCIR credentials for the image's registry on stdout. On failure it\n" +
			"prints the reason on stderr (shown in the kubelet's log) and exits 1 with nothing on stdout.\n\n" +
			"The kubelet runs the plugin with an almost empty environment: set variables such as\n" +
			"OCI_CLI_AUTH, HTTPS_PROXY or OCIR_CACHE_DIR in the provider config's env list.",
		Reader:                    e.stdin,
		Writer:                    e.stdout,
		ErrWriter:                 e.stderr,
		DisableSliceFlagSeparator: true,
		// Usage errors are returned to run, which prints them on stderr;
		// the default prints help on stdout, which in plugin mode is the
		// kubelet's response channel.
		OnUsageError: onUsageError,
		// run decides the exit status; never let the library exit.
		ExitErrHandler: func(*cli.Context, error) {},
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verify-pull", Usage: "probe the repository with the token; if the registry refuses it (IAM policy missing or not effective yet), " +
				"answer with a cache duration of at most 2m so the node retries soon [$OCIR_VERIFY_PULL]"},
			&cli.StringFlag{Name: "cache-dir", Usage: "token cache `DIR`, shared by concurrent plugin runs (default: " +
				config.SystemCacheDir + ", whatever HOME is) [$OCIR_CACHE_DIR]"},
			&cli.StringFlag{Name: "timeout", Usage: fmt.Sprintf("deadline of one lookup, a `DURATION` (20s) or seconds (20); capped at %s because the kubelet kills the plugin at 1m (default: %s) [$OCIR_TIMEOUT]",
				kubelet.MaxTimeout, config.DefaultTimeout)},
			&cli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error; logs go to stderr (default: warn) [$OCIR_LOG_LEVEL]"},
		},
		Action: func(c *cli.Context) error { return pluginAction(c, e, ver) },
		Commands: []*cli.Command{
			configCommand(e),
			validateCommand(e),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					cli.VersionPrinter(c)
					return nil
				},
			},
		},
	}
	setUsageHandler(app.Commands)
	return app
}

// pluginAction is the kubelet plugin: settings from OCIR_* and the flags,
// then one request answered by kubelet.Plugin.
func pluginAction(c *cli.Context, e env, ver string) error {
	if c.Args().Present() {
		return usagef("unknown command %q", c.Args().First())
	}
	if f, ok := e.stdin.(*os.File); ok {
		// Run by hand at a terminal: say what is expected instead of
		// waiting silently for a request that will not come.
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return errors.New("expects a CredentialProviderRequest on stdin, as the kubelet sends it (see --help)")
		}
	}
	settings, err := config.FromEnv(e.getenv)
	if err != nil {
		return err
	}
	// The plugin's token cache: --cache-dir, else OCIR_CACHE_DIR, else
	// config.SystemCacheDir. Unlike the other commands (and the docker
	// helper) the plugin does not fall back to the user's cache dir:
	// whatever HOME the kubelet happens to pass, every exec on a node must
	// share one root-owned cache, or N parallel lookups at boot make N
	// token requests.
	if flag := c.String("cache-dir"); flag != "" {
		settings.CacheDir = flag
	} else if !settings.CacheDirExplicit {
		settings.CacheDir = config.SystemCacheDir
	}
	if v := c.String("timeout"); v != "" {
		if settings.Timeout, err = config.ParseTimeout(v); err != nil {
			return fmt.Errorf("--timeout: %w", err)
		}
	}
	if v := c.String("log-level"); v != "" {
		if settings.LogLevel, err = config.ParseLogLevel(v); err != nil {
			return fmt.Errorf("--log-level: %w", err)
		}
	}
	verify := c.Bool("verify-pull")
	if !c.IsSet("verify-pull") {
		if v := strings.TrimSpace(e.getenv("OCIR_VERIFY_PULL")); v != "" {
			if verify, err = config.ParseOnOff(v); err != nil {
				return fmt.Errorf("OCIR_VERIFY_PULL: %w", err)
			}
		}
	}
	return servePlugin(c.Context, e, settings, verify, ver)
}

// servePlugin answers one request with the resolved settings; tests
// replace it to see those settings without a lookup.
var servePlugin = func(ctx context.Context, e env, settings config.Settings, verify bool, ver string) error {
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
	provider, err := newProvider(settings, nil, log, e.getenv, ver)
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

// newProvider is the plugin's token provider, the same for the warm path
// (serveCached) and the full one, so both find the same cache entries.
func newProvider(settings config.Settings, cfg *config.File, log *slog.Logger, getenv func(string) string, ver string) (*ocir.Provider, error) {
	opts := []ocir.Option{
		ocir.WithLogger(log),
		ocir.WithGetenv(getenv),
		ocir.WithUserAgent("ocir-credential-provider/" + ver),
	}
	if cfg != nil {
		opts = append(opts, ocir.WithConfig(cfg))
	}
	// As ocir.NewFromEnv builds it: one source of truth for the settings.
	return ocir.NewFromSettings(settings, opts...)
}

func configCommand(e env) *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "print a kubelet CredentialProviderConfig (YAML) for this plugin",
		Description: "The matchImages cover *.ocir.io and ocir.*.oci.<realm-domain> for the chosen realms (default oc1),\n" +
			"or exactly the registry hosts of the chosen regions. The output passes validate-config.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "realm", Usage: "comma-separated `REALMS` (oc1,oc2,… or all)"},
			&cli.StringFlag{Name: "regions", Usage: "comma-separated `REGIONS` (iad,us-phoenix-1,…) to narrow matchImages to their hosts"},
			&cli.DurationFlag{Name: "default-cache-duration", Value: kubelet.DefaultCacheDurationValue, Usage: "defaultCacheDuration of the provider"},
			&cli.StringFlag{Name: "name", Value: kubelet.DefaultProviderName, Usage: "provider `NAME` (the executable's name in the kubelet's bin dir)"},
			&cli.StringFlag{Name: "api-version", Value: "v1", Usage: "CredentialProviderRequest `VERSION`: v1 (kubelet 1.26+), v1beta1 or v1alpha1"},
			&cli.BoolFlag{Name: "verify-pull", Usage: "pass --verify-pull to the plugin"},
			&cli.StringSliceFlag{Name: "env", Usage: "`NAME=VALUE` for the plugin's environment (repeatable), e.g. OCI_CLI_AUTH=instance_principal"},
			&cli.StringFlag{Name: "service-account-audience", Usage: "add a provider in service-account token mode (KEP-4412, kubelet 1.34+) for this token `AUDIENCE`"},
			&cli.StringFlag{Name: "service-account-name", Usage: "`NAME` of that provider (default: <name>-workload)"},
			&cli.StringSliceFlag{Name: "required-annotation", Usage: "service-account annotation `KEY` a pod must carry to use its own identity (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("config takes no arguments")
			}
			// Realms and regions described by OCI_REGION_METADATA or
			// ~/.oci/regions-config.json are as valid here as in the
			// lookups, which accept their hosts.
			table, err := registry.LoadTable(e.getenv, ocicli.Home(e.getenv))
			if err != nil {
				return err
			}
			o := kubelet.GenerateOptions{
				Table:                  table,
				Name:                   c.String("name"),
				Realms:                 splitList(c.String("realm")),
				Regions:                splitList(c.String("regions")),
				DefaultCacheDuration:   c.Duration("default-cache-duration"),
				APIVersion:             c.String("api-version"),
				ServiceAccountAudience: c.String("service-account-audience"),
				ServiceAccountName:     c.String("service-account-name"),
				RequiredAnnotationKeys: c.StringSlice("required-annotation"),
			}
			if c.Bool("verify-pull") {
				o.Args = []string{"--verify-pull"}
			}
			for _, kv := range c.StringSlice("env") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--env %q: want NAME=VALUE", kv)
				}
				o.Env = append(o.Env, kubelet.EnvVar{Name: k, Value: v})
			}
			if c.IsSet("default-cache-duration") && o.DefaultCacheDuration <= 0 {
				return errors.New("--default-cache-duration must be positive")
			}
			out, err := kubelet.GenerateConfig(o)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(out)
			return err
		},
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func validateCommand(e env) *cli.Command {
	return &cli.Command{
		Name:      "validate-config",
		Usage:     "check a CredentialProviderConfig file or directory with the kubelet's own rules",
		ArgsUsage: "FILE|DIR",
		Description: "An invalid config, or a provider whose executable is missing, makes the kubelet exit at start.\n" +
			"A directory is read as kubelet 1.34+ reads it: its *.json, *.yaml and *.yml files, merged in\n" +
			"lexical order, provider names unique across files.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bin-dir", Usage: "also check that `DIR` (--image-credential-provider-bin-dir) holds an executable per provider"},
			&cli.BoolFlag{Name: "no-service-account-tokens", Usage: "validate for a kubelet without the KubeletServiceAccountTokenForCredentialProviders feature (before 1.34)"},
			&cli.BoolFlag{Name: "names", Usage: "print only the provider names, one per line (for install scripts)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("validate-config needs exactly one FILE or DIR")
			}
			path := c.Args().First()
			cfg, err := kubelet.ValidateConfigPath(path, kubelet.ValidateOptions{
				BinDir:                 c.String("bin-dir"),
				NoServiceAccountTokens: c.Bool("no-service-account-tokens"),
			})
			if cfg != nil {
				for _, w := range kubelet.Warnings(cfg) {
					fmt.Fprintf(e.stderr, "%s: warning: %s\n", name, w)
				}
			}
			if err != nil {
				var ve *kubelet.ValidationError
				if errors.As(err, &ve) {
					for _, fe := range ve.Errs {
						fmt.Fprintf(e.stderr, "%s: %s\n", path, fe.Error())
					}
					problems := "1 problem"
					if len(ve.Errs) != 1 {
						problems = fmt.Sprintf("%d problems", len(ve.Errs))
					}
					return fmt.Errorf("%s is not a valid credential provider config (%s, listed above); the kubelet would not start", path, problems)
				}
				return fmt.Errorf("%w; the kubelet would not start", err)
			}
			names := make([]string, 0, len(cfg.Providers))
			for _, p := range cfg.Providers {
				names = append(names, p.Name)
			}
			if c.Bool("names") {
				_, err := fmt.Fprintln(e.stdout, strings.Join(names, "\n"))
				return err
			}
			fmt.Fprintf(e.stdout, "%s: valid, %d provider(s): %s\n", path, len(names), strings.Join(names, ", "))
			return nil
		},
	}
}
