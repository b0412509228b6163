// Package emulator is a strict local fake of the parts of Oracle Cloud
// Infrastructure that OCIR credential helpers talk to: the instance metadata
// service, the X.509 federation endpoint, the OCIR token service (which
// verifies OCI request signatures), a registry with the real bearer-token
// challenge, the OKE workload-identity proxymux, and an HTTP CONNECT proxy
// with a test CA so that unmodified programs reach real host names such as
// iad.ocir.io. Everything listens on loopback with random ports.
//
// Start writes a directory with an env file, the CA, an OCI config file and
// an API key; see docs/emulator.md for the layout and the control API.
package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

// Endpoint names used by counters and faults.
const (
	endpointToken         = "token"
	endpointTokenAttempts = "token-attempts"
	endpointRegistryAuth  = "registry-auth"
	endpointRegistry      = "registry"
	endpointFederation    = "federation"
	endpointIMDS          = "imds"
	endpointOKE           = "oke"
)

// okePort is the fixed port of the OKE proxymux (the SDK hard-codes it).
const okePort = "12250"

// Options configures Start.
type Options struct {
	// Dir receives the generated files (env, ca.pem, oci/config, keys). It is
	// created if missing. Required.
	Dir string
	// Region is the region the fake instance lives in, as an identifier
	// ("us-ashburn-1") or a key ("iad"). Default "us-ashburn-1". Realm oc1.
	Region string
	// Logf, when set, receives one line per request and per notable event.
	Logf func(format string, args ...any)
	// OKEHost is a loopback IP (e.g. "127.0.0.2") on which the OKE proxymux
	// is served at the fixed port 12250. Empty means not started.
	OKEHost string
}

// Emulator is a running fake OCI. All methods are safe for concurrent use.
type Emulator struct {
	opts   Options
	dir    string
	region regionInfo

	tenancyID     string
	compartmentID string
	instanceID    string

	ca       *certAuthority
	certs    *certCache
	stSigner *jwtSigner // security tokens (session, federation, RPST, OKE)
	// saSigner makes, on first use, the signer of Kubernetes
	// service-account tokens.
	saSigner  func() (*jwtSigner, error)
	identity  *instanceIdentity
	okeCA     *certAuthority
	okeCAFile string
	idcs      *identityDomain // workload identity federation (idcs.go)
	oidc      *oidcIssuer     // CI and cluster subject tokens (oidc.go)

	clockOffset atomic.Int64 // time.Duration
	tokenTTL    atomic.Int64 // time.Duration

	mu             sync.Mutex
	counts         map[string]int
	hostCounts     map[string]map[string]int
	apiKeys        map[string]*registeredKey // by keyId tenancy/user/fingerprint
	ocirTokens     map[string]*ocirToken
	registryTokens map[string]*registryToken
	issued         []IssuedToken
	denied         map[string]bool
	saGeneration   map[string]int  // namespace/name → times recreated
	deniedSubjects map[string]bool // federated subjects without policy

	configMu sync.Mutex // serialises writes to the OCI config file

	faults   faultList
	registry *registryService

	servers  []*http.Server
	tunnel   *chanListener
	closing  chan struct{}
	closeErr error
	once     sync.Once

	proxyURL     string
	metadataURL  string
	controlURL   string
	registryAddr string

	env []string
}

// regionInfo describes the emulator's home region.
type regionInfo struct {
	ID, Key, Realm, Domain string
}

// oc1Regions maps region keys to identifiers for the commercial realm
// regions the emulator knows by key.
var oc1Regions = map[string]string{
	"iad": "us-ashburn-1", "phx": "us-phoenix-1", "sjc": "us-sanjose-1", "ord": "us-chicago-1",
	"fra": "eu-frankfurt-1", "lhr": "uk-london-1", "ams": "eu-amsterdam-1", "zrh": "eu-zurich-1",
	"cdg": "eu-paris-1", "mad": "eu-madrid-1", "nrt": "ap-tokyo-1", "kix": "ap-osaka-1",
	"syd": "ap-sydney-1", "mel": "ap-melbourne-1", "bom": "ap-mumbai-1", "hyd": "ap-hyderabad-1",
	"icn": "ap-seoul-1", "sin": "ap-singapore-1", "gru": "sa-saopaulo-1", "yyz": "ca-toronto-1",
	"yul": "ca-montreal-1", "jed": "me-jeddah-1", "dxb": "me-dubai-1", "jnb": "af-johannesburg-1",
}

