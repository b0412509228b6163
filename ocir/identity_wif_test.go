package ocir

// Workload identity federation against the emulator's identity domain: the
// exchange is checked strictly there (client credentials, grant, subject
// signature, exp, aud, public key) and the session it issues is verified by
// the OCIR token service like any ST$ signature.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// wifVars are every variable the federation reads; cleared per test.
var wifVars = []string{"OCIR_WIF_DOMAIN_URL", "OCIR_WIF_CLIENT_ID", "OCIR_WIF_CLIENT_SECRET", "OCIR_WIF_CLIENT_SECRET_FILE",
	"OCIR_WIF_TOKEN_FILE", "OCIR_WIF_TOKEN", "OCIR_WIF_AUDIENCE", "OCIR_WIF_TOKEN_TYPE", "OCIR_WIF_RES_TYPE",
	"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "OCI_CLI_REGION"}

// startWIF is a world with no OCI key at all and the identity domain's
// confidential application in the environment; OCI_CLI_AUTH is set when
// explicit.
func startWIF(t *testing.T, explicit bool) *world {
	t.Helper()
	w := startWorld(t)
	for _, k := range wifVars {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("OCI_CLI_CONFIG_FILE", "") // no OCI key anywhere
	os.Unsetenv("OCI_CLI_CONFIG_FILE")
	wif := w.e.WIF()
	t.Setenv("OCIR_WIF_DOMAIN_URL", wif.DomainURL)
	t.Setenv("OCIR_WIF_CLIENT_ID", wif.ClientID)
	t.Setenv("OCIR_WIF_CLIENT_SECRET_FILE", wif.SecretFile)
	if explicit {
		t.Setenv("OCI_CLI_AUTH", AuthWorkloadIdentityFederation)
	}
	return w
}

// subjectFile mints a subject token and writes it to a file.
func subjectFile(t *testing.T, w *world, s emulator.SubjectToken) string {
	t.Helper()
	tok, err := w.e.MintSubjectToken(s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "subject.jwt")
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastIssued is the newest OCIR token the emulator issued.
func lastIssued(t *testing.T, e *emulator.Emulator) emulator.IssuedToken {
	t.Helper()
	all := e.IssuedTokens()
	if len(all) == 0 {
		t.Fatal("the emulator issued no OCIR token")
	}
	return all[len(all)-1]
}

func TestWIFTokenFileIsExchangedAndTheSessionSignsForOCIR(t *testing.T) {
	w := startWIF(t, true)
	t.Setenv("OCIR_WIF_TOKEN_FILE", subjectFile(t, w, emulator.SubjectToken{Subject: "repo:acme/app:ref:refs/heads/main"}))
	p := w.provider()
	c := mustCredential(t, p, "iad.ocir.io")
	got := lastIssued(t, w.e)
	if got.Kind != emulator.KindWorkloadIdentityFederation || got.Principal != "repo:acme/app:ref:refs/heads/main" || got.Token != c.Secret {
		t.Fatalf("issued %+v for secret %q", got, c.Secret)
	}
	// Another registry of the realm: the session is reused, no new exchange.
	mustCredential(t, p, "fra.ocir.io")
	// A new process finds the OCIR token on disk: no exchange at all.
	mustCredential(t, w.provider(), "iad.ocir.io")
	if n, tok := w.e.Count("idcs"), w.e.Count("token"); n != 1 || tok != 2 {
		t.Errorf("exchanges = %d, OCIR token requests = %d; want 1 and 2", n, tok)
	}
	ex, err := p.Explain(context.Background(), "iad.ocir.io")
	if err != nil || ex.Auth != AuthWorkloadIdentityFederation || ex.Federation == nil || ex.Region != "us-ashburn-1" {
		t.Fatalf("Explain = %+v, %v", ex, err)
	}
	f := ex.Federation
	if f.DomainURL != w.e.WIF().DomainURL || f.ClientID != w.e.WIF().ClientID || f.Issuer != emulator.OIDCIssuer ||
		f.Subject != "repo:acme/app:ref:refs/heads/main" || len(f.Audience) != 1 || f.Audience[0] != emulator.WIFAudience ||
		f.Expires.IsZero() || !strings.HasPrefix(f.SubjectSource, "OCIR_WIF_TOKEN_FILE ") {
		t.Errorf("Federation = %+v", f)
	}
}

func TestWIFGitHubActionsTokenIsRequestedWithTheAudience(t *testing.T) {
	w := startWIF(t, true)
	for _, kv := range w.e.ActionsEnv() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("OCIR_WIF_AUDIENCE", emulator.WIFAudience)
	mustCredential(t, w.provider(), "iad.ocir.io")
	if got := lastIssued(t, w.e); got.Principal != emulator.DefaultCISubject {
		t.Errorf("principal %q, want %q", got.Principal, emulator.DefaultCISubject)
	}
	// A second process hits the cache: neither GitHub nor the domain is asked.
	mustCredential(t, w.provider(), "iad.ocir.io")
	if o, n := w.e.Count("oidc"), w.e.Count("idcs"); o != 1 || n != 1 {
		t.Errorf("oidc requests = %d, exchanges = %d; want 1 and 1", o, n)
	}
	// Without the audience GitHub issues its default one, which the trust
	// refuses: the domain's text reaches the user.
	t.Setenv("OCIR_WIF_AUDIENCE", "")
	_, err := w.provider(WithCache(false)).Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "audience") || !strings.Contains(err.Error(), "OCIR_WIF_AUDIENCE") {
		t.Errorf("err = %v", err)
	}
}

func TestWIFErrorsSayWhatToDo(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, w *world)
		kind      error
		want      []string
		exchanges int // -1: don't check
	}{
		{name: "wrong secret", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_CLIENT_SECRET_FILE", "")
			t.Setenv("OCIR_WIF_CLIENT_SECRET", "not-the-secret")
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s"}))
		}, kind: ErrAuth, want: []string{"HTTP 401", "invalid_client", "check OCIR_WIF_CLIENT_ID and the secret"}, exchanges: 1},
		{name: "unknown client", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_CLIENT_ID", "0123456789abcdef")
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s"}))
		}, kind: ErrAuth, want: []string{"invalid_client", "0123456789abcdef"}, exchanges: 1},
		{name: "subject expired here", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s", TTL: -time.Minute}))
		}, kind: ErrAuth, want: []string{"subject token from OCIR_WIF_TOKEN expired at", "fresh one"}, exchanges: 0},
		{name: "subject expired by the domain's clock", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s", TTL: 2 * time.Minute}))
			w.e.SetClockOffset(3 * time.Minute)
		}, kind: ErrAuth, want: []string{"invalid_grant: subject token expired at", "fresh one"}, exchanges: 1},
		{name: "untrusted signature", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s", Untrusted: true}))
		}, kind: ErrAuth, want: []string{"signature is not from issuer", "identity propagation trust"}, exchanges: 1},
		{name: "untrusted issuer", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s", Issuer: "https://gitlab.example", Untrusted: true}))
		}, kind: ErrAuth, want: []string{`no identity propagation trust for issuer "https://gitlab.example"`, "add an identity propagation trust"}, exchanges: 1},
		{name: "wrong audience", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s", Audience: "sts.example"}))
		}, kind: ErrAuth, want: []string{"audience", "sts.example"}, exchanges: 1},
		{name: "no subject token", setup: func(t *testing.T, w *world) {}, kind: ErrIdentityBroken,
			want: []string{"no subject token found (tried OCIR_WIF_TOKEN_FILE, GitHub Actions", "OCIR_WIF_TOKEN)", "id-token: write"}, exchanges: 0},
		{name: "token file missing", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN_FILE", filepath.Join(w.home, "absent.jwt"))
		}, kind: ErrIdentityBroken, want: []string{"OCIR_WIF_TOKEN_FILE", "absent.jwt"}, exchanges: 0},
		{name: "token file is a directory", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN_FILE", w.home)
		}, kind: ErrIdentityBroken, want: []string{"not a regular file"}, exchanges: 0},
		{name: "subject not a JWT", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN", "not-a-jwt")
		}, kind: ErrIdentityBroken, want: []string{"from OCIR_WIF_TOKEN is not a JWT"}, exchanges: 0},
		{name: "no domain", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_DOMAIN_URL", "")
		}, kind: ErrIdentityBroken, want: []string{"missing OCIR_WIF_DOMAIN_URL", "docs/ci.md"}, exchanges: 0},
		{name: "domain with a path", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_DOMAIN_URL", w.e.WIF().DomainURL+"/oauth2/v1/token")
		}, kind: ErrIdentityBroken, want: []string{"without path"}, exchanges: 0},
		{name: "plain http domain", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_DOMAIN_URL", strings.Replace(w.e.WIF().DomainURL, "https", "http", 1))
		}, kind: ErrIdentityBroken, want: []string{"plain http is only allowed on loopback"}, exchanges: 0},
		{name: "secret twice", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_CLIENT_SECRET", "x")
		}, kind: ErrIdentityBroken, want: []string{"either OCIR_WIF_CLIENT_SECRET or OCIR_WIF_CLIENT_SECRET_FILE"}, exchanges: 0},
		{name: "rpst without resource type", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN_TYPE", "rpst")
		}, kind: ErrIdentityBroken, want: []string{"OCIR_WIF_RES_TYPE"}, exchanges: 0},
		{name: "domain down", setup: func(t *testing.T, w *world) {
			t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s"}))
			w.e.AddFault(emulator.Fault{Endpoint: "idcs", Status: 503})
		}, kind: ErrTransient, want: []string{"HTTP 503"}, exchanges: -1},
	}
	w := startWIF(t, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.e.SetClockOffset(0)
			w.e.ClearFaults()
			w.e.ResetCounters()
			tt.setup(t, w)
			_, err := w.provider(WithTimeout(2*time.Second)).Credential(context.Background(), "iad.ocir.io")
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v; want kind %v", err, tt.kind)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
			if n := w.e.Count("idcs"); tt.exchanges >= 0 && n != tt.exchanges {
				t.Errorf("exchanges = %d, want %d", n, tt.exchanges)
			}
			if w.e.Count("token-attempts") != 0 {
				t.Error("an OCIR token request was made without a session")
			}
		})
	}
}

