package ocir

// End-to-end tests of the provider against the strict OCI emulator: every
// request is signed for real and verified by the emulator. The SDK reads
// process environment, so these tests set it and never run in parallel.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

// helperProcessEnv marks a re-executed test binary acting as one
// credential-helper process in the cross-process tests.
const helperProcessEnv = "OCIR_TEST_HELPER_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(helperProcessEnv) != "" {
		os.Exit(helperProcess())
	}
	if os.Getenv(ecProbeEnv) != "" {
		os.Exit(printECConfig())
	}
	os.Exit(m.Run())
}

// helperProcess gets one credential with the process environment and
// prints it as JSON, like a front end would.
func helperProcess() int {
	p := New(WithCacheDir(os.Getenv("OCIR_CACHE_DIR")), WithTimeout(30*time.Second))
	c, err := p.Credential(context.Background(), os.Getenv(helperProcessEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = json.NewEncoder(os.Stdout).Encode(c)
	return 0
}

// world is an emulator plus a process environment pointing at it.
type world struct {
	e        *emulator.Emulator
	home     string
	cacheDir string
}

func startWorld(t *testing.T) *world {
	t.Helper()
	e, dir := emulatortest.Start(t)
	w := &world{e: e, home: filepath.Join(dir, "home"), cacheDir: filepath.Join(dir, "cache")}
	if err := os.MkdirAll(w.home, 0o700); err != nil {
		t.Fatal(err)
	}
	// A clean slate: nothing from the developer's machine leaks in.
	for _, k := range []string{"OCI_CLI_AUTH", "OCI_CLI_PROFILE", "OCI_CONFIG_FILE", "OCI_CLI_USER", "OCI_CLI_KEY_FILE",
		"OCI_CLI_KEY_CONTENT", "OCI_CLI_TENANCY", "OCI_CLI_FINGERPRINT", "OCI_RESOURCE_PRINCIPAL_VERSION",
		"OCI_RESOURCE_PRINCIPAL_RPST", "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", "OCI_RESOURCE_PRINCIPAL_REGION",
		"KUBERNETES_SERVICE_HOST", "OCI_REGION_METADATA", "HTTP_PROXY", "http_proxy", "https_proxy", "no_proxy", "OCI_METADATA_BASE_URL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", w.home)
	for _, kv := range e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "OCI_METADATA_BASE_URL" {
			continue // only where a test wants an instance
		}
		t.Setenv(k, v)
	}
	return w
}

func (w *world) provider(opts ...Option) *Provider {
	return New(append([]Option{WithCacheDir(w.cacheDir), WithTimeout(10 * time.Second), withDMIPath(filepath.Join(w.home, "no-dmi")), WithProxy(w.e.Proxy)}, opts...)...)
}

// cache is a cache over the world's cache directory, as another process
// sees it.
func (w *world) cache() *fileCache {
	return newFileCache(w.cacheDir, slog.New(slog.DiscardHandler), time.Now)
}

func mustCredential(t *testing.T, p *Provider, serverURL string) Credential {
	t.Helper()
	c, err := p.Credential(context.Background(), serverURL)
	if err != nil {
		t.Fatalf("Credential(%s): %v", serverURL, err)
	}
	if c.Username != "BEARER_TOKEN" || c.Secret == "" {
		t.Fatalf("Credential(%s) = %+v", serverURL, c)
	}
	return c
}

func TestAPIKeyProfileTokenIsSignedAndCached(t *testing.T) {
	w := startWorld(t)
	p := w.provider()
	start := time.Now()
	c := mustCredential(t, p, "https://IAD.ocir.io/v2/")
	if c.Registry != "iad.ocir.io" {
		t.Errorf("registry = %q", c.Registry)
	}
	if d := c.ExpiresAt.Sub(start); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("expires in %v, want about 1h", d)
	}
	if n := w.e.Count("token"); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
	// Same process: memory. New process (new Provider): disk. Neither calls OCI.
	if c2 := mustCredential(t, p, "iad.ocir.io/demotenancy/hello"); c2.Secret != c.Secret {
		t.Error("memory cache miss")
	}
	if c3 := mustCredential(t, w.provider(), "iad.ocir.io:443"); c3.Secret != c.Secret {
		t.Error("disk cache miss")
	}
	if n := w.e.Count("token"); n != 1 {
		t.Errorf("token requests after cache hits = %d, want 1", n)
	}
	// The other host form is a different registry: its own token.
	mustCredential(t, p, "ocir.us-ashburn-1.oci.oraclecloud.com")
	if n := w.e.CountHost("token", "ocir.us-ashburn-1.oci.oraclecloud.com"); n != 1 {
		t.Errorf("token requests for domain form = %d, want 1", n)
	}
	// Cache file is private.
	files, _ := filepath.Glob(filepath.Join(w.cacheDir, "iad.ocir.io-*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files = %v", files)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(files[0])
		di, _ := os.Stat(w.cacheDir)
		if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
			t.Errorf("modes file %v dir %v", fi.Mode().Perm(), di.Mode().Perm())
		}
	}
}