// oc1KeyOf returns the key of the oc1 region whose identifier is id.
func oc1KeyOf(id string) (key string, ok bool) {
	for k, v := range oc1Regions {
		if v == id {
			return k, true
		}
	}
	return "", false
}

func resolveRegion(s string) (regionInfo, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		s = "us-ashburn-1"
	}
	if id, ok := oc1Regions[s]; ok {
		return regionInfo{ID: id, Key: s, Realm: "oc1", Domain: "oraclecloud.com"}, nil
	}
	if k, ok := oc1KeyOf(s); ok {
		return regionInfo{ID: s, Key: k, Realm: "oc1", Domain: "oraclecloud.com"}, nil
	}
	return regionInfo{}, fmt.Errorf("emulator: unknown region %q (use an oc1 region identifier such as us-ashburn-1)", s)
}

// regionOfHost returns the region identifier an OCIR host name belongs to,
// or "" when the host is not a recognisable OCIR host (loopback addresses,
// unknown names).
func regionOfHost(host string) string {
	h := strings.ToLower(hostOnly(host))
	if rest, ok := strings.CutSuffix(h, ".ocir.io"); ok && !strings.Contains(rest, ".") {
		if id, ok := oc1Regions[rest]; ok {
			return id
		}
		if _, ok := oc1KeyOf(rest); ok {
			return rest
		}
		return ""
	}
	if rest, ok := strings.CutPrefix(h, "ocir."); ok {
		if id, _, ok := strings.Cut(rest, ".oci."); ok && !strings.Contains(id, ".") {
			return id
		}
	}
	return ""
}

// Start generates keys and certificates, starts every listener on loopback
// and writes the files described in Options.Dir.
func Start(opts Options) (*Emulator, error) {
	if opts.Dir == "" {
		return nil, errors.New("emulator: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	region, err := resolveRegion(opts.Region)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "oci"), 0o700); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := &Emulator{
		opts:           opts,
		dir:            dir,
		region:         region,
		tenancyID:      "ocid1.tenancy." + region.Realm + "..aaaaaaaa" + randomLower(52),
		compartmentID:  "ocid1.compartment." + region.Realm + "..aaaaaaaa" + randomLower(52),
		instanceID:     "ocid1.instance." + region.Realm + "." + region.Key + "." + randomLower(60),
		counts:         map[string]int{},
		hostCounts:     map[string]map[string]int{},
		apiKeys:        map[string]*registeredKey{},
		ocirTokens:     map[string]*ocirToken{},
		registryTokens: map[string]*registryToken{},
		denied:         map[string]bool{},
		deniedSubjects: map[string]bool{},
		idcs:           newIdentityDomain(),
		oidc:           newOIDCIssuer(),
		closing:        make(chan struct{}),
	}
	e.tokenTTL.Store(int64(time.Hour))
	defaultKey, err := e.generateSecrets()
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, "ca.pem"), e.ca.certPEM, 0o644); err != nil {
		return nil, err
	}
	if e.registry, err = newRegistryService(e); err != nil {
		return nil, err
	}
	if err := e.listen(); err != nil {
		_ = e.Close()
		return nil, err
	}
	if err := e.writeDefaultProfile(defaultKey); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.env = []string{
		"HTTPS_PROXY=" + e.proxyURL,
		"NO_PROXY=127.0.0.1,localhost",
		"SSL_CERT_FILE=" + e.CAFile(),
		"OCI_DEFAULT_CERTS_PATH=" + e.CAFile(),
		"OCI_METADATA_BASE_URL=" + e.metadataURL,
		"OCI_CLI_CONFIG_FILE=" + e.ConfigFile(),
		"OCIR_EMULATOR_URL=" + e.controlURL,
	}
	if err := writeFile(e.EnvFile(), []byte(strings.Join(e.env, "\n")+"\n"), 0o600); err != nil {
		_ = e.Close()
		return nil, err
	}
	if err := e.writeWIFFiles(); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.logf("emulator: ready: proxy %s, metadata %s, control %s, registry %s", e.proxyURL, e.metadataURL, e.controlURL, e.registryAddr)
	return e, nil
}

