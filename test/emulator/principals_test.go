package emulator_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/common/auth"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// These tests set process environment read by the SDK and must not run in
// parallel.

func TestMetadataServiceAnswersWhatTheSDKReads(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	get := func(path, auth string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, e.MetadataURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, body := do(t, http.DefaultClient, req)
		return resp, string(body)
	}
	if resp, _ := get("/instance/region", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without Bearer Oracle: status %d, want 401", resp.StatusCode)
	}
	if resp, body := get("/instance/region", "Bearer Oracle"); resp.StatusCode != http.StatusOK || body != "iad" {
		t.Errorf("region: status %d body %q, want 200 \"iad\"", resp.StatusCode, body)
	}
	_, body := get("/instance/regionInfo", "Bearer Oracle")
	var ri map[string]string
	if err := json.Unmarshal([]byte(body), &ri); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"regionKey": "IAD", "realmKey": "oc1", "realmDomainComponent": "oraclecloud.com", "regionIdentifier": "us-ashburn-1"}
	for k, v := range want {
		if ri[k] != v {
			t.Errorf("regionInfo[%s] = %q, want %q", k, ri[k], v)
		}
	}
	_, body = get("/instance/", "Bearer Oracle")
	var inst map[string]any
	if err := json.Unmarshal([]byte(body), &inst); err != nil {
		t.Fatal(err)
	}
	if inst["id"] != e.InstanceID() || inst["region"] != "iad" || !strings.HasPrefix(inst["compartmentId"].(string), "ocid1.compartment.") {
		t.Errorf("instance = %v", inst)
	}
	for _, p := range []string{"/identity/cert.pem", "/identity/intermediate.pem", "/identity/key.pem"} {
		if resp, body := get(p, "Bearer Oracle"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "-----BEGIN ") {
			t.Errorf("%s: status %d body %.40q", p, resp.StatusCode, body)
		}
	}
	if got := e.Count("imds"); got != 7 {
		t.Errorf(`Count("imds") = %d, want 7`, got)
	}
}

func TestInstancePrincipalFederatesAndSigns(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	t.Setenv("OCI_METADATA_BASE_URL", e.MetadataURL())
	t.Setenv("HTTPS_PROXY", e.ProxyURL())
	t.Setenv("NO_PROXY", "127.0.0.1,localhost")
	t.Setenv("OCI_DEFAULT_CERTS_PATH", e.CAFile())
	client := proxyClient(t, e)

	p, err := auth.InstancePrincipalConfigurationProviderWithCustomClient(func(common.HTTPRequestDispatcher) (common.HTTPRequestDispatcher, error) {
		return client, nil
	})
	if err != nil {
		t.Fatalf("instance principal provider: %v", err)
	}
	if tenancy, _ := p.TenancyOCID(); tenancy != e.TenancyID() {
		t.Errorf("TenancyOCID = %q, want %q", tenancy, e.TenancyID())
	}
	if region, _ := p.Region(); region != "us-ashburn-1" {
		t.Errorf("Region = %q", region)
	}
	for i := 0; i < 2; i++ {
		resp, body := signedGet(t, client, p, tokenURL("iad.ocir.io"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, body)
		}
	}
	if got := e.Count("federation"); got != 1 {
		t.Errorf(`Count("federation") = %d, want 1 (the security token is reused)`, got)
	}
	if got := e.CountHost("federation", "auth.us-ashburn-1.oraclecloud.com"); got != 1 {
		t.Errorf("federation on auth.us-ashburn-1.oraclecloud.com = %d, want 1", got)
	}
	if got := e.Count("token"); got != 2 {
		t.Errorf(`Count("token") = %d, want 2`, got)
	}
	issued := e.IssuedTokens()
	if len(issued) != 2 || issued[0].Kind != emulator.KindInstancePrincipal || issued[0].Principal != e.InstanceID() {
		t.Errorf("IssuedTokens = %+v", issued)
	}
}

