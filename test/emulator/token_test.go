package emulator_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

func TestStartWritesEnvConfigKeyAndCA(t *testing.T) {
	dir := t.TempDir()
	e := startEmulator(t, emulator.Options{Dir: dir})

	env, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(env), strings.Join(e.Env(), "\n")+"\n"; got != want {
		t.Errorf("env file = %q, Env() = %q", got, want)
	}
	vars := map[string]string{}
	for _, l := range e.Env() {
		k, v, _ := strings.Cut(l, "=")
		vars[k] = v
	}
	want := map[string]string{
		"HTTPS_PROXY":            e.ProxyURL(),
		"NO_PROXY":               "127.0.0.1,localhost",
		"SSL_CERT_FILE":          e.CAFile(),
		"OCI_DEFAULT_CERTS_PATH": e.CAFile(),
		"OCI_METADATA_BASE_URL":  e.MetadataURL(),
		"OCI_CLI_CONFIG_FILE":    e.ConfigFile(),
		"OCIR_EMULATOR_URL":      e.ControlURL(),
	}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("env %s = %q, want %q", k, vars[k], v)
		}
		if got := e.Getenv(k); got != v {
			t.Errorf("Getenv(%q) = %q, want %q", k, got, v)
		}
	}
	if got := e.Getenv("HOME"); got != "" {
		t.Errorf(`Getenv("HOME") = %q, want ""`, got)
	}
	if got, want := e.EnvFile(), filepath.Join(dir, "env"); got != want {
		t.Errorf("EnvFile() = %q, want %q", got, want)
	}
	if len(vars) != len(want) {
		t.Errorf("env has %d variables, want %d: %v", len(vars), len(want), e.Env())
	}
	if !strings.HasSuffix(e.MetadataURL(), "/opc/v2") || !strings.HasPrefix(e.MetadataURL(), "http://127.0.0.1:") {
		t.Errorf("MetadataURL = %q", e.MetadataURL())
	}
	if !strings.HasPrefix(e.RegistryAddr(), "127.0.0.1:") {
		t.Errorf("RegistryAddr = %q", e.RegistryAddr())
	}
	caPool(t, e.CAFile())

	cfg, err := os.ReadFile(e.ConfigFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"[DEFAULT]", "user=ocid1.user.oc1..", "tenancy=" + e.TenancyID(), "region=us-ashburn-1", "fingerprint=", "key_file="} {
		if !strings.Contains(string(cfg), key) {
			t.Errorf("config lacks %q:\n%s", key, cfg)
		}
	}
	p := apiKeyProvider(t, e, "DEFAULT", "")
	keyFile := ""
	for _, l := range strings.Split(string(cfg), "\n") {
		if v, ok := strings.CutPrefix(l, "key_file="); ok {
			keyFile = v
		}
	}
	for _, f := range []string{e.ConfigFile(), keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	if fp, err := p.KeyFingerprint(); err != nil || len(fp) != 47 {
		t.Errorf("fingerprint %q, %v", fp, err)
	}
}

func TestAPIKeySignedTokenRequestThroughProxySucceeds(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)

	resp, body := signedGet(t, client, apiKeyProvider(t, e, "DEFAULT", ""), tokenURL("iad.ocir.io"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	tb := decodeToken(t, body)
	if tb.ExpiresIn == nil || *tb.ExpiresIn != 3600 {
		t.Errorf("expires_in = %v, want 3600", tb.ExpiresIn)
	}
	if tb.Scope == nil || *tb.Scope != "" {
		t.Errorf("scope = %v, want empty string", tb.Scope)
	}
	if resp.Header.Get("opc-request-id") == "" {
		t.Error("no opc-request-id header")
	}
	if got := e.Count("token"); got != 1 {
		t.Errorf(`Count("token") = %d, want 1`, got)
	}
	if got := e.CountHost("token", "iad.ocir.io"); got != 1 {
		t.Errorf(`CountHost("token", "iad.ocir.io") = %d, want 1`, got)
	}
	issued := e.IssuedTokens()
	if len(issued) != 1 || issued[0].Token != tb.Token || issued[0].Kind != emulator.KindAPIKey || issued[0].Host != "iad.ocir.io" {
		t.Errorf("IssuedTokens = %+v", issued)
	}
}

func TestTokenServiceAcceptsEveryRegistryHostForm(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	p := apiKeyProvider(t, e, "DEFAULT", "")
	for _, host := range []string{"iad.ocir.io", "us-ashburn-1.ocir.io", "ocir.us-ashburn-1.oci.oraclecloud.com", "phx.ocir.io"} {
		resp, body := signedGet(t, client, p, tokenURL(host))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d: %s", host, resp.StatusCode, body)
		}
		if got := e.CountHost("token", host); got != 1 {
			t.Errorf("CountHost(token, %s) = %d, want 1", host, got)
		}
	}
}

