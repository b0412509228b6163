package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// core is everything the commands need from the token provider: the
// protocol's helper.Source and what doctor, token and cache add.
// pullcheck.Checker (an *ocir.Provider with the pull probe) satisfies it;
// tests use a strict fake.
type core interface {
	helper.Source
	// Explain resolves the identity for serverURL without fetching a token.
	Explain(ctx context.Context, serverURL string) (ocir.Explanation, error)
	// Clear removes every cached token.
	Clear() error
	// CheckPull asks the registry whether cred may pull repository
	// ("ns/repo"), as a pulling client authenticates.
	CheckPull(ctx context.Context, cred ocir.Credential, repository string) pullcheck.Result
}

var _ core = pullcheck.Checker{}

// providerSettings is what the core is built from.
type providerSettings struct {
	Settings config.Settings
	Config   *config.File
	Logger   *slog.Logger
	Getenv   func(string) string
}

// Env is everything the program touches outside itself, so that tests run
// the real command line in-process against fakes.
type Env struct {
	Args    []string // os.Args
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string
	Context context.Context

	Version string // as printed; main passes cmd/internal/version.Resolve's
	Commit  string

	// NewProvider builds the token provider; nil means
	// cmdline.Program.NewProvider's *ocir.Provider in a pullcheck.Checker.
	NewProvider func(providerSettings) (core, error)
	// LookPath finds a program on PATH; nil means exec.LookPath.
	LookPath func(string) (string, error)
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// osEnv returns the Env of the running process.
func osEnv(ctx context.Context, version, commit string) Env {
	return Env{
		Args: os.Args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, Context: ctx, Version: version, Commit: commit,
	}
}

// program is this binary as the shared command-line code names it.
func (e *Env) program() cmdline.Program {
	return cmdline.Program{Name: helper.ProgramName, Version: e.Version, Commit: e.Commit}
}

func (e *Env) fill() {
	if e.Stdin == nil {
		e.Stdin = strings.NewReader("")
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	if e.Getenv == nil {
		e.Getenv = func(string) string { return "" }
	}
	if e.Context == nil {
		e.Context = context.Background()
	}
	if e.NewProvider == nil {
		prog := e.program()
		e.NewProvider = func(ps providerSettings) (core, error) {
			p, err := prog.NewProvider(ps.Settings, ps.Config, ps.Logger, ps.Getenv)
			if err != nil {
				return nil, err
			}
			return pullcheck.Checker{Provider: p}, nil
		}
	}
	if e.LookPath == nil {
		e.LookPath = exec.LookPath
	}
	if e.Now == nil {
		e.Now = time.Now
	}
}

// run runs the program and returns its exit code.
func run(env Env) int {
	env.fill()
	a := &app{env: env}
	var args []string
	if len(env.Args) > 1 {
		args = env.Args[1:]
	}
	root := a.commands()
	err := a.dispatch(env.Context, root, root.name, args, a.before)
	if a.logCloser != nil {
		_ = a.logCloser.Close()
	}
	return a.exit(err)
}

func (a *app) exit(err error) int {
	var code cmdline.ExitCode
	var usage cmdline.UsageError
	switch {
	case err == nil:
		return cmdline.ExitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &usage):
		fmt.Fprintf(a.env.Stderr, "%s: %s\n", helper.ProgramName, err)
		fmt.Fprintf(a.env.Stderr, "Run '%s --help' for usage.\n", helper.ProgramName)
		return cmdline.ExitUsage
	}
	fmt.Fprintf(a.env.Stderr, "%s: %s\n", helper.ProgramName, err)
	return cmdline.ExitFailure
}

// app holds the state of one run.
type app struct {
	env Env

	settings  config.Settings
	onError   helper.OnError
	log       *slog.Logger
	logCloser io.Closer
	setupErr  error // a usage error in the environment or flags
	// flagErr is a bad global flag value alone: a mistake on the command
	// line, which protocol actions report as one (see protocol).
	flagErr error
}

// globalFlags mirror the OCIR_* environment contract; a flag wins over
// its variable.
var globalFlags = []flagSpec{
	{names: []string{"log-level"}, usage: "log `LEVEL`: debug, info, warn or error (env OCIR_LOG_LEVEL)", def: "warn"},
	{names: []string{"log-file"}, usage: "also log to `FILE`, created 0600 (env OCIR_LOG_FILE)", def: "stderr only"},
	{names: []string{"timeout"}, usage: "overall deadline of one lookup, a `DURATION` like 20s (env OCIR_TIMEOUT)", def: config.DefaultTimeout.String()},
	{names: []string{"cache"}, usage: "token cache `on|off` (env OCIR_CACHE)", def: "on"},
	{names: []string{"cache-dir"}, usage: "token cache `DIR` (env OCIR_CACHE_DIR)", def: "~/.cache/ocir-credential-helper, or the OS's user cache dir"},
	{names: []string{"config"}, usage: "`FILE` with per-registry identity rules (env OCIR_CONFIG)", def: "~/.config/ocir-credential-helper/config.yaml if it exists"},
	{names: []string{"on-error"}, usage: "what get does when a token cannot be obtained: `error|anonymous` (env OCIR_ON_ERROR)", def: "error"},
	{names: []string{"version", "v"}, usage: "print the version", kind: boolFlag},
}

// commands is the command table: what the command line accepts and what
// its help says.
func (a *app) commands() *command {
	return &command{
		name:      helper.ProgramName,
		usage:     "OCIR credentials for docker, podman, skopeo, buildah, crane and nerdctl, from your OCI identity",
		usageText: helper.ProgramName + " [global options] command [arguments]",
		description: "Put {\"credHelpers\": {\"iad.ocir.io\": \"ocir\"}} in ~/.docker/config.json (see configure-docker) and\n" +
			"every client asks this program for a short-lived OCIR token instead of storing a password.\n\n" +
			"Version: " + a.env.Version,
		flags:  globalFlags,
		action: a.root,
		// As with urfave/cli's HideHelpCommand on the App before: `help`
		// at the root is an unknown command (exit 2); --help is the way.
		hideHelpCommand: true,
		subcommands: []*command{
			a.protocolCommand("get", "print credentials for the server URL read from stdin"),
			a.protocolCommand("store", "accept a login for an OCIR host (nothing is stored)"),
			a.protocolCommand("erase", "forget the cached token for the server URL read from stdin"),
			a.protocolCommand("list", "list OCIR hosts with a valid cached token"),
			{name: "version", usage: "print the version", action: a.version},
			a.configureDockerCommand(),
			a.doctorCommand(),
			a.tokenCommand(),
			a.cacheCommand(),
		},
	}
}

// before resolves settings from the environment and flags. It never fails
// the run itself: protocol actions report a bad environment on stdout (a
// bad flag, a mistake on the command line, on stderr), other commands
// everything on stderr, so each command looks at setupErr and flagErr.
func (a *app) before(c *call) {
	getenv := a.env.Getenv
	s, envErr, flagErr := cmdline.Settings(c.String, getenv)
	// --on-error wins over OCIR_ON_ERROR; a bad value is the error of
	// whichever was used, named after it.
	if v := c.String("on-error"); v != "" {
		o, err := helper.ParseOnError(v)
		if err != nil {
			err = fmt.Errorf("--on-error: %q is not one of error, anonymous", v)
		}
		a.onError, flagErr = o, cmp.Or(flagErr, err)
	} else {
		o, err := helper.ParseOnError(getenv("OCIR_ON_ERROR"))
		a.onError, envErr = o, cmp.Or(envErr, err)
	}
	if flagErr != nil {
		a.flagErr = cmdline.UsageError{Err: flagErr}
	}
	if envErr != nil {
		a.setupErr = cmdline.UsageError{Err: envErr}
	} else {
		a.setupErr = a.flagErr
	}
	a.settings = s
	log, closer, err := s.Logger(a.env.Stderr)
	a.log, a.logCloser = log, closer
	if err != nil {
		// A log file that cannot be opened must not break pulls.
		log.Warn("logging to stderr only", "err", err)
	}
	log.Debug("start", "command", c.First(), "version", a.env.Version, "commit", a.env.Commit)
}

// setup is the common start of the commands that need a token provider:
// it reports a usage error of the environment or flags, else builds the
// provider. A broken config file is a failure, not a usage error.
func (a *app) setup() (core, error) {
	if a.setupErr != nil {
		return nil, a.setupErr
	}
	cfg, err := config.Load(a.settings.ConfigPath, a.settings.ConfigExplicit)
	if err != nil {
		return nil, err // names the file already ("config <path>: …")
	}
	p, err := a.env.NewProvider(providerSettings{Settings: a.settings, Config: cfg, Logger: a.log, Getenv: a.env.Getenv})
	if err != nil {
		return nil, fmt.Errorf("token provider: %w", err)
	}
	return p, nil
}

func (a *app) root(c *call) error {
	if c.Bool("version") {
		return a.version(c)
	}
	if c.NArg() > 0 {
		return cmdline.Usagef("unknown command %q", c.First())
	}
	// A bare invocation is a usage error (as in credentials.Serve): the
	// help goes to stderr so nothing can mistake it for protocol output.
	c.cmd.writeHelp(a.env.Stderr, c.path)
	return cmdline.ExitCode(cmdline.ExitUsage)
}

func (a *app) version(c *call) error {
	if c.NArg() > 0 {
		return cmdline.Usagef("version takes no arguments")
	}
	fmt.Fprintln(a.env.Stdout, a.env.program().VersionLine())
	return nil
}
