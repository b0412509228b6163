package helper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// ModulePath is printed by the version command.
const ModulePath = "github.com/ocir-credential-helper/ocir-credential-helper"

// Provider is everything the commands need from the token provider.
// pullcheck.Checker satisfies it.
type Provider interface {
	Source
	// Explain resolves the identity for serverURL without fetching a token.
	Explain(ctx context.Context, serverURL string) (ocir.Explanation, error)
	// Clear removes every cached token.
	Clear() error
	// CheckPull asks the registry whether cred may pull repository
	// ("ns/repo"), as a pulling client authenticates.
	CheckPull(ctx context.Context, cred ocir.Credential, repository string) pullcheck.Result
}

var _ Provider = pullcheck.Checker{}

// ProviderSettings is what a Provider is built from.
type ProviderSettings struct {
	Settings config.Settings
	Config   *config.File
	Logger   *slog.Logger
	Getenv   func(string) string
	Version  string // for the User-Agent of token requests
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

	// NewProvider builds the token provider; nil means ocir.New.
	NewProvider func(ProviderSettings) (Provider, error)
	// LookPath finds a program on PATH; nil means exec.LookPath.
	LookPath func(string) (string, error)
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// OSEnv returns the Env of the running process.
func OSEnv(ctx context.Context, version, commit string) Env {
	return Env{
		Args: os.Args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: os.Getenv, Context: ctx, Version: version, Commit: commit,
	}
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
		e.NewProvider = newOCIRProvider
	}
	if e.LookPath == nil {
		e.LookPath = exec.LookPath
	}
	if e.Now == nil {
		e.Now = time.Now
	}
}

// newOCIRProvider builds the Provider as ocir.NewFromEnv does (one source
// of truth for the environment contract), with the config file setup has
// already loaded and the logger before already made.
func newOCIRProvider(ps ProviderSettings) (Provider, error) {
	p, err := ocir.NewFromSettings(ps.Settings,
		ocir.WithConfig(ps.Config),
		ocir.WithLogger(ps.Logger),
		ocir.WithGetenv(ps.Getenv),
		ocir.WithUserAgent(ProgramName+"/"+ps.Version),
	)
	if err != nil {
		return nil, err
	}
	return pullcheck.Checker{Provider: p}, nil
}

// VersionLine is what version, -v and --version print.
func VersionLine(version string) string {
	return fmt.Sprintf("%s (%s) %s", ProgramName, ModulePath, version)
}

// usageError marks a bad command line or environment value: exit code 2.
type usageError struct{ err error }

// Error returns the underlying message.
func (u usageError) Error() string { return u.err.Error() }

// Unwrap exposes the underlying error.
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitCode ends a command with a code after it has printed everything it
// wanted to print.
type exitCode int

// Error describes the code; it is never printed.
func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Main runs the program and returns its exit code.
func Main(env Env) int {
	env.fill()
	a := &app{env: env}
	cliApp := a.cliApp()
	args := env.Args
	if len(args) == 0 {
		args = []string{ProgramName}
	}
	err := cliApp.RunContext(env.Context, args)
	if a.logCloser != nil {
		_ = a.logCloser.Close()
	}
	return a.exit(err)
}

func (a *app) exit(err error) int {
	var code exitCode
	var usage usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &usage):
		fmt.Fprintf(a.env.Stderr, "%s: %s\n", ProgramName, err)
		fmt.Fprintf(a.env.Stderr, "Run '%s --help' for usage.\n", ProgramName)
		return ExitUsage
	}
	fmt.Fprintf(a.env.Stderr, "%s: %s\n", ProgramName, err)
	return ExitFailure
}

// app holds the state of one run.
type app struct {
	env Env

	settings  config.Settings
	onError   OnError
	log       *slog.Logger
	logCloser io.Closer
	setupErr  error // a usage error in the environment or flags
}