func TestNotOCIRHostsAreNeverSignedFor(t *testing.T) {
	w := startWorld(t)
	p := w.provider()
	for _, u := range []string{"docker.io", "ghcr.io/x/y", "iad.ocir.io.evil.test", "evil.test/iad.ocir.io", "", "::::"} {
		_, err := p.Credential(context.Background(), u)
		if !errors.Is(err, ErrNotOCIRHost) {
			t.Errorf("Credential(%q) err = %v, want ErrNotOCIRHost", u, err)
		}
	}
	if n := w.e.Count("token-attempts"); n != 0 {
		t.Errorf("token attempts = %d, want 0", n)
	}
}

func TestSessionTokenProfile(t *testing.T) {
	w := startWorld(t)
	sp, err := w.e.NewSessionToken("SESSION", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCI_CLI_PROFILE", sp.Profile)
	mustCredential(t, w.provider(), "iad.ocir.io")
	if n := w.e.Count("token"); n != 1 {
		t.Errorf("token requests = %d", n)
	}
}

func TestExpiredSessionTokenSaysRefresh(t *testing.T) {
	w := startWorld(t)
	sp, err := w.e.NewSessionToken("OLD", -time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCI_CLI_PROFILE", sp.Profile)
	_, err = w.provider().Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrIdentityBroken) || !strings.Contains(err.Error(), "oci session refresh --profile OLD") {
		t.Errorf("err = %v", err)
	}
}

func TestInstancePrincipalFederatesOnce(t *testing.T) {
	w := startWorld(t)
	t.Setenv("OCI_METADATA_BASE_URL", w.e.MetadataURL())
	t.Setenv("OCI_CLI_CONFIG_FILE", "") // no profile: auto falls to the instance
	os.Unsetenv("OCI_CLI_CONFIG_FILE")
	p := w.provider()
	ex, err := p.Explain(context.Background(), "iad.ocir.io")
	if err != nil || ex.Auth != AuthInstancePrincipal || !ex.Metadata.Reachable {
		t.Fatalf("Explain = %+v, %v", ex, err)
	}
	mustCredential(t, p, "iad.ocir.io")
	mustCredential(t, p, "ocir.us-ashburn-1.oci.oraclecloud.com")
	if f, tok := w.e.Count("federation"), w.e.Count("token"); f != 1 || tok != 2 {
		t.Errorf("federation = %d token = %d, want 1 and 2", f, tok)
	}
}

func TestResourcePrincipal(t *testing.T) {
	w := startWorld(t)
	rpst, pemKey, err := w.e.NewResourcePrincipal(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
	t.Setenv("OCI_RESOURCE_PRINCIPAL_RPST", rpst)
	t.Setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", pemKey)
	t.Setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1")
	p := w.provider()
	id, err := p.resolveIdentity(iad, &request{})
	if err != nil || id.auth != AuthResourcePrincipal {
		t.Fatalf("identity = %+v, %v", id, err)
	}
	mustCredential(t, p, "iad.ocir.io")
}

func TestEnvAPIKey(t *testing.T) {
	w := startWorld(t)
	k, err := w.e.NewAPIKey("ci")
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := os.ReadFile(k.KeyFile)
	t.Setenv("OCI_CLI_CONFIG_FILE", filepath.Join(w.home, "absent"))
	os.Unsetenv("OCI_CLI_CONFIG_FILE")
	t.Setenv("OCI_CLI_USER", k.User)
	t.Setenv("OCI_CLI_TENANCY", k.Tenancy)
	t.Setenv("OCI_CLI_FINGERPRINT", k.Fingerprint)
	t.Setenv("OCI_CLI_KEY_CONTENT", string(pemKey))
	t.Setenv("OCI_CLI_REGION", "us-ashburn-1")
	mustCredential(t, w.provider(), "iad.ocir.io")
}

func TestEncryptedKeyNeedsPassPhrase(t *testing.T) {
	w := startWorld(t)
	k, err := w.e.NewAPIKeyWithPassphrase("enc", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	k.Passphrase = ""
	if err := w.e.WriteProfile("ENC", k); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCI_CLI_PROFILE", "ENC")
	_, err = w.provider().Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrIdentityBroken) || !strings.Contains(err.Error(), "encrypted") {
		t.Fatalf("without pass_phrase: %v", err)
	}
	k.Passphrase = "s3cret"
	if err := w.e.WriteProfile("ENC2", k); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCI_CLI_PROFILE", "ENC2")
	mustCredential(t, w.provider(), "iad.ocir.io")
}

func TestTokenErrorMatrix(t *testing.T) {
	tests := []struct {
		name     string
		fault    *emulator.Fault
		setup    func(w *world) []Option
		kind     error
		want     string
		attempts int // token-attempts expected; 0 = don't check
	}{
		{name: "clock skew", setup: func(w *world) []Option {
			return []Option{withClock(func() time.Time { return time.Now().Add(-10 * time.Minute) })}
		}, kind: ErrAuth, want: "clock", attempts: 1},
		{name: "unknown key", setup: func(w *world) []Option {
			k, _ := w.e.NewAPIKey("revoked")
			w.e.RevokeAPIKey(k)
			_ = w.e.WriteProfile("REVOKED", k)
			os.Setenv("OCI_CLI_PROFILE", "REVOKED")
			return nil
		}, kind: ErrAuth, want: "public key is uploaded", attempts: 1},
		{name: "403", fault: &emulator.Fault{Endpoint: "token", Status: 403}, kind: ErrAuth, want: "IAM", attempts: 1},
		{name: "404", fault: &emulator.Fault{Endpoint: "token", Status: 404}, kind: ErrAuth, want: "HTTP 404", attempts: 1},
		{name: "500 forever", fault: &emulator.Fault{Endpoint: "token", Status: 500}, kind: ErrTransient, want: "HTTP 500"},
		{name: "malformed body", fault: &emulator.Fault{Endpoint: "token", Status: 200, Body: "{not json"}, kind: ErrTransient, want: "not valid JSON", attempts: 1},
		{name: "empty token", fault: &emulator.Fault{Endpoint: "token", Status: 200, Body: `{"expires_in":3600}`}, kind: ErrTransient, want: "neither token"},
		{name: "hang hits deadline", fault: &emulator.Fault{Endpoint: "token", Hang: true}, setup: func(*world) []Option {
			return []Option{WithTimeout(1500 * time.Millisecond)}
		}, kind: ErrTransient, want: "OCIR_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorld(t)
			var opts []Option
			if tt.setup != nil {
				opts = tt.setup(w)
			}
			if tt.fault != nil {
				w.e.AddFault(*tt.fault)
			}
			_, err := w.provider(append([]Option{WithTimeout(3 * time.Second)}, opts...)...).Credential(context.Background(), "iad.ocir.io")
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v; want kind %v containing %q", err, tt.kind, tt.want)
			}
			var oe *Error
			if errors.As(err, &oe) && tt.fault != nil && tt.fault.Status != 0 && oe.RequestID == "" {
				t.Errorf("no opc-request-id in %v", err)
			}
			if tt.attempts > 0 {
				if n := w.e.Count("token-attempts"); n != tt.attempts {
					t.Errorf("token attempts = %d, want %d (only 429/5xx/network are retried)", n, tt.attempts)
				}
			}
		})
	}
}

