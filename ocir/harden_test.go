package ocir

import (
	"bufio"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// Tokens and signatures only for OCIR: every host form that is not plain
// ASCII OCIR is refused before anything is signed or sent.
func TestNoTokenOrSignatureForLookAlikeHosts(t *testing.T) {
	w := startWorld(t)
	tests := []struct {
		name      string
		serverURL string
		cfg       *config.File // built directly: bypasses config.Parse's own check
	}{
		{"dotted capital I folds to i", "\u0130ad.ocir.io", nil},
		{"Kelvin sign folds to k", "ocir.us-ashburn-1.oci.oracleclou\u212a.com", nil},
		{"long s folds to s", "https://iad.ocir.io.\u017fomewhere", nil},
		{"fullwidth letters", "\uff49\uff41\uff44.ocir.io", nil},
		{"non-ASCII in the path still poisons the input", "iad.ocir.io/\u0130", nil},
		{"percent-encoded host", "https://%69ad.ocir.io/v2/", nil},
		{"mirror tokenURL with folding host", "mirror.internal:5000",
			&config.File{Mirrors: []config.Mirror{{Host: "mirror.internal:5000", TokenURL: "https://\u0130ad.ocir.io/20180419/docker/token"}}}},
		{"mirror tokenURL with Kelvin sign", "mirror.internal:5000",
			&config.File{Mirrors: []config.Mirror{{Host: "mirror.internal:5000", TokenURL: "https://ocir.us-ashburn-1.oci.oraclecloud.com\u212a/t"}}}},
		{"mirror tokenURL loopback look-alike", "mirror.internal:5000",
			&config.File{Mirrors: []config.Mirror{{Host: "mirror.internal:5000", TokenURL: "http://localho\u017ft:1/t"}}}},
		{"mirror tokenURL with user info", "mirror.internal:5000",
			&config.File{Mirrors: []config.Mirror{{Host: "mirror.internal:5000", TokenURL: "https://evil.example@iad.ocir.io/t"}}}},
		{"fragment hiding another host after @", "iad.ocir.io#@evil.example", nil},
		{"query hiding another host after @", "https://iad.ocir.io?@evil.example", nil},
		{"query after the host", "iad.ocir.io?x", nil},
		{"declared host that is not ASCII", "\u0130ad.example.com",
			&config.File{Hosts: []config.DeclaredHost{{Host: "\u0130ad.example.com", Region: "iad"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := w.e.Count("token-attempts")
			opts := []Option{}
			if tt.cfg != nil {
				opts = append(opts, WithConfig(tt.cfg))
			}
			_, err := w.provider(opts...).Credential(context.Background(), tt.serverURL)
			if !errors.Is(err, ErrNotOCIRHost) {
				t.Errorf("err = %v, want ErrNotOCIRHost", err)
			}
			if n := w.e.Count("token-attempts") - before; n != 0 {
				t.Errorf("%d signed requests were sent", n)
			}
		})
	}
}

// A config file may declare a new OCIR host form; it is then served like a
// built-in host, and may be a mirror's tokenURL.
func TestDeclaredOCIRHostGetsTokens(t *testing.T) {
	w := startWorld(t)
	cfg := mustConfig(t, "hosts:\n  - host: us.ocir.io\n    region: us-ashburn-1\nmirrors:\n  - host: mirror.internal:5000\n    tokenURL: https://us.ocir.io/20180419/docker/token\n")
	p := w.provider(WithConfig(cfg))
	c := mustCredential(t, p, "https://US.ocir.io/v2/")
	if c.Registry != "us.ocir.io" {
		t.Errorf("registry = %q", c.Registry)
	}
	mustCredential(t, p, "mirror.internal:5000")
	if n := w.e.CountHost("token", "us.ocir.io"); n != 2 {
		t.Errorf("token requests at us.ocir.io = %d, want 2", n)
	}
	// Without the declaration the host is somebody else's.
	if _, err := w.provider().Credential(context.Background(), "us.ocir.io"); !errors.Is(err, ErrNotOCIRHost) {
		t.Errorf("undeclared: err = %v", err)
	}
	// A declaration naming an unknown region is a configuration error.
	bad := &config.File{Hosts: []config.DeclaredHost{{Host: "us.ocir.io", Region: "nowhere-1"}}}
	if _, err := w.provider(WithConfig(bad)).Credential(context.Background(), "us.ocir.io"); !errors.Is(err, ErrIdentityBroken) {
		t.Errorf("unknown region: err = %v", err)
	}
}

// One failure must not spread: the slow-failure memo is scoped to
// (identity, registry) and never records the caller's own end.
func TestSlowFailureMemoIsScoped(t *testing.T) {
	tests := []struct {
		name string
		// fail makes the first call fail; it returns that call's context.
		fail func(w *world) (ctx context.Context, cancel context.CancelFunc, timeout time.Duration)
		// then is the second call's registry and timeout.
		thenHost    string
		thenTimeout time.Duration
		wantOK      bool
	}{
		{
			name: "a hang at one registry does not fail another",
			fail: func(w *world) (context.Context, context.CancelFunc, time.Duration) {
				w.e.AddFault(emulator.Fault{Endpoint: "token", Host: "iad.ocir.io", Status: 503})
				ctx, cancel := context.WithCancel(context.Background())
				return ctx, cancel, 2 * time.Second
			},
			thenHost: "fra.ocir.io", thenTimeout: 10 * time.Second, wantOK: true,
		},
		{
			name: "the caller's own short deadline is not remembered",
			fail: func(w *world) (context.Context, context.CancelFunc, time.Duration) {
				w.e.AddFault(emulator.Fault{Endpoint: "token", Delay: 3 * time.Second, Count: 1})
				ctx, cancel := context.WithCancel(context.Background())
				return ctx, cancel, time.Second
			},
			thenHost: "iad.ocir.io", thenTimeout: 10 * time.Second, wantOK: true,
		},
		{
			name: "the caller's Ctrl-C is not remembered",
			fail: func(w *world) (context.Context, context.CancelFunc, time.Duration) {
				w.e.AddFault(emulator.Fault{Endpoint: "token", Hang: true, Count: 1})
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(1500*time.Millisecond, cancel)
				return ctx, cancel, 2 * time.Second
			},
			thenHost: "iad.ocir.io", thenTimeout: 10 * time.Second, wantOK: true,
		},
		{
			name: "a slow failure at the same registry is remembered",
			fail: func(w *world) (context.Context, context.CancelFunc, time.Duration) {
				w.e.AddFault(emulator.Fault{Endpoint: "token", Host: "iad.ocir.io", Status: 503})
				ctx, cancel := context.WithCancel(context.Background())
				return ctx, cancel, 2 * time.Second
			},
			thenHost: "iad.ocir.io", thenTimeout: 10 * time.Second, wantOK: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorld(t)
			ctx, cancel, timeout := tt.fail(w)
			defer cancel()
			if _, err := w.provider(WithTimeout(timeout)).Credential(ctx, "iad.ocir.io"); err == nil {
				t.Fatal("the first call did not fail")
			}
			before := w.e.Count("token-attempts")
			_, err := w.provider(WithTimeout(tt.thenTimeout)).Credential(context.Background(), tt.thenHost)
			if tt.wantOK && err != nil {
				t.Fatalf("second call failed: %v", err)
			}
			if !tt.wantOK {
				if err == nil || !strings.Contains(err.Error(), "remembered") {
					t.Fatalf("second call: err = %v, want the remembered failure", err)
				}
				if n := w.e.Count("token-attempts"); n != before {
					t.Errorf("%d new attempts despite the memo", n-before)
				}
			}
		})
	}
}

// Permanent network errors fail at once with a hint and are not retried.
func TestPermanentNetworkErrorsFailAtOnce(t *testing.T) {
	refused := closedPort(t)
	tests := []struct {
		name     string
		env      map[string]string
		proxy    string // what HTTPS_PROXY would say (WithProxy: net/http reads the process's once)
		wantHint string
	}{
		{"unknown certificate authority", map[string]string{"SSL_CERT_FILE": "okeCA", "OCI_DEFAULT_CERTS_PATH": "okeCA"}, "", "SSL_CERT_FILE"},
		{"proxy refuses connections", nil, "http://" + refused, "HTTPS_PROXY"},
		{"proxy wants credentials", nil, "http://" + proxy407(t), "proxy requires credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorld(t)
			for k, v := range tt.env {
				if v == "okeCA" {
					v = w.e.OKECAFile()
				}
				t.Setenv(k, v)
			}
			opts := []Option{WithTimeout(30 * time.Second)}
			if tt.proxy != "" {
				opts = append(opts, WithProxy(func(*url.URL) (*url.URL, error) { return url.Parse(tt.proxy) }))
			}
			start := time.Now()
			_, err := w.provider(opts...).Credential(context.Background(), "iad.ocir.io")
			took := time.Since(start)
			if err == nil || !strings.Contains(err.Error(), tt.wantHint) {
				t.Fatalf("err = %v, want a hint naming %q", err, tt.wantHint)
			}
			// Retrying for the whole deadline would take 30 s; one attempt
			// takes milliseconds. 10 s leaves room for a loaded machine.
			if took > 10*time.Second {
				t.Errorf("took %s: the permanent error was retried", took)
			}
			if _, ok := w.provider().recentFailure("any", "iad.ocir.io"); ok {
				t.Error("a permanent failure was memorised")
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// proxy407 is a loopback proxy that answers every CONNECT with 407.
func proxy407(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				fmt.Fprint(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n")
			}()
		}
	}()
	return ln.Addr().String()
}

// Single flight: waiters take the holder's stored token the moment it is
// stored, even when the token endpoint is slower than half their budget,
// and never send their own signed request while the holder works.
func TestWaitersTakeTheHolderTokenWithoutTheirOwnRequest(t *testing.T) {
	w := startWorld(t)
	const callers = 8
	// Slower than half the budget: the old waiters gave up the lock there.
	w.e.AddFault(emulator.Fault{Endpoint: "token", Delay: 3500 * time.Millisecond, Count: 1})
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	start := time.Now()
	took := make([]time.Duration, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One Provider per caller: separate "processes" sharing the cache.
			_, err := w.provider(WithTimeout(6*time.Second)).Credential(context.Background(), "iad.ocir.io")
			took[i] = time.Since(start)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("caller failed: %v", err)
		}
	}
	if n := w.e.Count("token-attempts"); n != 1 {
		t.Errorf("signed token requests = %d, want 1", n)
	}
	// Nobody waited out the 6 s deadline after the token was stored at 3.5 s.
	for i, d := range took {
		if d >= 6*time.Second {
			t.Errorf("caller %d answered after %s, at its deadline", i, d)
		}
	}
}

// A live holder is waited for until the waiter's own deadline, never
// duplicated; once it lets go, the next caller proceeds at once.
func TestLiveLockHolderIsWaitedForNotDuplicated(t *testing.T) {
	w := startWorld(t)
	p := w.provider(WithTimeout(time.Second))
	id, err := p.resolveIdentity(iad, &request{})
	if err != nil {
		t.Fatal(err)
	}
	holder := w.provider()
	l, err := holder.lockEntry(context.Background(), id.cacheKey, "iad.ocir.io")
	if err != nil || l == nil {
		t.Fatalf("lock: %v", err)
	}
	_, err = p.Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrTransient) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiter: err = %v, want its own deadline", err)
	}
	if n := w.e.Count("token-attempts"); n != 0 {
		t.Errorf("waiter sent %d signed requests while the holder was alive", n)
	}
	// The holder lets go while a second waiter waits: it proceeds at once.
	time.AfterFunc(300*time.Millisecond, func() { l.Unlock() })
	mustCredential(t, w.provider(WithTimeout(5*time.Second)), "iad.ocir.io")
	if n := w.e.Count("token-attempts"); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

// A cancelled lookup says it was interrupted, not that the timeout passed.
func TestInterruptedLookupSaysSo(t *testing.T) {
	w := startWorld(t)
	w.e.AddFault(emulator.Fault{Endpoint: "token", Hang: true})
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(300*time.Millisecond, func() { cancel(errors.New("terminated signal received")) })
	_, err := w.provider(WithTimeout(20*time.Second)).Credential(ctx, "iad.ocir.io")
	if !errors.Is(err, ErrInterrupted) || strings.Contains(err.Error(), "no token within") || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("err = %v", err)
	}
}

// Cache entries on disk are trusted only within the network path's bounds.
func TestImplausibleDiskEntriesAreNotServed(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name            string
		issued, expires time.Time
	}{
		{"expires in 2099", now.Add(-time.Minute), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"lifetime over a week", now.Add(-time.Hour), now.Add(8 * 24 * time.Hour)},
		{"issued in the future", now.Add(time.Hour), now.Add(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorld(t)
			p := w.provider()
			id, err := p.resolveIdentity(iad, &request{})
			if err != nil {
				t.Fatal(err)
			}
			fc := w.cache()
			if !fc.usable() {
				t.Fatal("cache dir unusable")
			}
			raw, _ := json.Marshal(cacheEntry{Format: cacheFormat, Key: id.cacheKey, Registry: "iad.ocir.io", Identity: "x",
				Token: "planted", IssuedAt: tt.issued, ExpiresAt: tt.expires})
			if err := fc.write(entryName(id.cacheKey, "iad.ocir.io"), raw); err != nil {
				t.Fatal(err)
			}
			c := mustCredential(t, w.provider(), "iad.ocir.io")
			if c.Secret == "planted" {
				t.Error("the implausible entry was served")
			}
			if n := w.e.Count("token"); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
			if life := c.ExpiresAt.Sub(c.IssuedAt); life > maxTokenLifetime {
				t.Errorf("lifetime %s", life)
			}
		})
	}
}