// Global flags mirror the OCIR_* environment contract; a flag wins over
// its variable.
var globalFlags = []cli.Flag{
	&cli.StringFlag{Name: "log-level", Usage: "log `LEVEL`: debug, info, warn or error (env OCIR_LOG_LEVEL)", DefaultText: "warn"},
	&cli.StringFlag{Name: "log-file", Usage: "also log to `FILE`, created 0600 (env OCIR_LOG_FILE)", DefaultText: "stderr only"},
	&cli.StringFlag{Name: "timeout", Usage: "overall deadline of one lookup, a `DURATION` like 20s (env OCIR_TIMEOUT)", DefaultText: config.DefaultTimeout.String()},
	&cli.StringFlag{Name: "cache", Usage: "token cache `on|off` (env OCIR_CACHE)", DefaultText: "on"},
	&cli.StringFlag{Name: "cache-dir", Usage: "token cache `DIR` (env OCIR_CACHE_DIR)", DefaultText: "~/.cache/ocir-credential-helper, or the OS's user cache dir"},
	&cli.StringFlag{Name: "config", Usage: "`FILE` with per-registry identity rules (env OCIR_CONFIG)", DefaultText: "~/.config/ocir-credential-helper/config.yaml if it exists"},
	&cli.StringFlag{Name: "on-error", Usage: "what get does when a token cannot be obtained: `error|anonymous` (env OCIR_ON_ERROR)", DefaultText: "error"},
	&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version", DisableDefaultText: true},
}

func (a *app) cliApp() *cli.App {
	onUsage := func(_ *cli.Context, err error, _ bool) error { return usageError{err} }
	app := &cli.App{
		Name:      ProgramName,
		HelpName:  ProgramName,
		Usage:     "OCIR credentials for docker, podman, skopeo, buildah, crane and nerdctl, from your OCI identity",
		UsageText: ProgramName + " [global options] command [arguments]",
		Description: "Put {\"credHelpers\": {\"iad.ocir.io\": \"ocir\"}} in ~/.docker/config.json (see configure-docker) and\n" +
			"every client asks this program for a short-lived OCIR token instead of storing a password.\n\n" +
			// The VERSION section is hidden with HideVersion; say it here.
			"Version: " + a.env.Version,
		Version:         a.env.Version,
		HideVersion:     true, // -v/--version are handled below, in the protocol's format
		Flags:           globalFlags,
		Writer:          a.env.Stdout,
		ErrWriter:       a.env.Stderr,
		Reader:          a.env.Stdin,
		OnUsageError:    onUsage,
		ExitErrHandler:  func(*cli.Context, error) {},
		Before:          a.before,
		Action:          a.root,
		HideHelpCommand: true,
		Commands: []*cli.Command{
			a.protocolCommand("get", "print credentials for the server URL read from stdin"),
			a.protocolCommand("store", "accept a login for an OCIR host (nothing is stored)"),
			a.protocolCommand("erase", "forget the cached token for the server URL read from stdin"),
			a.protocolCommand("list", "list OCIR hosts with a valid cached token"),
			{Name: "version", Usage: "print the version", Action: a.version},
			a.configureDockerCommand(),
			a.doctorCommand(),
			a.tokenCommand(),
			a.cacheCommand(),
		},
	}
	for _, c := range app.Commands {
		setUsageHandler(c, onUsage)
	}
	return app
}

func setUsageHandler(c *cli.Command, h cli.OnUsageErrorFunc) {
	c.OnUsageError = h
	for _, s := range c.Subcommands {
		setUsageHandler(s, h)
	}
}

// before resolves settings from the environment and flags. It never fails
// the run itself: protocol actions must report problems on stdout, other
// commands on stderr, so each command looks at setupErr.
func (a *app) before(c *cli.Context) error {
	getenv := a.env.Getenv
	s, err := config.FromEnv(getenv)
	if err != nil {
		a.setupErr = usageError{err}
	}
	flagErr := func(name string, err error) {
		if a.setupErr == nil {
			a.setupErr = usagef("--%s: %w", name, err)
		}
	}
	if v := c.String("timeout"); v != "" {
		if d, err := config.ParseTimeout(v); err != nil {
			flagErr("timeout", err)
		} else {
			s.Timeout = d
		}
	}
	if v := c.String("cache"); v != "" {
		if on, err := config.ParseOnOff(v); err != nil {
			flagErr("cache", err)
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
			flagErr("log-level", err)
		} else {
			s.LogLevel = l
		}
	}
	if v := c.String("log-file"); v != "" {
		s.LogFile = v
	}
	onErr := getenv("OCIR_ON_ERROR")
	if v := c.String("on-error"); v != "" {
		onErr = v
	}
	if o, err := ParseOnError(onErr); err != nil {
		if a.setupErr == nil {
			a.setupErr = usageError{err}
		}
	} else {
		a.onError = o
	}
	a.settings = s
	log, closer, err := s.Logger(a.env.Stderr)
	a.log, a.logCloser = log, closer
	if err != nil {
		// A log file that cannot be opened must not break pulls.
		log.Warn("logging to stderr only", "err", err)
	}
	log.Debug("start", "command", c.Args().First(), "version", a.env.Version, "commit", a.env.Commit)
	return nil
}