func mint(t *testing.T, w *world, s emulator.SubjectToken) string {
	t.Helper()
	tok, err := w.e.MintSubjectToken(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestWIFTransientDomainErrorsAreRetried(t *testing.T) {
	w := startWIF(t, true)
	t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s"}))
	w.e.AddFault(emulator.Fault{Endpoint: "idcs", Status: 503, Count: 1})
	w.e.AddFault(emulator.Fault{Endpoint: "idcs", Status: 429, Count: 1})
	mustCredential(t, w.provider(), "iad.ocir.io")
	if n := w.e.Count("idcs"); n != 3 {
		t.Errorf("exchanges = %d, want 3 (503, 429, ok)", n)
	}
}

func TestWIFTwoSubjectsGetTwoCacheEntries(t *testing.T) {
	w := startWIF(t, true)
	var secrets []string
	for _, sub := range []string{"repo:acme/app:ref:refs/heads/main", "repo:acme/other:ref:refs/heads/main"} {
		t.Setenv("OCIR_WIF_TOKEN_FILE", subjectFile(t, w, emulator.SubjectToken{Subject: sub}))
		secrets = append(secrets, mustCredential(t, w.provider(), "iad.ocir.io").Secret)
		if got := lastIssued(t, w.e).Principal; got != sub {
			t.Errorf("principal %q, want %q", got, sub)
		}
	}
	// A fresh token of the first subject (rotated file) finds its entry.
	t.Setenv("OCIR_WIF_TOKEN_FILE", subjectFile(t, w, emulator.SubjectToken{Subject: "repo:acme/app:ref:refs/heads/main", TTL: time.Hour}))
	if c := mustCredential(t, w.provider(), "iad.ocir.io"); c.Secret != secrets[0] {
		t.Error("a rotated subject token of the same subject missed the cache")
	}
	entries, err := w.provider().List()
	if err != nil || len(entries) != 2 || secrets[0] == secrets[1] {
		t.Fatalf("entries = %+v, %v", entries, err)
	}
	// The cache holds neither the subject token nor the secret.
	files, _ := filepath.Glob(filepath.Join(w.cacheDir, "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		secret, _ := os.ReadFile(w.e.WIF().SecretFile)
		if bytes.Contains(raw, bytes.TrimSpace(secret)) || bytes.Contains(raw, []byte("eyJ")) {
			t.Errorf("cache file %s holds a secret or a JWT:\n%s", f, raw)
		}
	}
}

func TestWIFServiceAccountTokenFromTheKubelet(t *testing.T) {
	w := startWIF(t, true)
	p := w.provider()
	var principals []string
	for _, sa := range []string{"team-a", "team-b"} {
		jwt := w.e.NewServiceAccountTokenFor(sa, "puller", []string{emulator.WIFAudience}, time.Hour)
		mustCredentialWith(t, p, "iad.ocir.io", WithServiceAccountToken(jwt, nil))
		principals = append(principals, lastIssued(t, w.e).Principal)
	}
	if principals[0] != "system:serviceaccount:team-a:puller" || principals[1] != "system:serviceaccount:team-b:puller" {
		t.Errorf("principals = %v", principals)
	}
	// The token alone does not choose federation: without the identity
	// type it is an OKE workload identity request.
	t.Setenv("OCI_CLI_AUTH", "")
	t.Setenv("OCIR_WIF_DOMAIN_URL", "")
	jwt := w.e.NewServiceAccountTokenFor("team-c", "puller", []string{emulator.WIFAudience}, time.Hour)
	_, err := w.provider().Credential(context.Background(), "iad.ocir.io", WithServiceAccountToken(jwt, nil))
	if err == nil || !strings.Contains(err.Error(), "OKE workload identity") {
		t.Errorf("err = %v, want the OKE path", err)
	}
}

func mustCredentialWith(t *testing.T, p *Provider, host string, opts ...RequestOption) Credential {
	t.Helper()
	c, err := p.Credential(context.Background(), host, opts...)
	if err != nil {
		t.Fatalf("Credential(%s): %v", host, err)
	}
	return c
}

func TestWIFAutoOnlyWithADomain(t *testing.T) {
	w := startWIF(t, false)
	t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "s"}))
	mustCredential(t, w.provider(), "iad.ocir.io")
	if got := lastIssued(t, w.e).Kind; got != emulator.KindWorkloadIdentityFederation {
		t.Errorf("auto with OCIR_WIF_DOMAIN_URL picked %s", got)
	}
	t.Setenv("OCIR_WIF_DOMAIN_URL", "")
	_, err := w.provider(WithCache(false)).Credential(context.Background(), "iad.ocir.io")
	if !errors.Is(err, ErrNoIdentity) {
		t.Errorf("auto without OCIR_WIF_DOMAIN_URL: %v, want no identity", err)
	}
}