// generateSecrets creates the CA, the security-token signing key, the
// instance identity, the OKE CA and the key of the [DEFAULT] API key
// profile concurrently (RSA key generation dominates start-up time). The
// service-account signer is made on first use: only OKE tests need it.
func (e *Emulator) generateSecrets() (defaultKey *rsa.PrivateKey, err error) {
	e.saSigner = sync.OnceValues(func() (*jwtSigner, error) {
		return newJWTSigner("emulator-service-account-key")
	})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Go(func() {
		var err error
		if e.ca, err = newCA("ocir emulator test CA"); err == nil {
			e.certs = newCertCache(e.ca)
			e.identity, err = newInstanceIdentity(e.ca, e.instanceID, e.compartmentID, e.tenancyID)
		}
		errs[0] = err
	})
	wg.Go(func() {
		var err error
		e.stSigner, err = newJWTSigner("emulator-security-token-key")
		errs[1] = err
	})
	wg.Go(func() {
		defaultKey, errs[2] = rsa.GenerateKey(rand.Reader, 2048)
	})
	if e.opts.OKEHost != "" {
		wg.Go(func() {
			var err error
			e.okeCA, err = newCA("ocir emulator OKE cluster CA")
			errs[3] = err
		})
	}
	wg.Wait()
	return defaultKey, errors.Join(errs...)
}

// listen opens every listener and starts the HTTP servers.
func (e *Emulator) listen() error {
	world := http.HandlerFunc(e.serveWorld)

	proxyLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("emulator: proxy listener: %w", err)
	}
	e.proxyURL = "http://" + proxyLn.Addr().String()
	e.serve(proxyLn, http.HandlerFunc(e.serveProxy))

	imdsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("emulator: metadata listener: %w", err)
	}
	e.metadataURL = "http://" + imdsLn.Addr().String() + "/opc/v2"
	e.serve(imdsLn, http.HandlerFunc(e.serveIMDS))

	controlLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("emulator: control listener: %w", err)
	}
	e.controlURL = "http://" + controlLn.Addr().String()
	e.serve(controlLn, e.controlHandler())

	regLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("emulator: registry listener: %w", err)
	}
	e.registryAddr = regLn.Addr().String()
	if _, err := e.certs.get("127.0.0.1"); err != nil {
		_ = regLn.Close()
		return err
	}

	e.tunnel = newChanListener(proxyLn.Addr())
	worldSrv := e.newServer(world)
	e.servers = append(e.servers, worldSrv)
	go func() { _ = worldSrv.Serve(e.tunnel) }()
	tlsRegLn := tls.NewListener(regLn, e.certs.tlsConfig("127.0.0.1"))
	go func() { _ = worldSrv.Serve(tlsRegLn) }()

	if e.opts.OKEHost != "" {
		if net.ParseIP(e.opts.OKEHost) == nil {
			return fmt.Errorf("emulator: OKEHost %q is not an IP address", e.opts.OKEHost)
		}
		okeLn, err := net.Listen("tcp", net.JoinHostPort(e.opts.OKEHost, okePort))
		if err != nil {
			return fmt.Errorf("emulator: OKE proxymux listener: %w", err)
		}
		cert, err := e.okeCA.serverCert(e.opts.OKEHost)
		if err != nil {
			_ = okeLn.Close()
			return err
		}
		e.okeCAFile = filepath.Join(e.dir, "oke-ca.pem")
		if err := writeFile(e.okeCAFile, e.okeCA.certPEM, 0o644); err != nil {
			_ = okeLn.Close()
			return err
		}
		cfg := &tls.Config{
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
			Certificates: []tls.Certificate{*cert},
		}
		e.serve(tls.NewListener(okeLn, cfg), http.HandlerFunc(e.serveOKE))
	}
	return nil
}

func (e *Emulator) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          e.serverLog(),
	}
}

