package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

const name = "ocir-credential-provider"

// env carries the process environment into the app, so tests can run it
// without touching the real one.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// proxy is the proxy for OCI and registries; nil means the process
	// environment's HTTPS_PROXY and NO_PROXY, as net/http reads them once
	// per process. In-process tests set their emulator's.
	proxy func(*url.URL) (*url.URL, error)

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
		// The app prints its version itself (versionFlag); the
		// template keeps the VERSION section of --help.
		HideVersion:           true,
		CustomAppHelpTemplate: appHelpTemplate,
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
			// Declared here, in urfave/cli's order, so --help lists them
			// as it always has.
			cli.HelpFlag,
			versionFlag(),
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
	setUsageHandler(app.Commands)
	return app
}

func printVersion(_ *cli.Context, e env) error {
	_, err := fmt.Fprintln(e.stdout, e.program.VersionLine())
	return err
}