func TestFederationVerifiesSignatureCertificateAndDate(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	imds := func(path string) []byte {
		req, _ := http.NewRequest(http.MethodGet, e.MetadataURL()+path, nil)
		req.Header.Set("Authorization", "Bearer Oracle")
		_, body := do(t, http.DefaultClient, req)
		return body
	}
	leafPEM, interPEM := imds("/identity/cert.pem"), imds("/identity/intermediate.pem")
	leafKey, err := common.PrivateKeyFromBytes(imds("/identity/key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sessionKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreignPEM := selfSignedInstanceCert(t, otherKey, e.TenancyID())

	post := func(certPEM []byte, signer *rsa.PrivateKey, date time.Time) (*http.Response, []byte) {
		body, _ := json.Marshal(map[string]any{
			"certificate":              stripPEM(certPEM),
			"publicKey":                stripPEM(publicPEM(t, &sessionKey.PublicKey)),
			"intermediateCertificates": []string{stripPEM(interPEM)},
			"fingerprintAlgorithm":     "SHA256",
		})
		req, err := http.NewRequest(http.MethodPost, "https://auth.us-ashburn-1.oraclecloud.com/v1/x509", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Date", date.UTC().Format(http.TimeFormat))
		if signer != nil {
			keyID := e.TenancyID() + "/fed-x509-sha256/" + sha256Fingerprint(t, certPEM)
			s := common.RequestSigner(rawSigner{signer, keyID}, []string{"date", "(request-target)"}, []string{"content-length", "content-type", "x-content-sha256"})
			if err := s.Sign(req); err != nil {
				t.Fatal(err)
			}
		}
		return do(t, client, req)
	}
	cases := []struct {
		name   string
		cert   []byte
		signer *rsa.PrivateKey
		date   time.Time
		want   int
	}{
		{"instance certificate and key", leafPEM, leafKey, time.Now(), http.StatusOK},
		{"unsigned", leafPEM, nil, time.Now(), http.StatusUnauthorized},
		{"signed with another key", leafPEM, otherKey, time.Now(), http.StatusUnauthorized},
		{"certificate not issued by the emulator", foreignPEM, otherKey, time.Now(), http.StatusUnauthorized},
		{"stale date", leafPEM, leafKey, time.Now().Add(-6 * time.Minute), http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(tc.cert, tc.signer, tc.date)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, body)
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("no opc-request-id")
			}
			if tc.want != http.StatusOK {
				if oe := decodeOCIError(t, body); oe.Code != "NotAuthenticated" {
					t.Errorf("code %q", oe.Code)
				}
				return
			}
			var tok struct{ Token string }
			if err := json.Unmarshal(body, &tok); err != nil {
				t.Fatal(err)
			}
			claims := jwtClaims(t, tok.Token)
			exp := time.Unix(int64(claims["exp"].(float64)), 0)
			if d := time.Until(exp); d < 19*time.Minute || d > 21*time.Minute {
				t.Errorf("token expires in %s, want 20m", d)
			}
			if claims["ptype"] != "instance" || claims["sub"] != e.InstanceID() || claims["tenant"] != e.TenancyID() {
				t.Errorf("claims = %v", claims)
			}
			if _, ok := claims["jwk"].(string); !ok {
				t.Errorf("jwk claim %v is not a JSON string", claims["jwk"])
			}
		})
	}
}