func TestWIFConfigRuleOverridesTheEnvironment(t *testing.T) {
	w := startWIF(t, false)
	t.Setenv("OCIR_WIF_DOMAIN_URL", "")
	t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "from-env"}))
	file := subjectFile(t, w, emulator.SubjectToken{Subject: "from-rule"})
	cfg, err := config.Parse([]byte(`registries:
  - match: "fra.ocir.io"
    auth: workload_identity_federation
    federation:
      domainURL: ` + w.e.WIF().DomainURL + `/
      tokenFile: ` + file + `
`))
	if err != nil {
		t.Fatal(err)
	}
	p := w.provider(WithConfig(cfg))
	mustCredential(t, p, "fra.ocir.io")
	if got := lastIssued(t, w.e); got.Principal != "from-rule" || got.Host != "fra.ocir.io" {
		t.Errorf("issued %+v", got)
	}
	// The session's region is the registry's, unless OCI_CLI_REGION says otherwise.
	for override, want := range map[string]string{"": "eu-frankfurt-1", "us-phoenix-1": "us-phoenix-1"} {
		t.Setenv("OCI_CLI_REGION", override)
		if ex, err := p.Explain(context.Background(), "fra.ocir.io"); err != nil || ex.Region != want {
			t.Errorf("OCI_CLI_REGION=%q: region %q, %v; want %s", override, ex.Region, err, want)
		}
	}
	// The rule applies only to its registry.
	if _, err := p.Credential(context.Background(), "iad.ocir.io"); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("iad.ocir.io: %v", err)
	}
}