func TestRetriesThrottlingAndServerErrors(t *testing.T) {
	for _, status := range []int{429, 500, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			w := startWorld(t)
			w.e.AddFault(emulator.Fault{Endpoint: "token", Status: status, Count: 2, Header: map[string]string{"Retry-After": "1"}})
			start := time.Now()
			mustCredential(t, w.provider(), "iad.ocir.io")
			if n := w.e.Count("token-attempts"); n != 3 {
				t.Errorf("attempts = %d, want 3", n)
			}
			if d := time.Since(start); d < 2*time.Second {
				t.Errorf("finished in %v: Retry-After: 1 was not honoured", d)
			}
		})
	}
}

// fakeClock is a settable clock; the emulator's clock is moved with it so
// signatures stay within the allowed skew.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(w *world, d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	off := time.Until(c.t)
	c.mu.Unlock()
	w.e.SetClockOffset(off)
}

func TestCacheRefreshMarginAndStaleWhileValid(t *testing.T) {
	w := startWorld(t)
	clk := &fakeClock{t: time.Now()}
	p := w.provider(withClock(clk.now))
	first := mustCredential(t, p, "iad.ocir.io")

	clk.advance(w, 40*time.Minute) // 20 min left > 15 min margin: cached
	if c := mustCredential(t, p, "iad.ocir.io"); c.Secret != first.Secret || w.e.Count("token") != 1 {
		t.Fatalf("refreshed too early (token requests %d)", w.e.Count("token"))
	}
	clk.advance(w, 6*time.Minute) // 14 min left < 15 min margin: refresh
	second := mustCredential(t, p, "iad.ocir.io")
	if second.Secret == first.Secret || w.e.Count("token") != 2 {
		t.Fatalf("not refreshed inside the margin (token requests %d)", w.e.Count("token"))
	}

	// Refresh fails while the cached token is still valid: serve it.
	clk.advance(w, 50*time.Minute) // second token has 10 min left
	w.e.AddFault(emulator.Fault{Endpoint: "token", Status: 500})
	if c, err := w.provider(withClock(clk.now), WithTimeout(time.Second)).Credential(context.Background(), "iad.ocir.io"); err != nil || c.Secret != second.Secret {
		t.Fatalf("stale-while-valid: %+v, %v", c, err)
	}
	// Once expired it is never served.
	clk.advance(w, 11*time.Minute)
	if c, err := w.provider(withClock(clk.now), WithTimeout(time.Second)).Credential(context.Background(), "iad.ocir.io"); err == nil {
		t.Fatalf("served an expired token %+v", c)
	}
}

