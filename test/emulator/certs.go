package emulator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"
)

// certAuthority is a CA held in memory that can issue certificates.
type certAuthority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// newCA creates a self-signed CA with an ECDSA P-256 key.
func newCA(commonName string) (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"ocir-credential-helper emulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certAuthority{cert: cert, key: key, certPEM: pemEncode("CERTIFICATE", der)}, nil
}

// serverCert issues a TLS server certificate for host (a DNS name or an IP).
func (ca *certAuthority) serverCert(hosts ...string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// certCache issues and caches one TLS certificate per host name.
type certCache struct {
	ca    *certAuthority
	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

func newCertCache(ca *certAuthority) *certCache {
	return &certCache{ca: ca, certs: map[string]*tls.Certificate{}}
}

// get returns the certificate for host, issuing it on first use.
func (c *certCache) get(host string) (*tls.Certificate, error) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	c.mu.Lock()
	defer c.mu.Unlock()
	if cert, ok := c.certs[host]; ok {
		return cert, nil
	}
	hosts := []string{host}
	if host == "127.0.0.1" {
		hosts = append(hosts, "localhost")
	}
	cert, err := c.ca.serverCert(hosts...)
	if err != nil {
		return nil, err
	}
	c.certs[host] = cert
	return cert, nil
}

// tlsConfig returns a server TLS configuration that picks the certificate from
// the SNI name, or from fallbackHost when the client sent none (IP literals).
func (c *certCache) tlsConfig(fallbackHost string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" {
				name = fallbackHost
			}
			return c.get(name)
		},
	}
}

// instanceIdentity is the X.509 material the instance metadata service hands
// out: an intermediate CA and a leaf certificate whose subject names the
// instance, its compartment and its tenancy.
type instanceIdentity struct {
	intermediate    *x509.Certificate
	intermediatePEM []byte
	leaf            *x509.Certificate
	leafPEM         []byte
	leafKeyPEM      []byte
}

// Object identifiers of the subject attributes used in instance certificates.
var (
	oidCommonName         = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidOrganizationalUnit = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// newInstanceIdentity issues the intermediate CA (RSA, signed by root) and an
// instance leaf certificate signed by that intermediate.
func newInstanceIdentity(root *certAuthority, instanceID, compartmentID, tenancyID string) (*instanceIdentity, error) {
	interKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	interTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "PKISVC Identity Intermediate emulator", Organization: []string{"ocir-credential-helper emulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root.cert, interKey.Public(), root.key)
	if err != nil {
		return nil, err
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, err
	}

	leafKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidCommonName, Value: instanceID},
			{Type: oidOrganizationalUnit, Value: "opc-certtype:instance"},
			{Type: oidOrganizationalUnit, Value: "opc-compartment:" + compartmentID},
			{Type: oidOrganizationalUnit, Value: "opc-instance:" + instanceID},
			{Type: oidOrganizationalUnit, Value: "opc-tenant:" + tenancyID},
		}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, inter, leafKey.Public(), interKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	return &instanceIdentity{
		intermediate:    inter,
		intermediatePEM: pemEncode("CERTIFICATE", interDER),
		leaf:            leaf,
		leafPEM:         pemEncode("CERTIFICATE", leafDER),
		leafKeyPEM:      pemEncode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(leafKey)),
	}, nil
}

// subjectValue returns the value of the first subject attribute with the
// given prefix (e.g. "opc-tenant:"), without the prefix.
func subjectValue(cert *x509.Certificate, prefix string) string {
	for _, n := range cert.Subject.Names {
		if s, ok := n.Value.(string); ok && strings.HasPrefix(s, prefix) {
			return strings.TrimPrefix(s, prefix)
		}
	}
	return ""
}

// fingerprintMD5 is the OCI API key fingerprint: the colon separated MD5 of
// the DER encoded public key.
func fingerprintMD5(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := md5.Sum(der)
	return colonHex(sum[:]), nil
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}