func TestWIFSessionIsExchangedAgainBeforeItEnds(t *testing.T) {
	w := startWIF(t, true)
	t.Setenv("OCIR_WIF_TOKEN_FILE", subjectFile(t, w, emulator.SubjectToken{Subject: "s", TTL: 3 * time.Hour}))
	clock := &fakeClock{t: time.Now()}
	p := w.provider(withClock(clock.now), WithCache(false))
	mustCredential(t, p, "iad.ocir.io")
	clock.advance(w, 30*time.Minute)
	mustCredential(t, p, "iad.ocir.io")
	if n := w.e.Count("idcs"); n != 1 {
		t.Fatalf("exchanges after 30 min = %d, want 1", n)
	}
	clock.advance(w, 29*time.Minute) // the 1 h session ends in 1 minute
	mustCredential(t, p, "iad.ocir.io")
	if n := w.e.Count("idcs"); n != 2 {
		t.Errorf("exchanges near the session's end = %d, want 2", n)
	}
}

// TestWIFExchangeHundredsOfTimes repeats the exchange that the SDK's client
// gets wrong about one time in three (context cancelled before the answer
// is read): every answer must be a session bound to the submitted key.
func TestWIFExchangeHundredsOfTimes(t *testing.T) {
	w := startWIF(t, true)
	p := w.provider()
	s, err := p.wifSettings(nil)
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := os.ReadFile(s.secretFile)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	const n = 300
	for i := range n {
		form := url.Values{
			"grant_type": {wifGrantType}, "requested_token_type": {wifUPST}, "subject_token_type": {wifSubjectType},
			"subject_token": {mint(t, w, emulator.SubjectToken{Subject: "loop"})},
			"public_key":    {base64.StdEncoding.EncodeToString(der)},
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		session, err := p.exchange(ctx, s, strings.TrimSpace(string(secret)), form, "test")
		cancel()
		if err != nil {
			t.Fatalf("exchange %d: %v", i, err)
		}
		c, ok := jwtClaims(session)
		if !ok {
			t.Fatalf("exchange %d: session is not a JWT", i)
		}
		var k struct{ N, E string }
		if js, _ := c["jwk"].(string); json.Unmarshal([]byte(js), &k) != nil || k.N != base64.RawURLEncoding.EncodeToString(key.N.Bytes()) ||
			k.E != base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()) {
			t.Fatalf("exchange %d: the session's jwk is not the submitted key", i)
		}
	}
	if got := w.e.Count("idcs"); got != n {
		t.Errorf("the domain saw %d exchanges, want %d", got, n)
	}
	// And cold, end to end: key, exchange, signed OCIR request, each time.
	for range 20 {
		t.Setenv("OCIR_WIF_TOKEN", mint(t, w, emulator.SubjectToken{Subject: "cold"}))
		mustCredential(t, w.provider(WithCache(false)), "iad.ocir.io")
	}
	if got := w.e.Count("token"); got != 20 {
		t.Errorf("OCIR token requests = %d, want 20", got)
	}
}

