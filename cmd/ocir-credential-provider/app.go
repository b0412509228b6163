package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
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

	// program names the binary and its version; the zero value means
	// this binary at the linked version.
	program cmdline.Program
	// serve answers one plugin request with the resolved settings; nil
	// means servePlugin. Tests set it to see those settings without a
	// lookup.
	serve func(ctx context.Context, e env, settings config.Settings, verify bool) error
}

func (e *env) fill() {
	if e.program.Name == "" {
		// The linked version, or the module version recorded by
		// `go install module@version` when the Makefile did not set one.
		e.program = cmdline.Program{Name: name, Version: version.Resolve(version.Version), Commit: version.Commit}
	}
	if e.serve == nil {
		e.serve = servePlugin
	}
}

// run executes the command line and returns the exit status. Every error
// ends here and is printed once on stderr: a usage error becomes status 2,
// any other error status 1. stdout only ever carries a command's real
// output, never help or a partial answer.
func run(ctx context.Context, args []string, e env) int {
	e.fill()
	err := newApp(e).RunContext(ctx, args)
	if err == nil {
		return cmdline.ExitOK
	}
	var coder cli.ExitCoder // only the help command's "No help topic"
	switch {
	case cmdline.IsUsage(err):
		fmt.Fprintf(e.stderr, "%s: %v (see --help)\n", name, err)
		return cmdline.ExitUsage
	case errors.As(err, &coder):
		fmt.Fprintf(e.stderr, "%s: %v\n", name, err)
		return cmdline.ExitUsage
	}
	fmt.Fprintf(e.stderr, "%s: %v\n", name, err)
	return cmdline.ExitFailure
}

func newApp(e env) *cli.App {
	app := &cli.App{
		Name:    name,
		Usage:   "kubelet image credential provider for Oracle Cloud Infrastructure Registry (OCIR)",
		Version: e.program.Version,
		// The app prints its version itself (cmdline.VersionFlag); the
		// template keeps the VERSION section of --help.
		HideVersion:           true,
		CustomAppHelpTemplate: cmdline.AppHelpTemplate,
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
		OnUsageError: cmdline.OnUsageError,
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
			// Declared here, in urfave/cli's order, so --help lists them
			// as it always has.
			cli.HelpFlag,
			cmdline.VersionFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				return printVersion(c, e)
			}
			return pluginAction(c, e)
		},
		Commands: []*cli.Command{
			configCommand(e),
			validateCommand(e),
			{
				Name:   "version",
				Usage:  "print the version",
				Action: func(c *cli.Context) error { return printVersion(c, e) },
			},
		},
	}
	cmdline.SetUsageHandler(app.Commands)
	return app
}

func printVersion(_ *cli.Context, e env) error {
	_, err := fmt.Fprintln(e.stdout, e.program.VersionLine())
	return err
}

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
	settings, envErr, flagErr := cmdline.Settings(c, e.getenv)
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
	provider, err := e.program.NewProvider(settings, nil, log, e.getenv)
	if err != nil {
		return err
	}
	p := &kubelet.Plugin{
		Source:     provider,
		Timeout:    settings.Timeout,
		VerifyPull: verify,
		Log:        log,
		Stderr:     e.stderr,
	}
	return p.Run(ctx, e.stdin, e.stdout)
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
			&cli.DurationFlag{Name: "default-cache-duration", Value: providerconfig.DefaultCacheDurationValue, Usage: "defaultCacheDuration of the provider"},
			&cli.StringFlag{Name: "name", Value: providerconfig.DefaultProviderName, Usage: "provider `NAME` (the executable's name in the kubelet's bin dir)"},
			&cli.StringFlag{Name: "api-version", Value: "v1", Usage: "CredentialProviderRequest `VERSION`: v1 (kubelet 1.26+), v1beta1 or v1alpha1"},
			&cli.BoolFlag{Name: "verify-pull", Usage: "pass --verify-pull to the plugin"},
			&cli.StringSliceFlag{Name: "env", Usage: "`NAME=VALUE` for the plugin's environment (repeatable), e.g. OCI_CLI_AUTH=instance_principal"},
			&cli.StringFlag{Name: "service-account-audience", Usage: "add a provider in service-account token mode (KEP-4412, kubelet 1.34+) for this token `AUDIENCE`"},
			&cli.StringFlag{Name: "service-account-name", Usage: "`NAME` of that provider (default: <name>-workload)"},
			&cli.StringSliceFlag{Name: "required-annotation", Usage: "service-account annotation `KEY` a pod must carry to use its own identity (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return cmdline.Usagef("config takes no arguments")
			}
			// Realms and regions described by OCI_REGION_METADATA or
			// ~/.oci/regions-config.json are as valid here as in the
			// lookups, which accept their hosts.
			table, err := registry.LoadTable(e.getenv, ocir.Home(e.getenv))
			if err != nil {
				return err
			}
			o := providerconfig.GenerateOptions{
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
				o.Env = append(o.Env, providerconfig.EnvVar{Name: k, Value: v})
			}
			if c.IsSet("default-cache-duration") && o.DefaultCacheDuration <= 0 {
				return errors.New("--default-cache-duration must be positive")
			}
			out, err := providerconfig.GenerateConfig(o)
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
				return cmdline.Usagef("validate-config needs exactly one FILE or DIR")
			}
			path := c.Args().First()
			cfg, err := providerconfig.ValidateConfigPath(path, providerconfig.ValidateOptions{
				BinDir:                 c.String("bin-dir"),
				NoServiceAccountTokens: c.Bool("no-service-account-tokens"),
			})
			if cfg != nil {
				for _, w := range providerconfig.Warnings(cfg) {
					fmt.Fprintf(e.stderr, "%s: warning: %s\n", name, w)
				}
			}
			if err != nil {
				var ve *providerconfig.ValidationError
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