func TestTokenServiceDirectOnRegistryAddr(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	tr := &http.Transport{TLSClientConfig: proxyTransport(t, e).TLSClientConfig}
	defer tr.CloseIdleConnections()
	resp, body := signedGet(t, &http.Client{Transport: tr}, apiKeyProvider(t, e, "DEFAULT", ""), tokenURL(e.RegistryAddr()))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := e.CountHost("token", "127.0.0.1"); got != 1 {
		t.Errorf(`CountHost("token", "127.0.0.1") = %d, want 1`, got)
	}
}

// rawSigner lets a test sign with an arbitrary key, key id and header list.
type rawSigner struct {
	key   *rsa.PrivateKey
	keyID string
}

func (s rawSigner) PrivateRSAKey() (*rsa.PrivateKey, error) { return s.key, nil }
func (s rawSigner) KeyID() (string, error)                  { return s.keyID, nil }

func readKey(t *testing.T, path string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := common.PrivateKeyFromBytes(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestTokenServiceRejectsBadSignatures(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	good, err := e.NewAPIKey("good")
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := e.NewAPIKey("revoked")
	if err != nil {
		t.Fatal(err)
	}
	e.RevokeAPIKey(revoked)
	goodKey := readKey(t, good.KeyFile)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyID := good.Tenancy + "/" + good.User + "/" + good.Fingerprint

	sign := func(req *http.Request, p common.KeyProvider, headers []string) {
		if err := common.RequestSigner(p, headers, nil).Sign(req); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name      string
		prepare   func(req *http.Request)
		wantClock bool
	}{
		{"tampered signature", func(req *http.Request) {
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "(request-target)", "host"})
			a := req.Header.Get("Authorization")
			i := strings.Index(a, `signature="`) + len(`signature="`)
			b := []byte(a)
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			req.Header.Set("Authorization", string(b))
		}, false},
		{"signed by another key", func(req *http.Request) {
			sign(req, rawSigner{otherKey, keyID}, []string{"date", "(request-target)", "host"})
		}, false},
		{"wrong fingerprint", func(req *http.Request) {
			sign(req, rawSigner{goodKey, good.Tenancy + "/" + good.User + "/00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"}, []string{"date", "(request-target)", "host"})
		}, false},
		{"wrong user", func(req *http.Request) {
			sign(req, rawSigner{goodKey, good.Tenancy + "/ocid1.user.oc1..aaaaaaaaother/" + good.Fingerprint}, []string{"date", "(request-target)", "host"})
		}, false},
		{"revoked key", func(req *http.Request) {
			sign(req, rawSigner{readKey(t, revoked.KeyFile), revoked.Tenancy + "/" + revoked.User + "/" + revoked.Fingerprint}, []string{"date", "(request-target)", "host"})
		}, false},
		{"host not signed", func(req *http.Request) {
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "(request-target)"})
		}, false},
		{"request target not signed", func(req *http.Request) {
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "host"})
		}, false},
		{"date changed after signing", func(req *http.Request) {
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "(request-target)", "host"})
			req.Header.Set("Date", time.Now().Add(time.Minute).UTC().Format(http.TimeFormat))
		}, false},
		{"path changed after signing", func(req *http.Request) {
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "(request-target)", "host"})
			req.URL.RawQuery = "x=1"
		}, false},
		{"unknown algorithm", func(req *http.Request) {
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "(request-target)", "host"})
			req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "rsa-sha256", "hmac-sha256", 1))
		}, false},
		{"date 10 minutes old", func(req *http.Request) {
			req.Header.Set("Date", time.Now().Add(-10*time.Minute).UTC().Format(http.TimeFormat))
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "(request-target)", "host"})
		}, true},
		{"date 6 minutes ahead", func(req *http.Request) {
			req.Header.Set("Date", time.Now().Add(6*time.Minute).UTC().Format(http.TimeFormat))
			sign(req, rawSigner{goodKey, keyID}, []string{"date", "(request-target)", "host"})
		}, true},
		{"forged session token", func(req *http.Request) {
			sign(req, rawSigner{otherKey, "ST$" + forgeJWT(t, otherKey, &otherKey.PublicKey)}, []string{"date", "(request-target)", "host"})
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.ResetCounters()
			req, err := http.NewRequest(http.MethodGet, tokenURL("iad.ocir.io"), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			tc.prepare(req)
			resp, body := do(t, client, req)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", resp.StatusCode, body)
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("no opc-request-id header")
			}
			oe := decodeOCIError(t, body)
			if oe.Code != "NotAuthenticated" {
				t.Errorf("code %q, want NotAuthenticated", oe.Code)
			}
			if got := strings.Contains(oe.Message, "clock skew"); got != tc.wantClock {
				t.Errorf("message %q: mentions clock skew = %t, want %t", oe.Message, got, tc.wantClock)
			}
			if e.Count("token") != 0 || e.Count("token-attempts") != 1 {
				t.Errorf("token=%d token-attempts=%d, want 0 and 1", e.Count("token"), e.Count("token-attempts"))
			}
		})
	}

	t.Run("emulator clock offset", func(t *testing.T) {
		e.SetClockOffset(-10 * time.Minute)
		defer e.SetClockOffset(0)
		resp, body := signedGet(t, client, apiKeyProvider(t, e, "DEFAULT", ""), tokenURL("iad.ocir.io"))
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(decodeOCIError(t, body).Message, "clock skew") {
			t.Fatalf("status %d body %s, want 401 with clock skew", resp.StatusCode, body)
		}
		e.SetClockOffset(4 * time.Minute)
		resp, body = signedGet(t, client, apiKeyProvider(t, e, "DEFAULT", ""), tokenURL("iad.ocir.io"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("4 minutes skew: status %d: %s", resp.StatusCode, body)
		}
	})
}

