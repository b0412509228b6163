// Package helper is the docker-credential-helpers adapter of the ocir
// token provider: a credentials.Helper answering the get/store/erase/list
// protocol that docker, podman, skopeo, buildah, crane and nerdctl speak to
// "docker-credential-ocir". It has no command-line dependency; the command
// line around it (configure-docker, doctor, token, cache) is
// cmd/docker-credential-ocir, and the config.json/auth.json editing library
// is helper/dockerconfig.
//
// The protocol side never stores anything: every OCIR credential is minted
// on demand from the user's OCI identity by the ocir package, so store is a
// no-op for OCIR hosts and list reports what the token cache holds.
package helper

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// ProgramName is the name docker derives from a credHelpers value of
// "ocir"; it prefixes every message the helper prints.
const ProgramName = "docker-credential-ocir"

// HelperSuffix is the value to put in credHelpers (docker runs
// "docker-credential-" + suffix).
const HelperSuffix = "ocir"

// Source is the part of the token provider the protocol needs.
// *ocir.Provider satisfies it; tests use a strict fake.
type Source interface {
	// Registry recognises an OCIR host without any network call (store
	// accepts a login by it, erase drops its cached token, neither with a
	// token call).
	Registry(serverURL string) (registry.Registry, error)
	// Credential returns a bearer credential for serverURL. For a host
	// that is not OCIR it fails with ocir.ErrNotOCIRHost before anything
	// is signed or sent; its other errors name the canonical host
	// (ocir.Error.Registry).
	Credential(ctx context.Context, serverURL string, opts ...ocir.RequestOption) (ocir.Credential, error)
	// List returns the valid cached tokens, without touching the network.
	List() ([]ocir.CacheEntry, error)
	// Drop forgets the cached token of one registry.
	Drop(serverURL string) error
}

var _ Source = (*ocir.Provider)(nil)

// OnError says what get does when an identity is configured but no token
// can be obtained (OCIR_ON_ERROR).
type OnError int

const (
	// OnErrorFail reports the failure to the client, which aborts the pull.
	// This is the default: a silent anonymous fallback hides real problems
	// behind "pull access denied".
	OnErrorFail OnError = iota
	// OnErrorAnonymous answers "credentials not found" so the client goes
	// on anonymously (useful when most pulls are of public images).
	OnErrorAnonymous
)

// ParseOnError parses OCIR_ON_ERROR: "error" (default, also for "") or
// "anonymous".
func ParseOnError(v string) (OnError, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "error":
		return OnErrorFail, nil
	case "anonymous":
		return OnErrorAnonymous, nil
	}
	return OnErrorFail, fmt.Errorf("OCIR_ON_ERROR: %q is not one of error, anonymous", v)
}

// String returns the OCIR_ON_ERROR spelling.
func (o OnError) String() string {
	if o == OnErrorAnonymous {
		return "anonymous"
	}
	return "error"
}

// Helper implements credentials.Helper on top of a Source.
type Helper struct {
	src     Source
	ctx     context.Context
	onError OnError
	stderr  io.Writer
	log     *slog.Logger
	now     func() time.Time
}

var _ credentials.Helper = (*Helper)(nil)

// Option configures a Helper; a nil Option is ignored.
type Option func(*Helper)

// WithContext sets the context of token calls (for cancellation by a
// signal); the Source applies its own overall deadline. A nil ctx means
// context.Background().
func WithContext(ctx context.Context) Option {
	return func(h *Helper) {
		if ctx != nil {
			h.ctx = ctx
		}
	}
}

// WithOnError sets the OCIR_ON_ERROR behaviour.
func WithOnError(o OnError) Option { return func(h *Helper) { h.onError = o } }

// WithStderr sets where user-facing hints go (never stdout: stdout belongs
// to the protocol); nil discards them, as without the option.
func WithStderr(w io.Writer) Option {
	return func(h *Helper) {
		if w != nil {
			h.stderr = w
		}
	}
}

// WithLogger sets the logger for diagnostics; nil discards them, as without
// the option.
func WithLogger(l *slog.Logger) Option {
	return func(h *Helper) {
		if l != nil {
			h.log = l
		}
	}
}

// WithClock replaces time.Now, for tests; nil means time.Now.
func WithClock(now func() time.Time) Option {
	return func(h *Helper) {
		if now != nil {
			h.now = now
		}
	}
}

