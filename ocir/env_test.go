package ocir_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

// envWorld is an emulator and the environment (read only through getenv)
// of a program pointed at it.
type envWorld struct {
	e   *emulator.Emulator
	dir string
	env map[string]string
}

func newEnvWorld(t *testing.T) *envWorld {
	t.Helper()
	e, dir := emulatortest.Start(t)
	w := &envWorld{e: e, dir: dir, env: map[string]string{"HOME": dir}}
	maps.Copy(w.env, e.EnvMap())
	return w
}

func (w *envWorld) getenv(k string) string { return w.env[k] }

func (w *envWorld) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// threeLookups gets iad.ocir.io twice from one Provider, then once from a
// fresh one built the same way, and returns how many tokens OCIR issued.
func threeLookups(t *testing.T, w *envWorld, opts ...ocir.Option) int {
	t.Helper()
	for _, lookups := range []int{2, 1} {
		p, err := ocir.NewFromEnv(w.getenv, append([]ocir.Option{ocir.WithProxy(w.e.Proxy)}, opts...)...)
		if err != nil {
			t.Fatalf("NewFromEnv: %v", err)
		}
		for range lookups {
			if _, err := p.Credential(context.Background(), "iad.ocir.io"); err != nil {
				t.Fatalf("Credential: %v", err)
			}
		}
		p.Close()
	}
	return w.e.Count("token")
}

func TestNewFromEnvAppliesTheEnvironmentContract(t *testing.T) {
	cases := []struct {
		name       string
		env        map[string]string
		opts       []ocir.Option
		wantTokens int  // token requests made by threeLookups
		wantFiles  bool // cache files in OCIR_CACHE_DIR
	}{
		{"cache on by default, on disk in OCIR_CACHE_DIR", nil, nil, 1, true},
		{"OCIR_CACHE=off fetches every time", map[string]string{"OCIR_CACHE": "off"}, nil, 3, false},
		{"an option wins over OCIR_CACHE", map[string]string{"OCIR_CACHE": "off"}, []ocir.Option{ocir.WithCache(true)}, 1, true},
		{"an option wins over OCIR_CACHE_DIR", nil, []ocir.Option{ocir.WithCacheDir("")}, 2, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newEnvWorld(t)
			cacheDir := filepath.Join(w.dir, "cache")
			w.env["OCIR_CACHE_DIR"] = cacheDir
			for k, v := range c.env {
				w.env[k] = v
			}
			if got := threeLookups(t, w, c.opts...); got != c.wantTokens {
				t.Errorf("%d token requests, want %d", got, c.wantTokens)
			}
			entries, _ := os.ReadDir(cacheDir)
			if hasFiles := len(entries) > 0; hasFiles != c.wantFiles {
				t.Errorf("cache dir %s has %d entries, want files: %t", cacheDir, len(entries), c.wantFiles)
			}
		})
	}
}

func TestNewFromEnvReportsBadSettingsAndConfig(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string // in the error
		is   error
	}{
		{"bad OCIR_TIMEOUT", map[string]string{"OCIR_TIMEOUT": "soon"}, "OCIR_TIMEOUT", nil},
		{"bad OCIR_CACHE", map[string]string{"OCIR_CACHE": "maybe"}, "OCIR_CACHE", nil},
		{"bad OCIR_LOG_LEVEL", map[string]string{"OCIR_LOG_LEVEL": "loud"}, "OCIR_LOG_LEVEL", nil},
		{"missing OCIR_CONFIG file", map[string]string{"OCIR_CONFIG": "/nonexistent/config.yaml"}, "/nonexistent/config.yaml", config.ErrConfigNotFound},
		{"unknown key in OCIR_CONFIG", map[string]string{"OCIR_CONFIG": "CONFIG"}, "profle", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newEnvWorld(t)
			for k, v := range c.env {
				if v == "CONFIG" {
					v = w.write(t, "config.yaml", "registries:\n  - match: iad.ocir.io\n    auth: api_key\n    profle: X\n")
				}
				w.env[k] = v
			}
			p, err := ocir.NewFromEnv(w.getenv, ocir.WithProxy(w.e.Proxy))
			if err == nil || p != nil {
				t.Fatalf("NewFromEnv = %v, %v; want an error", p, err)
			}
			if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("error %q does not name %q (or match %v)", err, c.want, c.is)
			}
		})
	}
}

