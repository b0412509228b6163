package emulator_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// startEmulator starts an emulator in a temporary directory, logging to the
// test log until the test ends, and closes it at cleanup.
func startEmulator(t *testing.T, opts emulator.Options) *emulator.Emulator {
	t.Helper()
	e, err := startEmulatorErr(t, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return e
}

func startEmulatorErr(t *testing.T, opts emulator.Options) (*emulator.Emulator, error) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	var mu sync.Mutex
	done := false
	opts.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf(format, args...)
		}
	}
	e, err := emulator.Start(opts)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		mu.Lock()
		done = true
		mu.Unlock()
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e, nil
}

// caPool returns a pool holding the emulator's test CA.
func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", file)
	}
	return pool
}

// proxyTransport sends https requests through the emulator's CONNECT proxy
// and trusts its CA; plain http (the metadata service) goes direct.
func proxyTransport(t *testing.T, e *emulator.Emulator) *http.Transport {
	t.Helper()
	tr, err := e.ClientTransport()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func proxyClient(t *testing.T, e *emulator.Emulator) *http.Client {
	t.Helper()
	tr := proxyTransport(t, e)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// tokenURL is the OCIR token endpoint of host.
func tokenURL(host string) string { return "https://" + host + "/20180419/docker/token" }

// signedGet signs a GET of rawURL with the SDK's default signer for
// provider and sends it with client.
func signedGet(t *testing.T, client *http.Client, provider common.KeyProvider, rawURL string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	if err := common.DefaultRequestSigner(provider).Sign(req); err != nil {
		t.Fatalf("signing: %v", err)
	}
	return do(t, client, req)
}

func do(t *testing.T, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// tokenBody is the OCIR token service's success body.
type tokenBody struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	Scope       *string
	ExpiresIn   *int `json:"expires_in"`
}

func decodeToken(t *testing.T, body []byte) tokenBody {
	t.Helper()
	var tb tokenBody
	if err := json.Unmarshal(body, &tb); err != nil {
		t.Fatalf("token body %q: %v", body, err)
	}
	if tb.Token == "" || tb.Token != tb.AccessToken {
		t.Fatalf("token body %q: token and access_token must be equal and non-empty", body)
	}
	return tb
}

// ociError is an OCI error body.
type ociError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func decodeOCIError(t *testing.T, body []byte) ociError {
	t.Helper()
	var oe ociError
	if err := json.Unmarshal(body, &oe); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return oe
}

// apiKeyProvider is the SDK's provider for profile of the emulator's config.
func apiKeyProvider(t *testing.T, e *emulator.Emulator, profile, pass string) common.ConfigurationProvider {
	t.Helper()
	p, err := common.ConfigurationProviderFromFileWithProfile(e.ConfigFile(), profile, pass)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// trimmedKeyID trims the key id the way a correct client must: the SDK reads
// the session token file verbatim, and the CLI leaves a trailing newline.
type trimmedKeyID struct{ common.ConfigurationProvider }

func (p trimmedKeyID) KeyID() (string, error) {
	id, err := p.ConfigurationProvider.KeyID()
	return strings.TrimSpace(id), err
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// rsaSign returns the RS256 signature of s.
func rsaSign(t *testing.T, key *rsa.PrivateKey, s string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// signWith signs req (which must carry a Date header) with the SDK's default
// signer.
func signWith(t *testing.T, p common.KeyProvider, req *http.Request) {
	t.Helper()
	if err := common.DefaultRequestSigner(p).Sign(req); err != nil {
		t.Fatalf("signing: %v", err)
	}
}