func TestCorruptForeignOrLooseCacheFilesAreReplaced(t *testing.T) {
	tamper := map[string]func(t *testing.T, path string){
		"garbage":      func(t *testing.T, path string) { os.WriteFile(path, []byte("{garbage"), 0o600) },
		"truncated":    func(t *testing.T, path string) { os.Truncate(path, 10) },
		"wrong format": func(t *testing.T, path string) { rewrite(t, path, func(m map[string]any) { m["format"] = 99 }) },
		"other registry": func(t *testing.T, path string) {
			rewrite(t, path, func(m map[string]any) { m["registry"] = "fra.ocir.io" })
		},
		"world readable": func(t *testing.T, path string) { os.Chmod(path, 0o644) },
		"symlink":        func(t *testing.T, path string) { os.Rename(path, path+".real"); os.Symlink(path+".real", path) },
		"expiry in past": func(t *testing.T, path string) {
			rewrite(t, path, func(m map[string]any) { m["expiresAt"] = "2000-01-01T00:00:00Z" })
		},
		"empty token":     func(t *testing.T, path string) { rewrite(t, path, func(m map[string]any) { m["token"] = "" }) },
		"replaced by dir": func(t *testing.T, path string) { os.Remove(path); os.Mkdir(path, 0o700) },
	}
	for name, fn := range tamper {
		t.Run(name, func(t *testing.T) {
			if runtime.GOOS == "windows" && (name == "world readable" || name == "symlink") {
				t.Skip("POSIX only")
			}
			w := startWorld(t)
			first := mustCredential(t, w.provider(), "iad.ocir.io")
			files, _ := filepath.Glob(filepath.Join(w.cacheDir, "iad.ocir.io-*.json"))
			if len(files) != 1 {
				t.Fatalf("files %v", files)
			}
			fn(t, files[0])
			c := mustCredential(t, w.provider(), "iad.ocir.io")
			if c.Secret == first.Secret || w.e.Count("token") != 2 {
				t.Fatalf("tampered cache was trusted (token requests %d)", w.e.Count("token"))
			}
			if name == "replaced by dir" {
				return // cannot rename over a directory: memory only, still answered
			}
			fi, err := os.Lstat(files[0])
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("cache file not replaced by a private regular file: %v %v", fi, err)
			}
		})
	}
}

