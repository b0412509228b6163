package emulator

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// APIKey is an RSA API signing key registered with the emulator.
type APIKey struct {
	Tenancy     string // tenancy OCID
	User        string // user OCID
	Fingerprint string // MD5 fingerprint of the public key, colon separated
	KeyFile     string // PEM file of the private key (0600)
	Passphrase  string // passphrase of KeyFile, "" when unencrypted
}

// SessionProfile is an OCI CLI style session ("oci session authenticate").
type SessionProfile struct {
	Profile   string // profile name in ConfigFile()
	TokenFile string // security_token_file (JWT plus trailing newline)
	KeyFile   string // session private key
}

// registeredKey is an API key the token service accepts.
type registeredKey struct {
	name    string
	tenancy string
	user    string
	pub     *rsa.PublicKey
}

var profileNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func validName(kind, name string) error {
	if !profileNameRE.MatchString(name) {
		return fmt.Errorf("emulator: invalid %s name %q (letters, digits, '.', '_', '-')", kind, name)
	}
	return nil
}

// writeDefaultProfile creates ConfigFile() afresh with a [DEFAULT] API key
// profile for key.
func (e *Emulator) writeDefaultProfile(key *rsa.PrivateKey) error {
	if err := writeFile(e.ConfigFile(), nil, 0o600); err != nil {
		return err
	}
	k, err := e.registerAPIKey("DEFAULT", "", key)
	if err != nil {
		return err
	}
	return e.WriteProfile("DEFAULT", k)
}

// NewAPIKey generates an RSA key for a new user of the tenancy, registers it
// with the token service and writes the private key to Dir/oci/<name>.pem
// (0600). It does not touch the config file; see WriteProfile.
func (e *Emulator) NewAPIKey(name string) (APIKey, error) {
	return e.newAPIKey(name, "")
}

// NewAPIKeyWithPassphrase is NewAPIKey with the private key file encrypted
// (legacy PEM encryption, as "openssl rsa -aes128" writes it) under
// passphrase.
func (e *Emulator) NewAPIKeyWithPassphrase(name, passphrase string) (APIKey, error) {
	if passphrase == "" {
		return APIKey{}, errors.New("emulator: empty passphrase")
	}
	return e.newAPIKey(name, passphrase)
}

func (e *Emulator) newAPIKey(name, passphrase string) (APIKey, error) {
	if err := validName("key", name); err != nil {
		return APIKey{}, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return APIKey{}, err
	}
	return e.registerAPIKey(name, passphrase, key)
}

// registerAPIKey registers key with the token service as a new user's API
// key and writes it to Dir/oci/<name>.pem (0600), encrypted under
// passphrase unless that is "". name must already be valid.
func (e *Emulator) registerAPIKey(name, passphrase string, key *rsa.PrivateKey) (APIKey, error) {
	fp, err := fingerprintMD5(&key.PublicKey)
	if err != nil {
		return APIKey{}, err
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	if passphrase != "" {
		//lint:ignore SA1019 legacy PEM encryption is what OCI users' encrypted keys look like.
		block, err = x509.EncryptPEMBlock(rand.Reader, block.Type, block.Bytes, []byte(passphrase), x509.PEMCipherAES128) //nolint:staticcheck
		if err != nil {
			return APIKey{}, err
		}
	}
	path := filepath.Join(e.dir, "oci", name+".pem")
	if err := writeFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return APIKey{}, err
	}
	k := APIKey{
		Tenancy:     e.tenancyID,
		User:        "ocid1.user." + e.region.Realm + "..aaaaaaaa" + randomLower(52),
		Fingerprint: fp,
		KeyFile:     path,
		Passphrase:  passphrase,
	}
	e.mu.Lock()
	e.apiKeys[k.Tenancy+"/"+k.User+"/"+k.Fingerprint] = &registeredKey{name: name, tenancy: k.Tenancy, user: k.User, pub: &key.PublicKey}
	e.mu.Unlock()
	return k, nil
}

// RevokeAPIKey unregisters an API key: requests signed with it then get 401
// NotAuthenticated, as after deleting the key in the console.
func (e *Emulator) RevokeAPIKey(k APIKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.apiKeys, k.Tenancy+"/"+k.User+"/"+k.Fingerprint)
}

// WriteProfile appends an API key profile [name] to ConfigFile(), with
// region set to the emulator's region.
func (e *Emulator) WriteProfile(name string, k APIKey) error {
	if err := validName("profile", name); err != nil {
		return err
	}
	lines := []string{
		"user=" + k.User,
		"fingerprint=" + k.Fingerprint,
		"tenancy=" + k.Tenancy,
		"region=" + e.region.ID,
		"key_file=" + k.KeyFile,
	}
	if k.Passphrase != "" {
		lines = append(lines, "pass_phrase="+k.Passphrase)
	}
	return e.appendProfile(name, lines)
}

