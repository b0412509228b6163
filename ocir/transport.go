package ocir

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
)

// HTTPClient returns the client the Provider talks to OCI with: the one
// WithHTTPClient gave, or one built once from the environment (WithProxy
// or the process's proxies, extra trust roots from SSL_CERT_FILE /
// OCI_DEFAULT_CERTS_PATH, bounded connect and handshake times). It never
// follows a redirect. Front ends use it to reach a registry with the same
// network settings (package pullcheck).
func (p *Provider) HTTPClient() (*http.Client, error) {
	if err := p.built(); err != nil {
		return nil, err
	}
	if p.http != nil {
		c := *p.http // never replay a signed request to a redirect target
		c.CheckRedirect = noRedirects
		return &c, nil
	}
	p.clientOnce.Do(func() {
		var tr *http.Transport
		tr, p.clientErr = p.newTransport()
		p.client = &http.Client{Transport: tr, CheckRedirect: noRedirects}
	})
	return p.client, p.clientErr
}

// noRedirects refuses to follow redirects: a signed request must never be
// replayed to a host we did not choose.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// processProxy is net/http's own reading of HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY (and their lower-case forms) from the process environment, done
// once per process. Reading them through the Provider's getenv instead
// would need a second copy of the proxy rules (golang.org/x/net's
// httpproxy, with its IDNA and Unicode tables) in every binary, which costs
// each warm call measurably more than the feature is worth: a program
// whose proxies are not in its own environment passes WithProxy.
func processProxy(u *url.URL) (*url.URL, error) {
	return http.ProxyFromEnvironment(&http.Request{URL: u})
}

func (p *Provider) newTransport() (*http.Transport, error) {
	proxyFor := p.proxy
	if proxyFor == nil {
		proxyFor = processProxy
	}
	metadataHost := ""
	if u, err := url.Parse(p.metadataBaseURL()); err == nil {
		metadataHost = u.Hostname()
	}
	roots, err := p.rootCAs()
	if err != nil {
		return nil, err
	}
	return &http.Transport{
		// The metadata service must never be reached through a proxy:
		// IMDSv2 rejects forwarded requests.
		Proxy: func(r *http.Request) (*url.URL, error) {
			if h := r.URL.Hostname(); h == "169.254.169.254" || h == metadataHost || config.IsLoopback(h) {
				return nil, nil
			}
			return proxyFor(r.URL)
		},
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 15 * time.Second,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
	}, nil
}

// rootCAs mirrors the SDK: OCI_DEFAULT_CERTS_PATH replaces the trust roots;
// otherwise the system roots plus SSL_CERT_FILE (read through getenv so an
// embedding program controls it).
func (p *Provider) rootCAs() (*x509.CertPool, error) {
	if path := p.getenv("OCI_DEFAULT_CERTS_PATH"); path != "" {
		pool := x509.NewCertPool()
		if err := appendPEMFile(pool, path); err != nil {
			return nil, broken("OCI_DEFAULT_CERTS_PATH: %w", err)
		}
		return pool, nil
	}
	path := p.getenv("SSL_CERT_FILE")
	if path == "" {
		return nil, nil // system roots
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if err := appendPEMFile(pool, path); err != nil {
		return nil, broken("SSL_CERT_FILE: %w", err)
	}
	return pool, nil
}

func appendPEMFile(pool *x509.CertPool, path string) error {
	raw, err := ocicli.ReadFile(path)
	if err != nil {
		return err
	}
	if !pool.AppendCertsFromPEM(raw) {
		return fmt.Errorf("%s holds no PEM certificates", path)
	}
	return nil
}