func rewrite(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestUnusableCacheDirDegradesToMemory(t *testing.T) {
	w := startWorld(t)
	file := filepath.Join(w.home, "file")
	os.WriteFile(file, nil, 0o600)
	dirs := map[string]string{"under a regular file": filepath.Join(file, "cache")}
	if os.Geteuid() != 0 && runtime.GOOS != "windows" {
		ro := filepath.Join(w.home, "ro")
		os.Mkdir(ro, 0o500)
		dirs["read-only"] = filepath.Join(ro, "cache")
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			w.e.ResetCounters()
			p := w.provider(WithCacheDir(dir))
			a := mustCredential(t, p, "iad.ocir.io")
			b := mustCredential(t, p, "iad.ocir.io")
			if a.Secret != b.Secret || w.e.Count("token") != 1 {
				t.Errorf("memory cache not used (token requests %d)", w.e.Count("token"))
			}
			if l, err := p.List(); err != nil || len(l) != 1 {
				t.Errorf("List = %v, %v", l, err)
			}
		})
	}
}

func TestCacheOffAlwaysFetches(t *testing.T) {
	w := startWorld(t)
	p := w.provider(WithCache(false))
	mustCredential(t, p, "iad.ocir.io")
	mustCredential(t, p, "iad.ocir.io")
	if n := w.e.Count("token"); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	if _, err := os.Stat(w.cacheDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cache dir created with cache off: %v", err)
	}
}

func TestListClearDrop(t *testing.T) {
	w := startWorld(t)
	p := w.provider()
	mustCredential(t, p, "iad.ocir.io")
	mustCredential(t, p, "ocir.us-ashburn-1.oci.oraclecloud.com")
	l, err := w.provider().List()
	if err != nil || len(l) != 2 || l[0].Registry != "iad.ocir.io" || l[0].Path == "" {
		t.Fatalf("List = %+v, %v", l, err)
	}
	if err := p.Drop("https://iad.ocir.io/v2/"); err != nil {
		t.Fatal(err)
	}
	if l, _ := w.provider().List(); len(l) != 1 || l[0].Registry != "ocir.us-ashburn-1.oci.oraclecloud.com" {
		t.Fatalf("after Drop: %+v", l)
	}
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	if l, _ := p.List(); len(l) != 0 {
		t.Fatalf("after Clear: %+v", l)
	}
	if err := p.Drop("docker.io"); !errors.Is(err, ErrNotOCIRHost) {
		t.Errorf("Drop(docker.io) = %v", err)
	}
}

