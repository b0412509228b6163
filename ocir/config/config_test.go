package config

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvDefaults(t *testing.T) {
	s, err := FromEnv(envOf(map[string]string{"HOME": "/home/u"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Timeout != 20*time.Second || !s.Cache || s.LogLevel != slog.LevelWarn || s.ConfigExplicit {
		t.Errorf("defaults = %+v", s)
	}
	if runtime.GOOS == "linux" {
		if s.CacheDir != "/home/u/.cache/ocir-credential-helper" || s.ConfigPath != "/home/u/.config/ocir-credential-helper/config.yaml" {
			t.Errorf("paths = %q %q", s.CacheDir, s.ConfigPath)
		}
	}
}

func TestFromEnvWithoutHomeUsesSystemCache(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no system cache fallback on windows")
	}
	s, err := FromEnv(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.CacheDir != SystemCacheDir || s.ConfigPath != "" {
		t.Errorf("no-home settings = %+v", s)
	}
}

func TestFromEnvParsesEveryVariable(t *testing.T) {
	s, err := FromEnv(envOf(map[string]string{
		"OCIR_TIMEOUT": "7", "OCIR_CACHE": "off", "OCIR_CACHE_DIR": "/c", "OCIR_CONFIG": "/x.yaml",
		"OCIR_LOG_LEVEL": "DEBUG", "OCIR_LOG_FILE": "/l",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Timeout != 7*time.Second || s.Cache || s.CacheDir != "/c" || s.ConfigPath != "/x.yaml" || !s.ConfigExplicit || s.LogLevel != slog.LevelDebug || s.LogFile != "/l" {
		t.Errorf("settings = %+v", s)
	}
}

func TestFromEnvRejectsInvalidValues(t *testing.T) {
	for k, v := range map[string]string{"OCIR_TIMEOUT": "soon", "OCIR_CACHE": "maybe", "OCIR_LOG_LEVEL": "loud"} {
		_, err := FromEnv(envOf(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err = %v, want an error naming the variable", k, v, err)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	good := map[string]time.Duration{"20s": 20 * time.Second, "20": 20 * time.Second, "1.5": 1500 * time.Millisecond, "2m": 2 * time.Minute}
	for in, want := range good {
		if got, err := ParseTimeout(in); err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "-5s", "abc", "1e12", "NaN"} {
		if got, err := ParseTimeout(in); err == nil {
			t.Errorf("ParseTimeout(%q) = %v, want error", in, got)
		}
	}
}

func TestParseConfigFile(t *testing.T) {
	f, err := Parse([]byte(`
registries:
  - match: "*.ocir.io"
    auth: api_key
    profile: PROD
  - match: "ocir.*.oci.oraclegovcloud.com"
    auth: instance_principal
mirrors:
  - host: "mirror.internal:5000"
    tokenURL: "https://iad.ocir.io/20180419/docker/token"
  - host: "127.0.0.1:5001"
    tokenURL: "http://127.0.0.1:9999/20180419/docker/token"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Registries) != 2 || f.Registries[0].Profile != "PROD" || len(f.Mirrors) != 2 || f.Mirrors[0].Host != "mirror.internal:5000" {
		t.Errorf("parsed %+v", f)
	}
}

func TestParseConfigFileRejectsMistakes(t *testing.T) {
	tests := map[string]struct{ yaml, want string }{
		"unknown key names key and line": {"registries:\n  - match: a\n    auth: api_key\n    profle: X\n", "line 4: field profle not found"},
		"unknown top-level key":          {"registry: []\n", "field registry not found"},
		"bad auth":                       {"registries:\n  - match: a\n    auth: password\n", `auth "password"`},
		"missing match":                  {"registries:\n  - auth: api_key\n", "match is required"},
		"profile with principal":         {"registries:\n  - match: a\n    auth: instance_principal\n    profile: X\n", "profile only applies"},
		"plain http off loopback":        {"mirrors:\n  - host: m\n    tokenURL: http://10.0.0.1/t\n", "only allowed on loopback"},
		"relative token url":             {"mirrors:\n  - host: m\n    tokenURL: /t\n", "not an absolute URL"},
		"duplicate mirror":               {"mirrors:\n  - {host: m, tokenURL: 'https://a/t'}\n  - {host: M, tokenURL: 'https://a/t'}\n", "duplicate"},
		"two documents":                  {"mirrors: []\n---\nmirrors: []\n", "more than one document"},
		"not yaml":                       {"registries: [\n", "invalid YAML"},
		"wrong type":                     {"registries: 5\n", "invalid YAML"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.yaml")
	if f, err := Load(path, false); err != nil || len(f.Registries) != 0 {
		t.Errorf("implicit missing file: %+v, %v", f, err)
	}
	if _, err := Load(path, true); !errors.Is(err, ErrConfigNotFound) {
		t.Errorf("explicit missing file: err = %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("nope: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad, false); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("broken file: err = %v, want it to name the file", err)
	}
}

func TestLoggerWritesFileWithPrivateMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.txt")
	var buf strings.Builder
	log, closer, err := Settings{LogLevel: slog.LevelInfo, LogFile: path}.Logger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hello")
	log.Debug("hidden")
	closer.Close()
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), "hello") || strings.Contains(string(raw), "hidden") || !strings.Contains(buf.String(), "hello") {
		t.Errorf("file %q stderr %q", raw, buf.String())
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v", fi.Mode().Perm())
	}
}

// TestLoggerRefusesARelativeLogFile: the helper runs in its clients'
// working directories, so a relative log file is not opened there; the
// logger still writes to stderr and the error says why.
func TestLoggerRefusesARelativeLogFile(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	var buf strings.Builder
	log, closer, err := Settings{LogLevel: slog.LevelInfo, LogFile: "log.txt"}.Logger(&buf)
	defer closer.Close()
	if !errors.Is(err, userfile.ErrNotAbsolute) || !strings.Contains(err.Error(), `OCIR_LOG_FILE: "log.txt" is not an absolute path`) {
		t.Errorf("err = %v", err)
	}
	log.Info("hello")
	if !strings.Contains(buf.String(), "hello") {
		t.Errorf("nothing logged to stderr: %q", buf.String())
	}
	if names, _ := os.ReadDir(cwd); len(names) != 0 {
		t.Errorf("files written in the current directory: %v", names)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("registries:\n  - match: '*.ocir.io'\n    auth: api_key\n"))
	f.Add([]byte("mirrors:\n  - host: m:5000\n    tokenURL: https://iad.ocir.io/t\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := Parse(raw)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil {
			return
		}
		// Whatever is accepted names hosts only, in ASCII.
		for _, r := range cfg.Registries {
			if strings.Contains(r.Match, "/") {
				t.Fatalf("rule with a path accepted: %q", r.Match)
			}
		}
		for _, m := range cfg.Mirrors {
			if _, err := registry.Host(m.Host); err != nil {
				t.Fatalf("mirror host %q accepted: %v", m.Host, err)
			}
			if ValidateTokenURL(m.TokenURL) != nil {
				t.Fatalf("tokenURL %q accepted", m.TokenURL)
			}
		}
		for _, h := range cfg.Hosts {
			if !registry.IsCanonical(h.Host) || strings.Contains(h.Host, ":") {
				t.Fatalf("declared host %q accepted", h.Host)
			}
		}
	})
}

func TestParseRefusesRulesThatCouldNeverMatch(t *testing.T) {
	tests := map[string]struct{ yaml, want string }{
		"namespace-scoped match names its line": {"registries:\n  - match: '*.ocir.io'\n    auth: api_key\n  - auth: api_key\n    match: iad.ocir.io/ns\n", `line 5: registries[1]: match "iad.ocir.io/ns" has a path`},
		"repository path":                       {"registries:\n  - match: iad.ocir.io/ns/app\n    auth: auto\n", "line 2: registries[0]"},
		"non-ASCII mirror host":                 {"mirrors:\n  - host: \"\\u0130ad.ocir.io\"\n    tokenURL: https://iad.ocir.io/t\n", "must be host or host:port in ASCII"},
		"non-ASCII tokenURL host":               {"mirrors:\n  - host: m\n    tokenURL: \"https://\\u0130ad.ocir.io/t\"\n", "not printable ASCII"},
		"tokenURL with user info":               {"mirrors:\n  - host: m\n    tokenURL: https://evil@iad.ocir.io/t\n", "user info"},
		"declared host with port":               {"hosts:\n  - host: us.ocir.io:8443\n    region: iad\n", "without scheme, port or path"},
		"declared host with scheme":             {"hosts:\n  - host: https://us.ocir.io\n    region: iad\n", "without scheme, port or path"},
		"declared host not ASCII":               {"hosts:\n  - host: \"u\\u017f.ocir.io\"\n    region: iad\n", "without scheme, port or path"},
		"declared host IP":                      {"hosts:\n  - host: 10.0.0.1\n    region: iad\n", "without scheme, port or path"},
		"declared host without region":          {"hosts:\n  - host: us.ocir.io\n", "region is required"},
		"declared host twice":                   {"hosts:\n  - {host: us.ocir.io, region: iad}\n  - {host: us.ocir.io, region: phx}\n", "duplicate"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	f, err := Parse([]byte("hosts:\n  - host: us.ocir.io\n    region: us-ashburn-1\n"))
	if err != nil || len(f.Hosts) != 1 || f.Hosts[0].Region != "us-ashburn-1" {
		t.Errorf("declared host: %+v, %v", f, err)
	}
}