// New returns a Helper that answers from src. Nil options are ignored; a
// nil src fails every Get like a Provider ocir.New did not build
// (ocir.ErrIdentityBroken).
func New(src Source, opts ...Option) *Helper {
	if src == nil {
		src = (*ocir.Provider)(nil)
	}
	h := &Helper{
		src:    src,
		ctx:    context.Background(),
		stderr: io.Discard,
		log:    slog.New(slog.DiscardHandler),
		now:    time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(h)
		}
	}
	return h
}

// Get returns BEARER_TOKEN and a fresh OCIR token for an OCIR host.
//
// The error mapping is the heart of the helper: "credentials not found"
// (the one message clients treat as "go on anonymously") is returned only
// when anonymous access is the right answer — the host is not OCIR, or the
// user has no OCI identity at all. A configured identity that fails is a
// real error so the user sees why instead of a later "access denied".
func (h *Helper) Get(serverURL string) (string, string, error) {
	// The core recognises the host, once: somebody else's registry comes
	// back as ErrNotOCIRHost before anything is signed or sent, and is
	// answered "not found" so the client goes on without us.
	cred, err := h.src.Credential(h.ctx, serverURL)
	if err != nil {
		return "", "", h.getFailure(failedHost(serverURL, err), err)
	}
	if cred.Secret == "" {
		return "", "", h.getFailure(cred.Registry, fmt.Errorf("token provider returned an empty token for %s", cred.Registry))
	}
	h.log.Debug("credentials answered", "registry", cred.Registry, "serverURL", serverURL, "expires", cred.ExpiresAt)
	return safeUsername(cred.Username), cred.Secret, nil
}

// failedHost is the host a failed Credential call is reported for: the
// canonical host the core recognised (ocir.Error.Registry), else the
// server URL as given.
func failedHost(serverURL string, err error) string {
	var oe *ocir.Error
	if errors.As(err, &oe) && oe.Registry != "" {
		return oe.Registry
	}
	return serverURL
}

// isNotOCIR reports whether err says the server URL names no OCIR host
// (including input that names no host at all).
func isNotOCIR(err error) bool {
	return errors.Is(err, ocir.ErrNotOCIRHost) || errors.Is(err, registry.ErrInvalidServerURL)
}

// safeUsername guards against ever answering "<token>", which docker
// treats as an OAuth refresh token instead of a password.
func safeUsername(u string) string {
	if u == "" || u == "<token>" {
		return ocir.Username
	}
	return u
}

func (h *Helper) getFailure(host string, err error) error {
	switch {
	case isNotOCIR(err):
		h.log.Debug("not an OCIR host, answering not found", "host", host, "err", err)
		return credentials.NewErrCredentialsNotFound()
	case errors.Is(err, ocir.ErrNoIdentity):
		hint := "configure an OCI identity (e.g. `oci setup config`) or run `" + ProgramName + " doctor " + host + "`"
		var oe *ocir.Error
		if errors.As(err, &oe) && oe.Hint != "" {
			hint = oe.Hint
		}
		fmt.Fprintf(h.stderr, "%s: no OCI identity configured, accessing %s anonymously; %s\n", ProgramName, host, OneLine(hint))
		return credentials.NewErrCredentialsNotFound()
	}
	msg := fmt.Sprintf("%s: %s", ProgramName, OneLine(err.Error()))
	if h.onError == OnErrorAnonymous {
		fmt.Fprintf(h.stderr, "%s; continuing anonymously (OCIR_ON_ERROR=anonymous)\n", msg)
		return credentials.NewErrCredentialsNotFound()
	}
	// The same line on stderr: the docker CLI swallows a failing helper's
	// stdout and pulls with empty credentials, so stderr is the only place
	// its user can see why.
	fmt.Fprintln(h.stderr, msg)
	return errors.New(msg)
}

// ErrUseCredHelpers is returned by Add for a host that is not OCIR: the
// helper was configured as credsStore, which would route every registry's
// logins to it.
var ErrUseCredHelpers = errors.New("use credHelpers for OCIR hosts, not credsStore")