// helperProcesses starts n copies of the test binary at once, each acting
// as one credential-helper process for iad.ocir.io with w's cache, and
// returns the credential each printed; any failure ends the test.
func helperProcesses(t *testing.T, w *world, n int) []Credential {
	t.Helper()
	creds := make([]Credential, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperProcessEnv+"=iad.ocir.io", "OCIR_CACHE_DIR="+w.cacheDir)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("%v: %s", err, stderr.String())
			case json.Unmarshal(out, &creds[i]) != nil || creds[i].Secret == "":
				errs[i] = fmt.Errorf("printed %q", out)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	return creds
}

func TestConcurrentProcessesMakeOneTokenRequest(t *testing.T) {
	w := startWorld(t)
	w.e.AddFault(emulator.Fault{Endpoint: "token", Delay: 300 * time.Millisecond}) // widen the race window
	const n = 8
	creds := helperProcesses(t, w, n)
	for i, c := range creds[1:] {
		if c.Secret != creds[0].Secret {
			t.Errorf("process %d got a different token", i+1)
		}
	}
	if got := w.e.Count("token-attempts"); got != 1 {
		t.Errorf("token requests from %d processes = %d, want 1", n, got)
	}
}

func TestConcurrentInstancePrincipalProcessesFederateOnce(t *testing.T) {
	w := startWorld(t)
	t.Setenv("OCI_METADATA_BASE_URL", w.e.MetadataURL())
	os.Unsetenv("OCI_CLI_CONFIG_FILE")
	helperProcesses(t, w, 6)
	if f, tok := w.e.Count("federation"), w.e.Count("token-attempts"); f != 1 || tok != 1 {
		t.Errorf("federation = %d, token = %d; want 1 and 1", f, tok)
	}
}

func TestMetadataProbeGivesUpAndRemembers(t *testing.T) {
	// A listener that accepts and never answers: the probe must give up on
	// its own deadline, not the SDK's two minutes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	accepted := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			mu.Unlock()
			defer c.Close()
		}
	}()
	home := t.TempDir()
	env := map[string]string{"HOME": home, "OCI_METADATA_BASE_URL": "http://" + ln.Addr().String() + "/opc/v2"}
	clk := &fakeClock{t: time.Now()}
	newP := func() *Provider {
		return New(WithGetenv(func(k string) string { return env[k] }), WithCacheDir(filepath.Join(home, "cache")), withClock(clk.now), withDMIPath(filepath.Join(home, "none")))
	}
	_, err = newP().Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "no answer within 1s") {
		t.Fatalf("err = %v", err)
	}
	// A new process within five minutes trusts the remembered answer.
	clk.t = clk.t.Add(4 * time.Minute)
	if _, err := newP().Credential(context.Background(), "iad.ocir.io"); !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "remembered") {
		t.Fatalf("second err = %v", err)
	}
	mu.Lock()
	if accepted != 1 {
		t.Errorf("connections = %d, want 1 (negative answer not remembered)", accepted)
	}
	mu.Unlock()
	// After five minutes it probes again.
	clk.t = clk.t.Add(2 * time.Minute)
	newP().Credential(context.Background(), "iad.ocir.io")
	mu.Lock()
	defer mu.Unlock()
	if accepted != 2 {
		t.Errorf("connections = %d, want 2 after the memo expired", accepted)
	}
}

func TestLaptopNeverProbesMetadata(t *testing.T) {
	home := t.TempDir()
	p := New(WithGetenv(func(k string) string { return map[string]string{"HOME": home}[k] }), WithCacheDir(""), withDMIPath(filepath.Join(home, "none")))
	start := time.Now()
	_, err := p.Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("err = %v", err)
	}
	if _, probed := p.cache.recall(metadataMemoFile, p.metadataBaseURL(), time.Minute); probed {
		t.Error("metadata service was probed on a machine that is not an OCI instance")
	}
	_ = start
}