// setup is the common start of the commands that need a token provider:
// it reports a usage error of the environment or flags, else builds the
// provider. A broken config file is a failure, not a usage error.
func (a *app) setup() (Provider, error) {
	if a.setupErr != nil {
		return nil, a.setupErr
	}
	cfg, err := config.Load(a.settings.ConfigPath, a.settings.ConfigExplicit)
	if err != nil {
		return nil, err // names the file already ("config <path>: …")
	}
	p, err := a.env.NewProvider(ProviderSettings{Settings: a.settings, Config: cfg, Logger: a.log, Getenv: a.env.Getenv, Version: a.env.Version})
	if err != nil {
		return nil, fmt.Errorf("token provider: %w", err)
	}
	return p, nil
}

func (a *app) root(c *cli.Context) error {
	if c.Bool("version") {
		return a.version(c)
	}
	if c.NArg() > 0 {
		return usagef("unknown command %q", c.Args().First())
	}
	// A bare invocation is a usage error (as in credentials.Serve): the
	// help goes to stderr so nothing can mistake it for protocol output.
	cli.HelpPrinter(a.env.Stderr, cli.AppHelpTemplate, c.App)
	return exitCode(ExitUsage)
}

func (a *app) version(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(a.env.Stdout, VersionLine(a.env.Version))
	return nil
}

func (a *app) protocolCommand(action, usage string) *cli.Command {
	return &cli.Command{
		Name:     action,
		Usage:    usage,
		Category: "credential helper protocol (run by container tools)",
		Action:   func(c *cli.Context) error { return a.protocol(c, action) },
	}
}

// protocol runs get/store/erase/list. Everything it says goes to stdout in
// Serve's convention, because that is where clients look for the reason.
func (a *app) protocol(c *cli.Context, action string) error {
	stdout := a.env.Stdout
	if c.NArg() > 0 {
		fmt.Fprintf(stdout, "%s: %s takes no arguments (the server URL is read from stdin)\n", ProgramName, action)
		return exitCode(ExitUsage)
	}
	p, err := a.setup()
	if err != nil {
		return a.protocolSetupFailed(action, err)
	}
	h := New(p, WithContext(c.Context), WithOnError(a.onError), WithStderr(a.env.Stderr), WithLogger(a.log), WithClock(a.env.Now))
	if code := h.Serve(action, a.env.Stdin, stdout); code != ExitOK {
		return exitCode(code)
	}
	return nil
}

// protocolSetupFailed answers a protocol action when the settings
// (OCIR_* variables, global flags, the config file) are unusable. Only get
// really needs them; the other actions must not break the client over them.
func (a *app) protocolSetupFailed(action string, err error) error {
	stderr := a.env.Stderr
	msg := fmt.Sprintf("%s: %s", ProgramName, oneLine(err.Error()))
	switch action {
	case credentials.ActionList:
		// list never fails: an unusable setup simply lists nothing.
		a.log.Warn("list: listing nothing", "err", err)
		fmt.Fprintln(a.env.Stdout, "{}")
		return nil
	case credentials.ActionErase:
		// Nothing was stored, so `docker logout` has nothing to fail
		// over; the cached token, if any, stays.
		fmt.Fprintf(stderr, "%s; the cached token was not dropped\n", msg)
		return nil
	case credentials.ActionStore:
		// `docker login` to an OCIR host must never break: recognise the
		// host without the settings (the compiled-in region table) and
		// accept the login, telling the user what will fail later.
		if host, ok := storeHostIsOCIR(a.env.Stdin); ok {
			fmt.Fprintf(stderr, "%s; accepting the login to %s anyway (nothing is stored), but getting a token will fail until this is fixed\n", msg, host)
			return nil
		}
	}
	// The same line on stderr: the docker CLI hides a failing helper's
	// stdout, so stderr is the only place its user can see why.
	fmt.Fprintln(a.env.Stdout, msg)
	fmt.Fprintln(stderr, msg)
	if errors.As(err, new(usageError)) {
		return exitCode(ExitUsage)
	}
	return exitCode(ExitFailure)
}

// storeHostIsOCIR reads the credentials a store action receives and
// reports whether their server URL names a host of the compiled-in region
// table. Anything unreadable is not.
func storeHostIsOCIR(stdin io.Reader) (string, bool) {
	var c credentials.Credentials
	if err := json.NewDecoder(io.LimitReader(stdin, maxStdin)).Decode(&c); err != nil {
		return "", false
	}
	host, err := registry.Host(c.ServerURL)
	if err != nil {
		return "", false
	}
	reg, ok := registry.DefaultTable().Recognize(host)
	return reg.Host, ok
}