// Cache keys follow who the credentials belong to.
func TestCacheKeyFollowsThePrincipal(t *testing.T) {
	t.Run("oci session authenticate as another principal", func(t *testing.T) {
		w := startWorld(t)
		sess, err := w.e.NewSessionToken("SESS", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("OCI_CLI_PROFILE", "SESS")
		first := mustCredential(t, w.provider(), "iad.ocir.io")
		if again := mustCredential(t, w.provider(), "iad.ocir.io"); again.Secret != first.Secret {
			t.Fatal("the same session missed the cache")
		}
		// Another principal's session written into the same profile: its
		// token and session key replace the files the profile names.
		other, err := w.e.NewSessionToken("OTHER", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for from, to := range map[string]string{other.TokenFile: sess.TokenFile, other.KeyFile: sess.KeyFile} {
			raw, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(to, raw, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if next := mustCredential(t, w.provider(), "iad.ocir.io"); next.Secret == first.Secret {
			t.Error("the previous principal's token was served to the new session")
		}
		if n := w.e.Count("token"); n != 2 {
			t.Errorf("token requests = %d, want 2", n)
		}
	})
}

// TestFailedFederationsReuseTheUnsentSessionKey: the session key is
// generated while the metadata service answers the probe. A long-lived
// Provider (a keychain in a server) whose metadata service fails must not
// pay a key generation (~50 ms of CPU) per failed call: a key whose public
// half was never sent is kept for the next federation, and a key that was
// sent is never used again.
func TestFailedFederationsReuseTheUnsentSessionKey(t *testing.T) {
	w := startWorld(t)
	t.Setenv("OCI_METADATA_BASE_URL", "http://"+closedPort(t)+"/opc/v2")
	p := w.provider()
	var generated atomic.Int32
	newKey := p.newSessionKey
	p.newSessionKey = func() (*rsa.PrivateKey, error) {
		generated.Add(1)
		return newKey()
	}
	for range 5 {
		if _, err := p.federateInstance(context.Background(), false); err == nil {
			t.Fatal("federation without a metadata service succeeded")
		}
	}
	// The metadata service is back: the kept key is used, then a new one.
	t.Setenv("OCI_METADATA_BASE_URL", w.e.MetadataURL())
	first, err := p.federateInstance(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.federateInstance(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if first.key.Equal(second.key) {
		t.Error("a session key sent to the federation endpoint was used again")
	}
	if n := generated.Load(); n != 2 {
		t.Errorf("%d session keys generated for 5 failed and 2 good federations, want 2", n)
	}
}

// The metadata memo remembers only "no service here", and explicit
// instance principal never consults it.
func TestMetadataMemoOnlyForAbsentService(t *testing.T) {
	tests := []struct {
		name     string
		fault    *emulator.Fault
		closed   bool // point OCI_METADATA_BASE_URL at a closed port
		remember bool
	}{
		{"429 is a blip", &emulator.Fault{Endpoint: "imds", Status: 429, Count: 1}, false, false},
		{"500 is a blip", &emulator.Fault{Endpoint: "imds", Status: 500, Count: 1}, false, false},
		{"connection refused means no service", nil, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorld(t)
			base := w.e.MetadataURL()
			if tt.closed {
				base = "http://" + closedPort(t) + "/opc/v2"
			}
			t.Setenv("OCI_METADATA_BASE_URL", base)
			if tt.fault != nil {
				w.e.AddFault(*tt.fault)
			}
			if _, err := w.provider().probeMetadata(context.Background(), true); err == nil {
				t.Fatal("probe succeeded")
			}
			_, got := w.cache().recall(metadataMemoFile, base, time.Minute)
			if got != tt.remember {
				t.Errorf("remembered = %v, want %v", got, tt.remember)
			}
			if !tt.remember {
				return
			}
			// Automatic discovery stops at the memo; an explicit instance
			// principal asks again despite it.
			p := w.provider()
			if err := p.rememberedProbeFailure(true); err == nil || !strings.Contains(err.Error(), "remembered") {
				t.Errorf("automatic discovery after the memo: err = %v, want the remembered failure", err)
			}
			if err := p.rememberedProbeFailure(false); err != nil {
				t.Errorf("explicit instance principal consulted the memo: %v", err)
			}
			if _, err := p.probeMetadata(context.Background(), false); err == nil || strings.Contains(err.Error(), "remembered") {
				t.Errorf("explicit probe: err = %v, want a fresh failure", err)
			}
		})
	}
	// On the metadata service's recovery an explicit caller is not
	// stopped by an old memo.
	w := startWorld(t)
	t.Setenv("OCI_METADATA_BASE_URL", w.e.MetadataURL())
	w.cache().memorize(metadataMemoFile, w.e.MetadataURL(), metadataNegativeTTL, errors.New("old"))
	if _, err := w.provider().probeMetadata(context.Background(), false); err != nil {
		t.Errorf("explicit probe with a stale memo: %v", err)
	}
}

// Without WithProxy, proxies are the process environment's, as net/http
// reads them (once per process, hence fresh processes here), and the
// Provider's getenv has no say in them.
func TestProxiesComeFromTheProcessEnvironmentByDefault(t *testing.T) {
	startWorld(t) // the process environment: the emulator's, with its proxy
	run := func(extra ...string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), append([]string{helperProcessEnv + "=iad.ocir.io", "OCIR_CACHE_DIR=" + t.TempDir()}, extra...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		return string(out) + stderr.String(), err
	}
	// The emulator's proxy is the only way to iad.ocir.io here.
	if out, err := run(); err != nil {
		t.Fatalf("through HTTPS_PROXY, the emulator's proxy: %v: %s", err, out)
	}
	if out, err := run("HTTPS_PROXY=http://" + closedPort(t)); err == nil || !strings.Contains(out, "the proxy in HTTPS_PROXY cannot be reached") {
		t.Errorf("HTTPS_PROXY naming a closed port: err %v, output %q", err, out)
	}
}

// A cache directory that cannot be used (a file, a symlink) leaves the
// lookup working, in memory, and the log says why.
func TestUnusableCacheDirSaysWhyAndTheLookupGoesOn(t *testing.T) {
	w := startWorld(t)
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	for dir, want := range map[string]string{file: "not a directory but a regular file", link: "not a directory but a symlink"} {
		var logs strings.Builder
		p := w.provider(WithCacheDir(dir), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
		mustCredential(t, p, "iad.ocir.io")
		if !strings.Contains(logs.String(), "token cache directory unusable") || !strings.Contains(logs.String(), want) {
			t.Errorf("OCIR_CACHE_DIR=%s: log %q does not say %q", dir, logs.String(), want)
		}
	}
}