func TestMirrorUsesConfiguredTokenURL(t *testing.T) {
	w := startWorld(t)
	p := w.provider(WithConfig(mustConfig(t, "mirrors:\n  - host: mirror.internal:5000\n    tokenURL: https://iad.ocir.io/20180419/docker/token\n")))
	c := mustCredential(t, p, "mirror.internal:5000")
	if c.Registry != "mirror.internal:5000" || w.e.CountHost("token", "iad.ocir.io") != 1 {
		t.Errorf("mirror credential %+v, token requests at iad %d", c, w.e.CountHost("token", "iad.ocir.io"))
	}
}

// startOKEWorld starts an emulator with the OKE proxymux and points the
// process at it as a pod with workload identity; it returns the emulator
// and a private directory.
func startOKEWorld(t *testing.T) (*emulator.Emulator, string) {
	t.Helper()
	dir := t.TempDir()
	// The proxymux port is fixed (12250), so each test package that runs
	// one uses its own loopback address: go test runs packages in
	// parallel (test/emulator uses 127.0.0.2, test/kubelet 127.0.0.3).
	const okeHost = "127.0.0.4"
	e, err := emulator.Start(emulator.Options{Dir: dir, OKEHost: okeHost})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("start emulator with OKE proxymux: %v", err)
		}
		t.Skipf("SKIPPED LOUDLY: cannot serve the OKE proxymux on %s:12250 here: %v", okeHost, err)
	}
	t.Cleanup(func() { e.Close() })
	for _, kv := range e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("HOME", dir)
	t.Setenv("OCI_CLI_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("OCI_METADATA_BASE_URL", "")
	os.Unsetenv("OCI_METADATA_BASE_URL")
	t.Setenv("KUBERNETES_SERVICE_HOST", okeHost)
	t.Setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
	t.Setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1")
	t.Setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", e.OKECAFile())
	return e, dir
}

func TestOKEWorkloadIdentityPerRequestToken(t *testing.T) {
	e, dir := startOKEWorld(t)
	p := New(WithCacheDir(filepath.Join(dir, "cache")), WithTimeout(10*time.Second), WithProxy(e.Proxy))
	alice := e.NewServiceAccountToken("team-a", "puller", time.Hour)
	bob := e.NewServiceAccountToken("team-b", "puller", time.Hour)
	a, err := p.Credential(context.Background(), "iad.ocir.io", WithServiceAccountToken(alice, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Credential(context.Background(), "iad.ocir.io", WithServiceAccountToken(bob, nil))
	if err != nil {
		t.Fatal(err)
	}
	if a.Secret == b.Secret {
		t.Error("two service accounts share one cached token")
	}
	// A rotated token for the same service account reuses the cache entry.
	again := e.NewServiceAccountToken("team-a", "puller", 2*time.Hour)
	if c, err := p.Credential(context.Background(), "iad.ocir.io", WithServiceAccountToken(again, nil)); err != nil || c.Secret != a.Secret {
		t.Errorf("rotated SA token missed the cache: %v", err)
	}
	if n, tok := e.Count("oke"), e.Count("token"); n != 2 || tok != 2 {
		t.Errorf("oke exchanges = %d, token requests = %d; want 2 and 2", n, tok)
	}
	// A deleted and recreated account of the same name is another
	// principal (its UID differs): it must not get the old account's token.
	e.RecreateServiceAccount("team-a", "puller")
	reborn := e.NewServiceAccountToken("team-a", "puller", time.Hour)
	if c, err := p.Credential(context.Background(), "iad.ocir.io", WithServiceAccountToken(reborn, nil)); err != nil || c.Secret == a.Secret {
		t.Errorf("recreated service account got the old account's token: %v", err)
	}
	// A token the proxymux does not accept is an auth error, not a panic.
	if _, err := p.Credential(context.Background(), "fra.ocir.io", WithServiceAccountToken("a.b.c", nil)); err == nil {
		t.Error("garbage service-account token accepted")
	}
}

func TestExistingLooseCacheDirIsNeitherChangedNorCleared(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	w := startWorld(t)
	shared := filepath.Join(w.home, "shared")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o777|os.ModeSticky)
	foreign := filepath.Join(shared, "config.json")
	os.WriteFile(foreign, []byte(`{"auths":{}}`), 0o600)
	p := w.provider(WithCacheDir(shared))
	mustCredential(t, p, "iad.ocir.io")
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(shared)
	if fi.Mode()&os.ModePerm != 0o777 || fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("shared directory mode changed to %v", fi.Mode())
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("Clear removed a file that is not ours: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(shared, "iad.ocir.io-*")); len(files) != 0 {
		t.Errorf("token written into a directory others can read: %v", files)
	}
}

func TestClearRemovesOnlyOurFiles(t *testing.T) {
	w := startWorld(t)
	p := w.provider()
	mustCredential(t, p, "iad.ocir.io")
	other := filepath.Join(w.cacheDir, "notes.json")
	os.WriteFile(other, []byte(`{"format":1}`), 0o600)
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("Clear removed %s: %v", other, err)
	}
	if files, _ := filepath.Glob(filepath.Join(w.cacheDir, "iad.ocir.io-*.json")); len(files) != 0 {
		t.Errorf("Clear left %v", files)
	}
}

