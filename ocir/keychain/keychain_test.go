package keychain_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/keychain"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

// world is an emulator and the environment of a program pointed at it; the
// tests change env to take an identity away or add settings.
type world struct {
	e   *emulator.Emulator
	env map[string]string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	e, dir := emulatortest.Start(t)
	w := &world{e: e, env: map[string]string{"HOME": dir, "OCIR_CACHE_DIR": filepath.Join(dir, "cache"), "OCIR_TIMEOUT": "10s"}}
	maps.Copy(w.env, e.EnvMap())
	return w
}

// withoutIdentity leaves no OCI config file and a metadata service that
// refuses connections: there is no identity at all.
func withoutIdentity(t *testing.T, w *world) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.env["OCI_METADATA_BASE_URL"] = "http://" + ln.Addr().String() + "/opc/v2"
	ln.Close()
	delete(w.env, "OCI_CLI_CONFIG_FILE")
}

func (w *world) keychain(t *testing.T, opts ...keychain.Option) *keychain.Keychain {
	t.Helper()
	p, err := ocir.NewFromEnv(func(k string) string { return w.env[k] }, ocir.WithProxy(w.e.Proxy))
	if err != nil {
		t.Fatalf("NewFromEnv: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return keychain.New(p, opts...)
}

func repository(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolveGivesOCIRTokensToOCIRHostsOnly(t *testing.T) {
	w := newWorld(t)
	kc := w.keychain(t)
	cases := []struct {
		repo string
		host string // the OCIR host whose token must be handed out; "" = anonymous
	}{
		{"iad.ocir.io/demotenancy/hello", "iad.ocir.io"},
		{"iad.ocir.io:443/demotenancy/hello", "iad.ocir.io"},
		{"us-ashburn-1.ocir.io/demotenancy/hello", "us-ashburn-1.ocir.io"},
		{"ocir.us-ashburn-1.oci.oraclecloud.com/demotenancy/hello", "ocir.us-ashburn-1.oci.oraclecloud.com"},
		{"ocir.eu-frankfurt-1.oci.oraclecloud.com/demotenancy/hello", "ocir.eu-frankfurt-1.oci.oraclecloud.com"},
		{"docker.io/library/alpine", ""},
		{"ghcr.io/org/app", ""},
		{"iad.ocir.io.example.com/ns/app", ""},
		{"ocir.io/ns/app", ""},
		{"127.0.0.1:5000/ns/app", ""},
	}
	for _, c := range cases {
		t.Run(c.repo, func(t *testing.T) {
			before := w.e.Count("token-attempts")
			auth, err := kc.Resolve(repository(t, c.repo))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			cfg, err := auth.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if c.host == "" {
				if auth != authn.Anonymous {
					t.Errorf("got %q/%d-byte password, want authn.Anonymous", cfg.Username, len(cfg.Password))
				}
				if n := w.e.Count("token-attempts") - before; n != 0 {
					t.Errorf("%d signed token requests for a non-OCIR registry", n)
				}
				return
			}
			if cfg.Username != ocir.Username || cfg.Password == "" {
				t.Fatalf("got user %q, password set %t; want BEARER_TOKEN and a token", cfg.Username, cfg.Password != "")
			}
			if !issuedFor(w.e, cfg.Password, c.host) {
				t.Errorf("the password is not a token the emulator issued for %s", c.host)
			}
		})
	}
}

func issuedFor(e *emulator.Emulator, token, host string) bool {
	for _, it := range e.IssuedTokens() {
		if it.Token == token {
			return it.Host == host
		}
	}
	return false
}

func TestResolveErrorsAreErrorsUnlessOptedIn(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, w *world)
		opts    []keychain.Option
		wantErr error // nil: authn.Anonymous with a logged warning
	}{
		{"no identity is an error", withoutIdentity, nil, ocir.ErrNoIdentity},
		{"no identity is anonymous when opted in", withoutIdentity,
			[]keychain.Option{keychain.WithAnonymousOn(ocir.ErrNoIdentity)}, nil},
		{"a rejected identity is an error", rejectEverySignature, nil, ocir.ErrAuth},
		{"opting in for no identity leaves a rejected one an error", rejectEverySignature,
			[]keychain.Option{keychain.WithAnonymousOn(ocir.ErrNoIdentity)}, ocir.ErrAuth},
		{"a rejected identity is anonymous when opted in", rejectEverySignature,
			[]keychain.Option{keychain.WithAnonymousOn(ocir.ErrNoIdentity, ocir.ErrAuth)}, nil},
		{"a broken identity is an error", brokenProfile, nil, ocir.ErrIdentityBroken},
		{"an unavailable token service is an error", unavailableTokenService,
			[]keychain.Option{keychain.WithAnonymousOn(ocir.ErrNoIdentity, ocir.ErrAuth, ocir.ErrIdentityBroken)}, ocir.ErrTransient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			c.setup(t, w)
			var logs bytes.Buffer
			opts := append([]keychain.Option{keychain.WithLogger(slog.New(slog.NewTextHandler(&logs, nil)))}, c.opts...)
			auth, err := w.keychain(t, opts...).Resolve(repository(t, "iad.ocir.io/demotenancy/hello"))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || auth != nil {
					t.Fatalf("Resolve = %v, %v; want nil and an error matching %q", auth, err, c.wantErr)
				}
				var oe *ocir.Error
				if !errors.As(err, &oe) || oe.Registry != "iad.ocir.io" {
					t.Errorf("error %v is not an *ocir.Error for iad.ocir.io", err)
				}
				return
			}
			if err != nil || auth != authn.Anonymous {
				t.Fatalf("Resolve = %v, %v; want authn.Anonymous", auth, err)
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "registry=iad.ocir.io") {
				t.Errorf("the anonymous fallback was not logged: %q", logs.String())
			}
		})
	}
}

