package ocir

import (
	"crypto/x509"
	"errors"
	"net"
	"strings"
)

// permanentError marks a network failure that no retry can fix (the
// server's certificate is not trusted, the proxy refuses us or is not
// there, the name does not exist): it is reported at once and never
// remembered as a slow failure.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// isPermanent reports whether err is, or wraps, a permanent failure.
func isPermanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe) || permanentHint(err) != ""
}

// permanentHint returns what the user must fix for a network error no
// retry can cure, or "" for an error worth retrying.
func permanentHint(err error) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		op        *net.OpError
		dnsErr    *net.DNSError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &invalid):
		return "the server's certificate is not trusted: if a proxy or firewall re-signs TLS, add its CA with SSL_CERT_FILE (or OCI_DEFAULT_CERTS_PATH)"
	case errors.As(err, &hostErr):
		return "the server's certificate is for another host name: check HTTPS_PROXY and any TLS-intercepting proxy"
	case strings.Contains(err.Error(), "Proxy Authentication Required"):
		return "the proxy requires credentials: put them in HTTPS_PROXY (https://user:password@proxy:port)"
	case errors.As(err, &op) && op.Op == "proxyconnect":
		return "the proxy in HTTPS_PROXY cannot be reached: check HTTPS_PROXY (and NO_PROXY)"
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "the host name does not resolve: check DNS, or set HTTPS_PROXY if this network only reaches OCI through a proxy"
	}
	return ""
}