// appendProfile adds a profile section to the config file, refusing
// duplicates.
func (e *Emulator) appendProfile(name string, lines []string) error {
	e.configMu.Lock()
	defer e.configMu.Unlock()
	old, err := os.ReadFile(e.ConfigFile())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("emulator: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "["+name+"]" {
			return fmt.Errorf("emulator: profile [%s] already exists in %s", name, e.ConfigFile())
		}
	}
	var b bytes.Buffer
	b.Write(old)
	if len(old) > 0 {
		if !bytes.HasSuffix(old, []byte("\n")) {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	b.WriteString("[" + name + "]\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return writeFile(e.ConfigFile(), b.Bytes(), 0o600)
}

// defaultTTL returns ttl, or one hour when ttl is 0.
func defaultTTL(ttl time.Duration) time.Duration {
	if ttl == 0 {
		return time.Hour
	}
	return ttl
}

// NewSessionToken creates what "oci session authenticate" leaves behind: a
// session key (Dir/<profile>/oci_api_key.pem), a security token signed by
// the emulator whose "jwk" claim is that key (Dir/<profile>/token, with the
// CLI's trailing newline), and a [profile] section in ConfigFile() with
// security_token_file, key_file, fingerprint, tenancy and region. The token
// expires after ttl (1h when 0; a negative ttl gives an expired token).
func (e *Emulator) NewSessionToken(profile string, ttl time.Duration) (SessionProfile, error) {
	if err := validName("profile", profile); err != nil {
		return SessionProfile{}, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return SessionProfile{}, err
	}
	fp, err := fingerprintMD5(&key.PublicKey)
	if err != nil {
		return SessionProfile{}, err
	}
	now := e.now()
	user := "ocid1.user." + e.region.Realm + "..aaaaaaaa" + randomLower(52)
	exp := now.Add(defaultTTL(ttl))
	tok, err := e.signSecurityToken(&key.PublicKey, "session-", now, exp, map[string]any{
		"sub":      user,
		"ptype":    "user",
		"ttype":    "login",
		"pstype":   "natv",
		"sess_exp": exp.UTC().Format(time.RFC1123),
	})
	if err != nil {
		return SessionProfile{}, err
	}
	sp := SessionProfile{
		Profile:   profile,
		TokenFile: filepath.Join(e.dir, profile, "token"),
		KeyFile:   filepath.Join(e.dir, profile, "oci_api_key.pem"),
	}
	if err := writeFile(sp.KeyFile, pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), 0o600); err != nil {
		return SessionProfile{}, err
	}
	if err := writeFile(sp.TokenFile, []byte(tok+"\n"), 0o600); err != nil {
		return SessionProfile{}, err
	}
	err = e.appendProfile(profile, []string{
		"fingerprint=" + fp,
		"key_file=" + sp.KeyFile,
		"tenancy=" + e.tenancyID,
		"region=" + e.region.ID,
		"security_token_file=" + sp.TokenFile,
	})
	if err != nil {
		return SessionProfile{}, err
	}
	return sp, nil
}

// NewResourcePrincipal returns a resource principal session token (RPST)
// and the matching private key in PEM, the values of
// OCI_RESOURCE_PRINCIPAL_RPST and OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM for
// OCI_RESOURCE_PRINCIPAL_VERSION=2.2. ttl as for NewSessionToken.
func (e *Emulator) NewResourcePrincipal(ttl time.Duration) (rpst string, privatePEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	now := e.now()
	resource := "ocid1.fnfunc." + e.region.Realm + "." + e.region.Key + "." + randomLower(60)
	tok, err := e.signSecurityToken(&key.PublicKey, "rp-", now, now.Add(defaultTTL(ttl)), map[string]any{
		"sub":             resource,
		"res_tenant":      e.tenancyID,
		"res_compartment": e.compartmentID,
		"res_id":          resource,
		"res_type":        "fnfunc",
		"ptype":           "resource",
		"ttype":           "res",
	})
	if err != nil {
		return "", "", err
	}
	return tok, string(pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))), nil
}

// NewServiceAccountToken returns a Kubernetes service-account JWT for
// system:serviceaccount:<namespace>:<name> that the OKE proxymux accepts as
// a Bearer token. ttl as for NewSessionToken.
func (e *Emulator) NewServiceAccountToken(namespace, name string, ttl time.Duration) string {
	return e.NewServiceAccountTokenFor(namespace, name, nil, ttl)
}

// NewServiceAccountTokenFor is NewServiceAccountToken for the audiences a
// TokenRequest asked for (none: the API server's own). The identity domain
// trusts these tokens for workload identity federation when the audience
// is WIFAudience.
func (e *Emulator) NewServiceAccountTokenFor(namespace, name string, audiences []string, ttl time.Duration) string {
	if len(audiences) == 0 {
		audiences = []string{KubernetesIssuer}
	}
	signer, err := e.saSigner()
	if err != nil {
		e.logf("emulator: signing service account token: %v", err)
		return ""
	}
	now := e.now()
	tok, err := signer.sign(map[string]any{
		"iss": KubernetesIssuer,
		"sub": "system:serviceaccount:" + namespace + ":" + name,
		"aud": audiences,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(defaultTTL(ttl)).Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      namespace,
			"serviceaccount": map[string]string{"name": name, "uid": e.serviceAccountUID(namespace, name)},
		},
	})
	if err != nil {
		e.logf("emulator: signing service account token: %v", err)
		return ""
	}
	return tok
}

// serviceAccountUID is the UID of a service account: the same for every
// token of one account, as in Kubernetes, until RecreateServiceAccount.
func (e *Emulator) serviceAccountUID(namespace, name string) string {
	e.mu.Lock()
	gen := e.saGeneration[namespace+"/"+name]
	e.mu.Unlock()
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d/%s", namespace, name, gen, e.tenancyID)))
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// RecreateServiceAccount simulates deleting and recreating a service
// account of the same name: its tokens carry a new UID from now on.
func (e *Emulator) RecreateServiceAccount(namespace, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.saGeneration == nil {
		e.saGeneration = map[string]int{}
	}
	e.saGeneration[namespace+"/"+name]++
}