func TestWIFNeverLogsTheSecretOrTheJWT(t *testing.T) {
	w := startWIF(t, true)
	t.Setenv("OCIR_WIF_CLIENT_SECRET_FILE", "")
	secret := w.e.WIF().ClientSecret
	t.Setenv("OCIR_WIF_CLIENT_SECRET", secret)
	jwt := mint(t, w, emulator.SubjectToken{Subject: "repo:acme/app:ref:refs/heads/main"})
	t.Setenv("OCIR_WIF_TOKEN", jwt)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.e.AddFault(emulator.Fault{Endpoint: "idcs", Status: 500, Count: 1}) // a retry is logged too
	p := w.provider(WithLogger(log))
	mustCredential(t, p, "iad.ocir.io")
	if _, err := p.Explain(context.Background(), "iad.ocir.io"); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "token exchange at the identity domain") || !strings.Contains(out, "retrying") {
		t.Fatalf("the debug log does not show the exchange:\n%s", out)
	}
	for name, s := range map[string]string{"secret": secret, "JWT": jwt, "JWT signature": jwt[strings.LastIndexByte(jwt, '.')+1:], "a JWT": "eyJ"} {
		if strings.Contains(out, s) {
			t.Errorf("the debug log holds the %s:\n%s", name, out)
		}
	}
}
