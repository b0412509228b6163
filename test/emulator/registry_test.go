package emulator_test

import (
	"archive/tar"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// ocirToken obtains an OCIR token for host with the DEFAULT API key.
func ocirToken(t *testing.T, e *emulator.Emulator, client *http.Client, host string) string {
	t.Helper()
	resp, body := signedGet(t, client, apiKeyProvider(t, e, "DEFAULT", ""), tokenURL(host))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token for %s: status %d: %s", host, resp.StatusCode, body)
	}
	return decodeToken(t, body).Token
}

func pull(t *testing.T, tr http.RoundTripper, ref string, auth authn.Authenticator) (v1.Image, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r, remote.WithTransport(tr), remote.WithAuth(auth))
	if err != nil {
		return nil, err
	}
	// Fetch every blob so that the whole pull is exercised.
	if _, err := img.ConfigFile(); err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}

// statusOf returns the HTTP status and first error code of a registry error.
func statusOf(err error) (int, string) {
	var te *transport.Error
	if !errors.As(err, &te) {
		return 0, ""
	}
	code := ""
	if len(te.Errors) > 0 {
		code = string(te.Errors[0].Code)
	}
	return te.StatusCode, code
}

func TestRegistryChallengesAnonymousRequests(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	cases := []struct {
		url, challenge string
	}{
		{"https://iad.ocir.io/v2/", `Bearer realm="https://iad.ocir.io/20180419/docker/token",service="iad.ocir.io"`},
		{"https://ocir.us-ashburn-1.oci.oraclecloud.com/v2/demotenancy/hello/manifests/latest",
			`Bearer realm="https://ocir.us-ashburn-1.oci.oraclecloud.com/20180419/docker/token",service="ocir.us-ashburn-1.oci.oraclecloud.com",scope="repository:demotenancy/hello:pull"`},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		resp, body := do(t, client, req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.url, resp.StatusCode)
		}
		if got := resp.Header.Get("WWW-Authenticate"); got != tc.challenge {
			t.Errorf("%s: WWW-Authenticate = %s, want %s", tc.url, got, tc.challenge)
		}
		if !strings.Contains(string(body), `"UNAUTHORIZED"`) {
			t.Errorf("%s: body %s", tc.url, body)
		}
	}
	if got := e.Count("registry"); got != 2 {
		t.Errorf(`Count("registry") = %d, want 2`, got)
	}
}