func TestResourcePrincipal22Signs(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	rpst, pemKey, err := e.NewResourcePrincipal(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
	t.Setenv("OCI_RESOURCE_PRINCIPAL_RPST", rpst)
	t.Setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", pemKey)
	t.Setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1")
	os.Unsetenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE")

	p, err := auth.ResourcePrincipalConfigurationProvider()
	if err != nil {
		t.Fatal(err)
	}
	if tenancy, err := p.TenancyOCID(); err != nil || tenancy != e.TenancyID() {
		t.Errorf("TenancyOCID = %q, %v", tenancy, err)
	}
	resp, body := signedGet(t, proxyClient(t, e), p, tokenURL("ocir.us-ashburn-1.oci.oraclecloud.com"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if issued := e.IssuedTokens(); len(issued) != 1 || issued[0].Kind != emulator.KindResourcePrincipal {
		t.Errorf("IssuedTokens = %+v", issued)
	}
}

func TestOKEWorkloadIdentityThroughProxymux(t *testing.T) {
	const okeHost = "127.0.0.2"
	e, err := startEmulatorErr(t, emulator.Options{OKEHost: okeHost})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Start with OKEHost %s: %v", okeHost, err)
		}
		t.Skipf("SKIPPED LOUDLY: cannot serve the OKE proxymux on %s:12250 here (%v); set CI=true to make this a failure", okeHost, err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", okeHost)
	t.Setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
	t.Setenv("OCI_RESOURCE_PRINCIPAL_REGION", "us-ashburn-1")
	t.Setenv("OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH", e.OKECAFile())
	client := proxyClient(t, e)

	sa := e.NewServiceAccountToken("apps", "puller", time.Hour)
	p, err := auth.OkeWorkloadIdentityConfigurationProviderWithServiceAccountTokenProvider(auth.NewSuppliedServiceAccountTokenProvider(sa))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := signedGet(t, client, p, tokenURL("iad.ocir.io"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := e.Count("oke"); got != 1 {
		t.Errorf(`Count("oke") = %d, want 1`, got)
	}
	issued := e.IssuedTokens()
	if len(issued) != 1 || issued[0].Kind != emulator.KindOKEWorkloadIdentity || issued[0].Principal != "system:serviceaccount:apps:puller" {
		t.Errorf("IssuedTokens = %+v", issued)
	}

	// A well-formed service-account JWT not signed by the cluster is refused.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := auth.OkeWorkloadIdentityConfigurationProviderWithServiceAccountTokenProvider(auth.NewSuppliedServiceAccountTokenProvider(forgeJWT(t, key, &key.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forged.KeyID(); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("forged service account token: KeyID error = %v, want a 401", err)
	}
	if got := e.Count("oke"); got != 2 {
		t.Errorf(`Count("oke") = %d, want 2`, got)
	}

	// Raw protocol: the answer is a JSON string holding base64 JSON.
	okeClient := &http.Client{Transport: &http.Transport{TLSClientConfig: proxyTransport(t, e).TLSClientConfig.Clone()}}
	okeClient.Transport.(*http.Transport).TLSClientConfig.RootCAs = caPool(t, e.OKECAFile())
	req, err := http.NewRequest(http.MethodPost, "https://"+okeHost+":12250/resourcePrincipalSessionTokens", strings.NewReader(`{"podKey":"not a key"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sa)
	resp, err = okeClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad podKey: status %d, want 400", resp.StatusCode)
	}
}

// selfSignedInstanceCert is an instance-like certificate the emulator did not
// issue.
func selfSignedInstanceCert(t *testing.T, key *rsa.PrivateKey, tenancy string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject: pkix.Name{CommonName: "ocid1.instance.oc1.iad.foreign", OrganizationalUnit: []string{
			"opc-certtype:instance", "opc-instance:ocid1.instance.oc1.iad.foreign", "opc-tenant:" + tenancy,
		}},
		NotBefore: time.Now().Add(-time.Hour),
		NotAfter:  time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func publicPEM(t *testing.T, pub *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// stripPEM is what the SDK sends: the base64 body without armour or newlines.
func stripPEM(b []byte) string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

func sha256Fingerprint(t *testing.T, certPEM []byte) string {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	sum := sha256.Sum256(block.Bytes)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":")
}

// jwtClaims decodes (without verifying) the claims of a JWT.
func jwtClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func TestRegionOptionMovesTheInstance(t *testing.T) {
	e := startEmulator(t, emulator.Options{Region: "fra"})
	req, _ := http.NewRequest(http.MethodGet, e.MetadataURL()+"/instance/region", nil)
	req.Header.Set("Authorization", "Bearer Oracle")
	if _, body := do(t, http.DefaultClient, req); string(body) != "fra" {
		t.Errorf("region %q, want fra", body)
	}
	cfg, err := os.ReadFile(e.ConfigFile())
	if err != nil || !strings.Contains(string(cfg), "region=eu-frankfurt-1") {
		t.Errorf("config %q, %v: want region=eu-frankfurt-1", cfg, err)
	}
	if _, err := emulator.Start(emulator.Options{Dir: t.TempDir(), Region: "mars-1"}); err == nil {
		t.Error("Start with an unknown region succeeded")
	}
	if _, err := emulator.Start(emulator.Options{}); err == nil {
		t.Error("Start without Dir succeeded")
	}
}