// forgeJWT returns an RS256 JWT signed by signer (not the emulator) whose
// jwk claim is pub.
func forgeJWT(t *testing.T, signer *rsa.PrivateKey, pub *rsa.PublicKey) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	jwk := `{\"kty\":\"RSA\",\"n\":\"` + enc.EncodeToString(pub.N.Bytes()) + `\",\"e\":\"AQAB\",\"kid\":\"x\"}`
	payload := enc.EncodeToString([]byte(`{"sub":"ocid1.user.oc1..forged","ptype":"user","exp":` +
		itoa(time.Now().Add(time.Hour).Unix()) + `,"iat":` + itoa(time.Now().Unix()) + `,"jwk":"` + jwk + `"}`))
	return header + "." + payload + "." + enc.EncodeToString(rsaSign(t, signer, header+"."+payload))
}

func TestEncryptedAPIKeyProfileSucceeds(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	k, err := e.NewAPIKeyWithPassphrase("secret", "s3cr3t")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WriteProfile("SECRET", k); err != nil {
		t.Fatal(err)
	}
	if err := e.WriteProfile("SECRET", k); err == nil {
		t.Error("writing profile SECRET twice succeeded")
	}
	raw, err := os.ReadFile(k.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	//lint:ignore SA1019 the legacy PEM encryption is what is being checked.
	if block == nil || !x509.IsEncryptedPEMBlock(block) {
		t.Fatalf("key file is not an encrypted PEM block")
	}
	resp, body := signedGet(t, proxyClient(t, e), apiKeyProvider(t, e, "SECRET", ""), tokenURL("iad.ocir.io"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

func TestSessionTokenProfileSucceeds(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	sp, err := e.NewSessionToken("session", 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(sp.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(raw), "\n") || strings.Count(string(raw), ".") != 2 {
		t.Errorf("token file %q: want a JWT with a trailing newline", raw)
	}
	p, err := common.ConfigurationProviderForSessionTokenWithProfile(e.ConfigFile(), "session", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := signedGet(t, proxyClient(t, e), trimmedKeyID{p}, tokenURL("iad.ocir.io"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	decodeToken(t, body)
	if issued := e.IssuedTokens(); len(issued) != 1 || issued[0].Kind != emulator.KindSecurityToken {
		t.Errorf("IssuedTokens = %+v, want one security_token", issued)
	}
}

func TestExpiredSessionTokenIsRefused(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	if _, err := e.NewSessionToken("expired", -time.Minute); err != nil {
		t.Fatal(err)
	}
	p, err := common.ConfigurationProviderForSessionTokenWithProfile(e.ConfigFile(), "expired", "")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := signedGet(t, proxyClient(t, e), trimmedKeyID{p}, tokenURL("iad.ocir.io"))
	if resp.StatusCode != http.StatusUnauthorized || decodeOCIError(t, body).Code != "NotAuthenticated" {
		t.Fatalf("status %d: %s, want 401 NotAuthenticated", resp.StatusCode, body)
	}
	if e.Count("token") != 0 {
		t.Errorf(`Count("token") = %d, want 0`, e.Count("token"))
	}
}

func TestTokenTTLControlsExpiresIn(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	p := apiKeyProvider(t, e, "DEFAULT", "")
	for _, tc := range []struct {
		ttl  time.Duration
		want *int
	}{
		{10 * time.Minute, ptr(600)},
		{0, nil},
	} {
		e.SetTokenTTL(tc.ttl)
		resp, body := signedGet(t, client, p, tokenURL("iad.ocir.io"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		tb := decodeToken(t, body)
		if (tb.ExpiresIn == nil) != (tc.want == nil) || (tc.want != nil && *tb.ExpiresIn != *tc.want) {
			t.Errorf("ttl %s: expires_in = %v in %s", tc.ttl, tb.ExpiresIn, body)
		}
	}
}

func ptr[T any](v T) *T { return &v }