func TestHugeRetryAfterDoesNotSpin(t *testing.T) {
	w := startWorld(t)
	w.e.AddFault(emulator.Fault{Endpoint: "token", Status: 429, Header: map[string]string{"Retry-After": "99999999999"}})
	_, err := w.provider(WithTimeout(2*time.Second)).Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("err = %v", err)
	}
	if n := w.e.Count("token-attempts"); n != 1 {
		t.Errorf("attempts = %d, want 1 (the wait exceeds the deadline)", n)
	}
}

func TestMirrorTokenURLMustBeOCIR(t *testing.T) {
	w := startWorld(t)
	p := w.provider(WithConfig(mustConfig(t, "mirrors:\n  - host: mirror.internal:5000\n    tokenURL: https://evil.example/20180419/docker/token\n")))
	_, err := p.Credential(context.Background(), "mirror.internal:5000")
	if !errors.Is(err, ErrNotOCIRHost) || !strings.Contains(err.Error(), "refusing to sign") {
		t.Fatalf("err = %v", err)
	}
	if n := w.e.Count("token-attempts"); n != 0 {
		t.Errorf("signed %d requests", n)
	}
}

func TestProbeCutShortByCallerIsNotRemembered(t *testing.T) {
	w := startWorld(t)
	t.Setenv("OCI_METADATA_BASE_URL", w.e.MetadataURL())
	w.e.AddFault(emulator.Fault{Endpoint: "imds", Delay: 500 * time.Millisecond, Count: 1})
	p := w.provider()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := p.probeMetadata(ctx, true); err == nil {
		t.Fatal("probe succeeded despite the caller's deadline")
	}
	if _, ok := w.cache().recall(metadataMemoFile, w.e.MetadataURL(), time.Minute); ok {
		t.Error("a probe cut short by the caller was remembered as 'no metadata service'")
	}
}

func TestQuickFailuresAreNotRemembered(t *testing.T) {
	w := startWorld(t)
	w.e.AddFault(emulator.Fault{Endpoint: "token", Status: 404, Count: 1})
	if _, err := w.provider().Credential(context.Background(), "iad.ocir.io"); err == nil {
		t.Fatal("404 succeeded")
	}
	mustCredential(t, w.provider(), "iad.ocir.io")
}
