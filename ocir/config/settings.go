// Package config reads the settings shared by both binaries: the OCIR_*
// environment contract and the optional YAML config file with per-registry
// identity rules and mirrors.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// Defaults of the environment contract.
const (
	DefaultTimeout = 20 * time.Second
	// SystemCacheDir is used when there is no per-user cache directory,
	// e.g. when the kubelet runs the plugin with an empty environment.
	SystemCacheDir = "/var/cache/ocir-credential-helper"
	appDir         = "ocir-credential-helper"
)

// Settings is the environment contract shared by both binaries.
type Settings struct {
	Timeout  time.Duration // OCIR_TIMEOUT
	Cache    bool          // OCIR_CACHE
	CacheDir string        // OCIR_CACHE_DIR
	// CacheDirExplicit is true when CacheDir came from OCIR_CACHE_DIR
	// rather than the per-user default.
	CacheDirExplicit bool
	ConfigPath       string // OCIR_CONFIG
	// ConfigExplicit is true when ConfigPath came from OCIR_CONFIG (a
	// missing explicit file is an error; a missing default one is not).
	ConfigExplicit bool
	LogLevel       slog.Level // OCIR_LOG_LEVEL
	LogFile        string     // OCIR_LOG_FILE
}

// FromEnv reads the OCIR_* variables. getenv is os.Getenv in production.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{Timeout: DefaultTimeout, Cache: true, LogLevel: slog.LevelWarn}
	var err error
	if v := strings.TrimSpace(getenv("OCIR_TIMEOUT")); v != "" {
		if s.Timeout, err = ParseTimeout(v); err != nil {
			return s, fmt.Errorf("OCIR_TIMEOUT: %w", err)
		}
	}
	if v := strings.TrimSpace(getenv("OCIR_CACHE")); v != "" {
		if s.Cache, err = ParseOnOff(v); err != nil {
			return s, fmt.Errorf("OCIR_CACHE: %w", err)
		}
	}
	s.CacheDir = getenv("OCIR_CACHE_DIR")
	s.CacheDirExplicit = s.CacheDir != ""
	if s.CacheDir == "" {
		s.CacheDir = DefaultCacheDir(getenv)
	}
	s.ConfigPath = getenv("OCIR_CONFIG")
	s.ConfigExplicit = s.ConfigPath != ""
	if s.ConfigPath == "" {
		s.ConfigPath = DefaultConfigPath(getenv)
	}
	if v := strings.TrimSpace(getenv("OCIR_LOG_LEVEL")); v != "" {
		if s.LogLevel, err = ParseLogLevel(v); err != nil {
			return s, fmt.Errorf("OCIR_LOG_LEVEL: %w", err)
		}
	}
	s.LogFile = getenv("OCIR_LOG_FILE")
	return s, nil
}

// ParseTimeout accepts a Go duration ("20s") or bare seconds ("20").
func ParseTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	var d time.Duration
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n > 24*3600 {
			return 0, fmt.Errorf("%q is too long", v)
		}
		d = time.Duration(n * float64(time.Second))
	} else if d, err = time.ParseDuration(v); err != nil {
		return 0, fmt.Errorf("%q is neither a duration like 20s nor a number of seconds", v)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", v)
	}
	return d, nil
}

// ParseOnOff accepts on/off and the usual boolean spellings.
func ParseOnOff(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "1", "yes":
		return true, nil
	case "off", "false", "0", "no":
		return false, nil
	}
	return false, fmt.Errorf("%q is not on or off", v)
}

// ParseLogLevel accepts debug, info, warn (or warning) and error.
func ParseLogLevel(v string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning", "":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not one of debug, info, warn, error", v)
}

// DefaultCacheDir is os.UserCacheDir()/ocir-credential-helper, or
// SystemCacheDir when the process has no home (as under the kubelet).
func DefaultCacheDir(getenv func(string) string) string {
	if d := userDir(getenv, "XDG_CACHE_HOME", "LocalAppData", filepath.Join("Library", "Caches"), ".cache"); d != "" {
		return filepath.Join(d, appDir)
	}
	if runtime.GOOS == "windows" {
		// A directory made outside the user profile inherits ACLs that let
		// other users read it: without a profile, cache in memory only.
		return ""
	}
	return SystemCacheDir
}

// DefaultConfigPath is os.UserConfigDir()/ocir-credential-helper/config.yaml.
func DefaultConfigPath(getenv func(string) string) string {
	d := userDir(getenv, "XDG_CONFIG_HOME", "AppData", filepath.Join("Library", "Application Support"), ".config")
	if d == "" {
		return ""
	}
	return filepath.Join(d, appDir, "config.yaml")
}

// userDir mirrors os.UserCacheDir/os.UserConfigDir but reads the
// environment through getenv so tests and callers control it.
func userDir(getenv func(string) string, xdg, windows, darwin, unix string) string {
	switch runtime.GOOS {
	case "windows":
		return getenv(windows)
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, darwin)
		}
		return ""
	}
	if d := getenv(xdg); d != "" && filepath.IsAbs(d) {
		return d
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, unix)
	}
	return ""
}

// Logger builds the stderr logger (plus OCIR_LOG_FILE when set). The
// returned closer closes the log file; it is never nil. When the log file
// cannot be used the logger writes to stderr only and the error says why.
func (s Settings) Logger(stderr io.Writer) (*slog.Logger, io.Closer, error) {
	opts := &slog.HandlerOptions{Level: s.LogLevel}
	if s.LogFile == "" {
		return slog.New(slog.NewTextHandler(stderr, opts)), io.NopCloser(nil), nil
	}
	f, err := openLogFile(s.LogFile)
	if err != nil {
		return slog.New(slog.NewTextHandler(stderr, opts)), io.NopCloser(nil), err
	}
	return slog.New(slog.NewTextHandler(io.MultiWriter(stderr, f), opts)), f, nil
}

// openLogFile opens OCIR_LOG_FILE to append to. It must be an absolute
// path (userfile.Absolute: the helper runs in its clients' working
// directories). No following symlinks (a planted link in /tmp must not
// redirect root's log), and an existing file is made private.
// Non-blocking and regular files only: a FIFO would hang the process at
// open or at the first write.
func openLogFile(path string) (*os.File, error) {
	if err := userfile.Absolute(path); err != nil {
		return nil, fmt.Errorf("OCIR_LOG_FILE: %w", err)
	}
	f, err := userfile.OpenAppend(path)
	if err == nil && runtime.GOOS != "windows" {
		err = f.Chmod(0o600)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, fmt.Errorf("open OCIR_LOG_FILE: %w", err)
	}
	return f, nil
}

// ErrConfigNotFound is returned by Load for an explicit path that is missing.
var ErrConfigNotFound = errors.New("config file not found")
