package ocir

import (
	"io"
	"os"
	"sync"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

// NewFromEnv returns a Provider configured the way docker-credential-ocir and
// ocir-credential-provider configure theirs, so that a Go program needs no
// wiring of its own: the OCIR_* variables (OCIR_TIMEOUT, OCIR_CACHE,
// OCIR_CACHE_DIR, OCIR_CONFIG, OCIR_LOG_LEVEL, OCIR_LOG_FILE) are read
// through getenv, the config file they name is loaded, and getenv is handed
// on to identity discovery (OCI_CLI_AUTH, OCI_CLI_PROFILE,
// OCI_CLI_CONFIG_FILE, …) and trust roots. A nil getenv means os.Getenv.
// Proxies are the process's HTTPS_PROXY and NO_PROXY, as in any net/http
// program, unless WithProxy is given.
//
// Options are applied after the environment and win over it. Without
// WithLogger the Provider logs as the binaries do: to stderr at
// OCIR_LOG_LEVEL (warn by default) and also to OCIR_LOG_FILE; Close closes
// that file.
//
// Unlike New, NewFromEnv reads the config file (and opens OCIR_LOG_FILE)
// before it returns, so that a bad setting or config file is reported here
// rather than by every Credential call. It makes no network call. A log
// file that cannot be opened is a warning, not an error, as in the
// binaries.
func NewFromEnv(getenv func(string) string, opts ...Option) (*Provider, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	s, err := config.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return NewFromSettings(s, append([]Option{WithGetenv(getenv)}, opts...)...)
}

// NewFromSettings is NewFromEnv after the environment has been read: it
// builds the Provider from settings that a program may have adjusted first
// (the binaries apply their command-line flags this way). It applies s
// (timeout, cache, cache directory), loads the config file s names unless
// opts include WithConfig with a file, and, unless opts include WithLogger
// with a logger, logs to stderr and s.LogFile at s.LogLevel. Options win
// over s.
//
// The error of a config file that cannot be loaded is returned as
// config.Load returns it (config.ErrConfigNotFound for a missing explicit
// file).
func NewFromSettings(s config.Settings, opts ...Option) (*Provider, error) {
	// Options only set fields, so applying them to a scratch Provider
	// tells which of the config file and the logger the caller supplies.
	var given Provider
	applyOptions(&given, opts)
	base := []Option{withSettings(s)}
	if given.cfg == nil {
		cfg, err := config.Load(s.ConfigPath, s.ConfigExplicit)
		if err != nil {
			return nil, err
		}
		base = append(base, WithConfig(cfg))
	}
	var closer *onceCloser
	if given.log == nil {
		log, c, err := s.Logger(os.Stderr)
		if err != nil {
			// As in the binaries: a log file that cannot be opened must
			// not cost the caller its credentials.
			log.Warn("logging to stderr only", "err", err)
		}
		base = append(base, WithLogger(log))
		closer = &onceCloser{c: c}
	}
	p := New(append(base, opts...)...)
	p.closer = closer
	return p, nil
}

// Close releases what NewFromEnv or NewFromSettings opened (the
// OCIR_LOG_FILE). It is safe to call on any Provider, more than once; the
// Provider must not log afterwards, so call it when done with the Provider.
func (p *Provider) Close() error {
	if p == nil || p.closer == nil {
		return nil
	}
	p.closer.once.Do(func() { p.closer.err = p.closer.c.Close() })
	return p.closer.err
}

// onceCloser closes c at most once.
type onceCloser struct {
	once sync.Once
	c    io.Closer
	err  error
}