func TestNewFromEnvFollowsConfigFileAndOCIVariables(t *testing.T) {
	w := newEnvWorld(t)
	key, err := w.e.NewAPIKey("ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.e.WriteProfile("CI", key); err != nil {
		t.Fatal(err)
	}
	// The config file picks the CI profile for iad.ocir.io; OCI_CLI_PROFILE
	// (read through getenv) picks it for every other host.
	w.env["OCIR_CONFIG"] = w.write(t, "config.yaml", "registries:\n  - match: iad.ocir.io\n    auth: api_key\n    profile: CI\n")
	w.env["OCIR_CACHE"] = "off"
	p, err := ocir.NewFromEnv(w.getenv, ocir.WithProxy(w.e.Proxy))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x, err := p.Explain(context.Background(), "iad.ocir.io")
	if err != nil {
		t.Fatal(err)
	}
	if x.Profile != "CI" || x.RuleMatched == "" || x.CacheEnabled {
		t.Errorf("Explain(iad.ocir.io) = profile %q, rule %q, cache %t; want the CI profile by the config rule, cache off", x.Profile, x.RuleMatched, x.CacheEnabled)
	}
	if x, err = p.Explain(context.Background(), "fra.ocir.io"); err != nil || x.Profile != "DEFAULT" {
		t.Errorf("Explain(fra.ocir.io) = profile %q, %v; want DEFAULT", x.Profile, err)
	}
	w.env["OCI_CLI_PROFILE"] = "CI"
	if x, err = p.Explain(context.Background(), "fra.ocir.io"); err != nil || x.Profile != "CI" {
		t.Errorf("with OCI_CLI_PROFILE=CI, Explain(fra.ocir.io) = profile %q, %v; want CI", x.Profile, err)
	}
	if _, err := p.Credential(context.Background(), "iad.ocir.io"); err != nil {
		t.Fatal(err)
	}
	if got := w.e.IssuedTokens(); len(got) != 1 || got[0].Kind != "api_key" || got[0].Principal != key.User {
		t.Errorf("issued %+v, want one api_key token for the CI profile's user %s", got, key.User)
	}
}

func TestNewFromEnvTimeout(t *testing.T) {
	w := newEnvWorld(t)
	w.env["OCIR_TIMEOUT"] = "1s"
	w.e.AddFault(emulator.Fault{Endpoint: "token", Hang: true})
	p, err := ocir.NewFromEnv(w.getenv, ocir.WithProxy(w.e.Proxy))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The caller's own deadline is far away: only OCIR_TIMEOUT can end it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = p.Credential(ctx, "iad.ocir.io")
	if !errors.Is(err, ocir.ErrTransient) || ctx.Err() != nil {
		t.Fatalf("Credential = %v (caller's context: %v); want a transient error ended by OCIR_TIMEOUT", err, ctx.Err())
	}
}

func TestNewFromEnvLogsLikeTheBinaries(t *testing.T) {
	w := newEnvWorld(t)
	logFile := filepath.Join(w.dir, "helper.log")
	w.env["OCIR_LOG_FILE"] = logFile
	w.env["OCIR_LOG_LEVEL"] = "debug"
	w.env["OCIR_CACHE_DIR"] = filepath.Join(w.dir, "cache")
	p, err := ocir.NewFromEnv(w.getenv, ocir.WithProxy(w.e.Proxy))
	if err != nil {
		t.Fatal(err)
	}
	cred, err := p.Credential(context.Background(), "iad.ocir.io")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "level=DEBUG") || strings.Contains(string(raw), cred.Secret) {
		t.Errorf("log file holds no debug line or holds the token:\n%s", raw)
	}
	if fi, err := os.Stat(logFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	// A log file that cannot be opened costs nothing but the file.
	w.env["OCIR_LOG_FILE"] = filepath.Join(w.dir, "no-such-dir", "helper.log")
	w.env["OCIR_LOG_LEVEL"] = "error"
	p, err = ocir.NewFromEnv(w.getenv, ocir.WithProxy(w.e.Proxy))
	if err != nil {
		t.Fatalf("NewFromEnv with an unopenable log file: %v", err)
	}
	defer p.Close()
	if _, err := p.Credential(context.Background(), "iad.ocir.io"); err != nil {
		t.Fatal(err)
	}
}

// The binaries load the config file and make the logger themselves (to
// report problems their own way) and hand them in: NewFromSettings then
// neither reads OCIR_CONFIG nor opens OCIR_LOG_FILE.
func TestNewFromSettingsUsesTheCallersConfigAndLogger(t *testing.T) {
	w := newEnvWorld(t)
	logFile := filepath.Join(w.dir, "helper.log")
	w.env["OCIR_CONFIG"] = "/nonexistent/config.yaml"
	w.env["OCIR_LOG_FILE"] = logFile
	s, err := config.FromEnv(w.getenv)
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	p, err := ocir.NewFromSettings(s, ocir.WithConfig(&config.File{}), ocir.WithGetenv(w.getenv), ocir.WithProxy(w.e.Proxy),
		ocir.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatalf("NewFromSettings read the config file it was given: %v", err)
	}
	defer p.Close()
	if _, err := p.Credential(context.Background(), "iad.ocir.io"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(logFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OCIR_LOG_FILE was opened although a logger was given: %v", err)
	}
	if !strings.Contains(logs.String(), "new token") {
		t.Errorf("the given logger got no new-token line: %q", logs.String())
	}
}

// A nil config is "no config file", not a provider that fails at its
// first lookup.
func TestWithConfigNilMeansNoConfigFile(t *testing.T) {
	w := newEnvWorld(t)
	w.env["OCIR_CONFIG"] = "/nonexistent/config.yaml"
	s, err := config.FromEnv(w.getenv)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ocir.NewFromSettings(s, ocir.WithConfig(nil), ocir.WithGetenv(w.getenv), ocir.WithProxy(w.e.Proxy))
	if err != nil {
		t.Fatalf("NewFromSettings with a nil config read a config file: %v", err)
	}
	defer p.Close()
	cred, err := p.Credential(context.Background(), "iad.ocir.io")
	if err != nil || cred.Secret == "" {
		t.Fatalf("Credential with a nil config: %v", err)
	}
}