func (e *Emulator) serve(ln net.Listener, h http.Handler) {
	srv := e.newServer(h)
	e.servers = append(e.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// Close stops every listener and aborts requests in flight (hung faults
// included). Files in Options.Dir are left in place.
func (e *Emulator) Close() error {
	e.once.Do(func() {
		close(e.closing)
		var errs []error
		if e.tunnel != nil {
			errs = append(errs, e.tunnel.Close())
		}
		for _, s := range e.servers {
			if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, err)
			}
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// Env returns the environment ("KEY=VALUE") that points clients at the
// emulator; the same lines are in Dir/env.
func (e *Emulator) Env() []string { return append([]string(nil), e.env...) }

// ControlURL is the base URL of the control API (plain HTTP).
func (e *Emulator) ControlURL() string { return e.controlURL }

// ProxyURL is the URL of the HTTP CONNECT proxy (value for HTTPS_PROXY).
func (e *Emulator) ProxyURL() string { return e.proxyURL }

// Proxy is what Env's HTTPS_PROXY and NO_PROXY say for one URL, for an
// in-process client that cannot take them from the process environment
// (net/http reads that once per process, and every emulator has its own
// proxy): loopback hosts directly, everything else through ProxyURL. It
// fits ocir.WithProxy and http.Transport.Proxy (via a request's URL).
func (e *Emulator) Proxy(u *url.URL) (*url.URL, error) {
	if config.IsLoopback(u.Hostname()) {
		return nil, nil
	}
	return url.Parse(e.proxyURL)
}

// MetadataURL is the instance metadata base URL, value for
// OCI_METADATA_BASE_URL (http://127.0.0.1:port/opc/v2).
func (e *Emulator) MetadataURL() string { return e.metadataURL }

// EnvFile is Dir/env, the file holding the lines of Env.
func (e *Emulator) EnvFile() string { return filepath.Join(e.dir, "env") }

// EnvMap is Env as a map, for tests that hand a program its environment
// through a getenv function.
func (e *Emulator) EnvMap() map[string]string {
	m := make(map[string]string, len(e.env))
	for _, kv := range e.env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// GetenvWith is the getenv of a program pointed at the emulator: a
// variable of overrides (HOME, a cache directory, a setting under test)
// wins over Env.
func (e *Emulator) GetenvWith(overrides map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := overrides[k]; ok {
			return v
		}
		return e.Getenv(k)
	}
}

// Getenv returns the value of key in Env, or "" when Env does not set it.
func (e *Emulator) Getenv(key string) string {
	for _, kv := range e.env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// CAFile is the PEM file of the test CA that signs every TLS certificate the
// emulator presents (except the OKE proxymux's).
func (e *Emulator) CAFile() string { return filepath.Join(e.dir, "ca.pem") }

// ConfigFile is the OCI config file whose [DEFAULT] profile is a registered
// API key.
func (e *Emulator) ConfigFile() string { return filepath.Join(e.dir, "oci", "config") }

// RegistryAddr is 127.0.0.1:port where the registry, the token service and
// the federation endpoint are also served directly over TLS (test CA).
func (e *Emulator) RegistryAddr() string { return e.registryAddr }

// OKECAFile is the CA of the OKE proxymux listener (value for
// OCI_KUBERNETES_SERVICE_ACCOUNT_CERT_PATH), or "" when it is not started.
func (e *Emulator) OKECAFile() string { return e.okeCAFile }

// TenancyID is the OCID of the emulated tenancy.
func (e *Emulator) TenancyID() string { return e.tenancyID }

// InstanceID is the OCID of the emulated compute instance.
func (e *Emulator) InstanceID() string { return e.instanceID }

// tenancyNamespace is the object-storage namespace of the emulated tenancy.
const tenancyNamespace = "demotenancy"

// Namespace is the object-storage namespace of the tenancy ("demotenancy"),
// the first path element of its repositories.
func (e *Emulator) Namespace() string { return tenancyNamespace }

// SetClockOffset sets the emulator's clock to the real time plus d. Signed
// requests dated more than 5 minutes away from it are refused, and tokens
// are issued and expire by it.
func (e *Emulator) SetClockOffset(d time.Duration) { e.clockOffset.Store(int64(d)) }

// SetTokenTTL sets the lifetime of OCIR tokens (expires_in), default 1h.
// 0 omits expires_in; such tokens are valid for 60 s, the distribution
// default.
func (e *Emulator) SetTokenTTL(d time.Duration) { e.tokenTTL.Store(int64(d)) }

// DenyRepo makes pulls and pushes of repo (e.g. "demotenancy/nopolicy")
// answer 403 DENIED, as OCIR does when IAM policy is missing. Tokens are
// still issued.
func (e *Emulator) DenyRepo(repo string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.denied[strings.Trim(repo, "/")] = true
}

// AllowRepo undoes DenyRepo.
func (e *Emulator) AllowRepo(repo string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.denied, strings.Trim(repo, "/"))
}

func (e *Emulator) isDenied(repo string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.denied[repo]
}

func (e *Emulator) now() time.Time {
	return time.Now().Add(time.Duration(e.clockOffset.Load()))
}

// Count returns how many requests an endpoint has seen since the last reset:
// "token" (signed OCIR token requests that succeeded), "token-attempts"
// (every request to the token path carrying an OCI signature),
// "registry-auth" (basic or anonymous exchanges at the token realm),
// "registry" (every /v2/ request), "federation", "imds", "oke" (every
// request).
func (e *Emulator) Count(endpoint string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.counts[endpoint]
}

// CountHost is Count restricted to requests whose Host (without port) is
// host, e.g. "iad.ocir.io".
func (e *Emulator) CountHost(endpoint, host string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hostCounts[endpoint][strings.ToLower(hostOnly(host))]
}

// ResetCounters sets every counter to zero.
func (e *Emulator) ResetCounters() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts = map[string]int{}
	e.hostCounts = map[string]map[string]int{}
}

func (e *Emulator) count(endpoint, host string) {
	h := strings.ToLower(hostOnly(host))
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[endpoint]++
	m := e.hostCounts[endpoint]
	if m == nil {
		m = map[string]int{}
		e.hostCounts[endpoint] = m
	}
	m[h]++
}

// counterSnapshot is the JSON form of the counters served by the control API.
type counterSnapshot struct {
	Counts map[string]int            `json:"counts"`
	Hosts  map[string]map[string]int `json:"hosts"`
}

func (e *Emulator) snapshot() counterSnapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := counterSnapshot{Counts: maps.Clone(e.counts), Hosts: make(map[string]map[string]int, len(e.hostCounts))}
	for k, m := range e.hostCounts {
		s.Hosts[k] = maps.Clone(m)
	}
	return s
}

func (e *Emulator) logf(format string, args ...any) {
	if e.opts.Logf != nil {
		e.opts.Logf(format, args...)
	}
}

// hostOnly strips an optional port from a Host header value.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// ociErrorBody is the error body of OCI services.
type ociErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// msgNotAuthenticated is OCI's message for every authentication failure.
const msgNotAuthenticated = "The required information to complete authentication was not provided or was incorrect."

// writeOCIError answers with an OCI-style JSON error and an opc-request-id.
func writeOCIError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	setOPCRequestID(w, r)
	writeJSON(w, status, ociErrorBody{Code: code, Message: message})
}

// notAuthenticated logs why a request failed authentication and answers it
// with OCI's 401 NotAuthenticated, whose message never says why.
func (e *Emulator) notAuthenticated(w http.ResponseWriter, r *http.Request, format string, args ...any) {
	e.logf(format, args...)
	writeOCIError(w, r, http.StatusUnauthorized, "NotAuthenticated", msgNotAuthenticated)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// setOPCRequestID sets the opc-request-id response header once.
func setOPCRequestID(w http.ResponseWriter, r *http.Request) {
	if w.Header().Get("opc-request-id") != "" {
		return
	}
	id := strings.ToUpper(randomHex(16))
	if c := r.Header.Get("opc-request-id"); c != "" && len(c) <= 98 {
		id = c + "/" + id
	}
	w.Header().Set("opc-request-id", id)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// randomLower returns n random lower-case letters and digits, the alphabet
// of OCID unique parts.
func randomLower(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// writeFile writes data atomically with the given permissions.
func writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("emulator: %w", err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("emulator: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	return nil
}