// rejectEverySignature puts the emulator's clock an hour ahead: every
// signed request is refused for clock skew.
func rejectEverySignature(_ *testing.T, w *world) { w.e.SetClockOffset(time.Hour) }

// brokenProfile names a profile the OCI config file does not have.
func brokenProfile(_ *testing.T, w *world) { w.env["OCI_CLI_PROFILE"] = "NO_SUCH_PROFILE" }

// unavailableTokenService answers every token request with 503 until the
// lookup's deadline.
func unavailableTokenService(_ *testing.T, w *world) {
	w.e.AddFault(emulator.Fault{Endpoint: "token", Status: 503})
	w.env["OCIR_TIMEOUT"] = "1s"
}

func TestResolveContextStopsWithTheCallersContext(t *testing.T) {
	w := newWorld(t)
	w.e.AddFault(emulator.Fault{Endpoint: "token", Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	auth, err := w.keychain(t).ResolveContext(ctx, repository(t, "iad.ocir.io/demotenancy/hello"))
	if auth != nil || !errors.Is(err, ocir.ErrTransient) || !errors.Is(err, context.Canceled) {
		t.Fatalf("ResolveContext with a cancelled context = %v, %v; want a transient error wrapping context.Canceled", auth, err)
	}
}

// A keychain over no source, or over a nil *ocir.Provider, fails each
// resolution with an error instead of panicking inside the caller's pull;
// nil options are ignored and a nil logger discards.
func TestResolveWithoutASourceFailsCleanly(t *testing.T) {
	target, err := name.NewRegistry("iad.ocir.io")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		src  keychain.Source
	}{
		{"nil source", nil},
		{"nil provider", (*ocir.Provider)(nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := keychain.New(tt.src, nil, keychain.WithLogger(nil), keychain.WithAnonymousOn(ocir.ErrNoIdentity))
			auth, err := k.Resolve(target)
			if err == nil || !errors.Is(err, ocir.ErrIdentityBroken) {
				t.Errorf("Resolve = %v, %v; want an ErrIdentityBroken error", auth, err)
			}
		})
	}
}