// Add accepts logins to OCIR hosts without storing anything, so `docker
// login` and `podman login` keep working; tokens are minted on demand.
func (h *Helper) Add(c *credentials.Credentials) error {
	if c == nil {
		return credentials.NewErrCredentialsMissingServerURL()
	}
	reg, err := h.src.Registry(c.ServerURL)
	if err != nil {
		if isNotOCIR(err) && !looksLikeOCIR(c.ServerURL) {
			return fmt.Errorf("%s cannot store credentials for %s: %w", ProgramName, OneLine(c.ServerURL), ErrUseCredHelpers)
		}
		// An OCIR-looking host that was not recognised (a mistyped
		// region, a mirror with a bad tokenURL, unreadable region
		// metadata): credsStore is not the problem, so say what is.
		return fmt.Errorf("%s cannot accept the login for %s: %w", ProgramName, OneLine(c.ServerURL), err)
	}
	h.log.Info("not storing login: OCIR tokens are obtained from the OCI identity on demand", "registry", reg.Host)
	return nil
}

// looksLikeOCIR reports whether serverURL names a host of the compiled-in
// region table or has the shape of an OCIR host name (*.ocir.io,
// ocir.<region>.oci.<domain>), whether or not the provider recognised it.
func looksLikeOCIR(serverURL string) bool {
	host, err := registry.Host(serverURL)
	if err != nil {
		return false
	}
	if _, ok := registry.DefaultTable().Recognize(host); ok {
		return true
	}
	return registry.HasOCIRShape(host)
}

// Delete always succeeds (nothing was stored) and drops the cached token,
// so `docker logout` forces a fresh token on the next pull.
func (h *Helper) Delete(serverURL string) error {
	if _, err := h.src.Registry(serverURL); err != nil {
		h.log.Debug("erase for a host that is not OCIR: nothing to do", "serverURL", serverURL)
		return nil
	}
	if err := h.src.Drop(serverURL); err != nil {
		h.log.Warn("could not drop the cached token", "serverURL", serverURL, "err", err)
	}
	return nil
}

// List reports the OCIR hosts with a valid cached token. It never touches
// the network and never fails: a broken cache lists nothing.
func (h *Helper) List() (map[string]string, error) {
	out := map[string]string{}
	entries, err := h.src.List()
	if err != nil {
		h.log.Warn("could not read the token cache", "err", err)
		return out, nil
	}
	now := h.now()
	for _, e := range entries {
		if e.Registry == "" || !e.ExpiresAt.After(now) {
			continue
		}
		out[e.Registry] = ocir.Username
	}
	return out, nil
}

// Serve runs one protocol action (get, store, erase, list) with Serve's
// conventions from docker-credential-helpers: protocol output on stdout,
// an error as one line on stdout with exit code 1 (ExitUsage for an
// unknown action). It returns the exit code instead of exiting.
func (h *Helper) Serve(action string, stdin io.Reader, stdout io.Writer) int {
	switch action {
	case credentials.ActionGet, credentials.ActionStore, credentials.ActionErase, credentials.ActionList:
	default:
		fmt.Fprintf(stdout, "%s: unknown action: %s\n", ProgramName, OneLine(action))
		return ExitUsage
	}
	// Bound the input: the protocol carries a URL or a small JSON object.
	in := io.LimitReader(stdin, MaxInput)
	if err := credentials.HandleCommand(h, action, in, stdout); err != nil {
		// The library's own errors about the request say nothing of where
		// they come from ("bufio.Scanner: token too long", "invalid
		// character 'o' in literal null").
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case action == credentials.ActionStore && errors.Is(err, io.EOF):
			// The library's decoder says a bare "EOF" for an empty stdin.
			err = fmt.Errorf("%s: %s: read credentials from stdin: empty input, expected JSON {ServerURL, Username, Secret}", ProgramName, action)
		case errors.Is(err, bufio.ErrTooLong):
			err = fmt.Errorf("%s: %s: the request on stdin has a line longer than %d bytes; it should be a registry host name", ProgramName, action, bufio.MaxScanTokenSize)
		case errors.As(err, &syntaxErr), errors.As(err, &typeErr), errors.Is(err, io.ErrUnexpectedEOF):
			err = fmt.Errorf("%s: %s: the request on stdin is not the credentials JSON object: %w", ProgramName, action, err)
		}
		fmt.Fprintln(stdout, OneLine(err.Error()))
		return ExitFailure
	}
	return ExitOK
}

// MaxInput bounds what an action reads from stdin: the protocol carries a
// server URL or a small JSON object.
const MaxInput = 1 << 20

// Exit codes Serve returns, the protocol's exit statuses (the same values
// as cmd/internal/cmdline's, which this package must not import).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// OneLine keeps a message on one line: clients show the helper's stdout
// verbatim inside their own error message.
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(s)), " ")
}