func TestRegistryPullWithOCIRTokenThroughProxy(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	tr := proxyTransport(t, e)
	tok := ocirToken(t, e, client, "iad.ocir.io")
	bearer := &authn.Basic{Username: "BEARER_TOKEN", Password: tok}

	img, err := pull(t, tr, "iad.ocir.io/demotenancy/hello:latest", bearer)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	d, _ := img.Digest()
	if d.String() != e.SeedDigest() {
		t.Errorf("digest %s, want %s", d, e.SeedDigest())
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	layers, _ := img.Layers()
	if len(layers) < 2 {
		t.Fatalf("%d layers, want at least 2", len(layers))
	}
	if got := fileInLayer(t, layers[len(layers)-1], emulator.SeedFile); got != emulator.SeedFileContent {
		t.Errorf("%s = %q, want %q", emulator.SeedFile, got, emulator.SeedFileContent)
	}
	if e.Count("registry-auth") == 0 || e.CountHost("registry", "iad.ocir.io") == 0 {
		t.Errorf("registry-auth=%d registry(iad)=%d, want both > 0", e.Count("registry-auth"), e.CountHost("registry", "iad.ocir.io"))
	}

	t.Run("same storage on every host of the region", func(t *testing.T) {
		if _, err := pull(t, tr, "ocir.us-ashburn-1.oci.oraclecloud.com/demotenancy/hello:latest", bearer); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("token from another region is refused", func(t *testing.T) {
		_, err := pull(t, tr, "phx.ocir.io/demotenancy/hello:latest", bearer)
		if status, _ := statusOf(err); status != http.StatusUnauthorized {
			t.Fatalf("err = %v, want 401", err)
		}
	})
	t.Run("user name other than BEARER_TOKEN is refused", func(t *testing.T) {
		_, err := pull(t, tr, "iad.ocir.io/demotenancy/hello:latest", &authn.Basic{Username: "demotenancy/user", Password: tok})
		if status, _ := statusOf(err); status != http.StatusUnauthorized {
			t.Fatalf("err = %v, want 401", err)
		}
	})
	t.Run("unknown token is refused", func(t *testing.T) {
		_, err := pull(t, tr, "iad.ocir.io/demotenancy/hello:latest", &authn.Basic{Username: "BEARER_TOKEN", Password: "bogus"})
		if status, _ := statusOf(err); status != http.StatusUnauthorized {
			t.Fatalf("err = %v, want 401", err)
		}
	})
	t.Run("missing repository is 404", func(t *testing.T) {
		_, err := pull(t, tr, "iad.ocir.io/demotenancy/absent:latest", bearer)
		if status, _ := statusOf(err); status != http.StatusNotFound {
			t.Fatalf("err = %v, want 404", err)
		}
	})
	t.Run("denied repository is 403 DENIED", func(t *testing.T) {
		e.DenyRepo("demotenancy/nopolicy")
		_, err := pull(t, tr, "iad.ocir.io/demotenancy/nopolicy:latest", bearer)
		if status, code := statusOf(err); status != http.StatusForbidden || code != "DENIED" {
			t.Fatalf("err = %v, want 403 DENIED", err)
		}
	})
	t.Run("push with the token", func(t *testing.T) {
		ri, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference("iad.ocir.io/demotenancy/pushed:v1")
		if err := remote.Write(ref, ri, remote.WithTransport(tr), remote.WithAuth(bearer)); err != nil {
			t.Fatalf("push: %v", err)
		}
		if _, err := pull(t, tr, "iad.ocir.io/demotenancy/pushed:v1", bearer); err != nil {
			t.Fatalf("pull after push: %v", err)
		}
	})
}

func TestRegistryAnonymousAccessIsLimitedToPublicPulls(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	tr := proxyTransport(t, e)

	img, err := pull(t, tr, "iad.ocir.io/public/hello:latest", authn.Anonymous)
	if err != nil {
		t.Fatalf("anonymous pull of public/hello: %v", err)
	}
	if d, _ := img.Digest(); d.String() != e.SeedDigest() {
		t.Errorf("digest %s, want %s", d, e.SeedDigest())
	}
	_, err = pull(t, tr, "iad.ocir.io/demotenancy/hello:latest", authn.Anonymous)
	if status, code := statusOf(err); status != http.StatusForbidden || code != "DENIED" {
		t.Errorf("anonymous pull of demotenancy/hello: %v, want 403 DENIED", err)
	}
	ri, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference("iad.ocir.io/public/pushed:v1")
	err = remote.Write(ref, ri, remote.WithTransport(tr), remote.WithAuth(authn.Anonymous))
	if status, _ := statusOf(err); status != http.StatusForbidden {
		t.Errorf("anonymous push: %v, want 403", err)
	}
}

func TestRegistryServedDirectlyOnRegistryAddr(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	direct := &http.Transport{TLSClientConfig: proxyTransport(t, e).TLSClientConfig}
	defer direct.CloseIdleConnections()
	tok := ocirToken(t, e, &http.Client{Transport: direct}, e.RegistryAddr())
	img, err := pull(t, direct, e.RegistryAddr()+"/demotenancy/hello:latest", &authn.Basic{Username: "BEARER_TOKEN", Password: tok})
	if err != nil {
		t.Fatalf("pull from %s: %v", e.RegistryAddr(), err)
	}
	if d, _ := img.Digest(); d.String() != e.SeedDigest() {
		t.Errorf("digest %s, want %s", d, e.SeedDigest())
	}
}

func TestRegistryAuthExchangeAnswersBasicCredentials(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	tok := ocirToken(t, e, client, "iad.ocir.io")
	exchange := func(host, user, pass, method string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, "https://"+host+"/20180419/docker/token?service="+host+"&scope=repository:demotenancy/hello:pull", nil)
		if user != "" {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
		}
		return do(t, client, req)
	}
	cases := []struct {
		name, host, user, pass, method string
		want                           int
	}{
		{"valid token", "iad.ocir.io", "BEARER_TOKEN", tok, http.MethodGet, http.StatusOK},
		{"same region other host form", "ocir.us-ashburn-1.oci.oraclecloud.com", "BEARER_TOKEN", tok, http.MethodGet, http.StatusOK},
		{"anonymous", "iad.ocir.io", "", "", http.MethodGet, http.StatusOK},
		{"wrong user", "iad.ocir.io", "<token>", tok, http.MethodGet, http.StatusUnauthorized},
		{"invalid token", "iad.ocir.io", "BEARER_TOKEN", "nope", http.MethodGet, http.StatusUnauthorized},
		{"other region", "fra.ocir.io", "BEARER_TOKEN", tok, http.MethodGet, http.StatusUnauthorized},
		{"oauth POST", "iad.ocir.io", "BEARER_TOKEN", tok, http.MethodPost, http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := exchange(tc.host, tc.user, tc.pass, tc.method)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("no opc-request-id")
			}
			if tc.want == http.StatusOK {
				tb := decodeToken(t, body)
				if tb.Token == tok {
					t.Error("registry token equals the OCIR token")
				}
				if tb.ExpiresIn == nil || *tb.ExpiresIn <= 0 {
					t.Errorf("expires_in = %v", tb.ExpiresIn)
				}
			}
		})
	}
	if got := e.Count("registry-auth"); got != len(cases) {
		t.Errorf(`Count("registry-auth") = %d, want %d`, got, len(cases))
	}
	if got := e.Count("token"); got != 1 {
		t.Errorf(`Count("token") = %d, want 1 (exchanges are not OCIR token requests)`, got)
	}
}

func TestProxyRefusesPlainHTTP(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	tr := proxyTransport(t, e)
	tr.Proxy = http.ProxyURL(mustURL(t, e.ProxyURL()))
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, "http://iad.ocir.io/v2/", nil)
	resp, _ := do(t, &http.Client{Transport: tr}, req)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain proxy request: status %d, want 400", resp.StatusCode)
	}
}

// fileInLayer returns the content of path in the layer's tar.
func fileInLayer(t *testing.T, l v1.Layer, path string) string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s not in layer", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "/") == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}
