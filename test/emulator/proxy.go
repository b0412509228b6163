package emulator

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// serveProxy is the CONNECT proxy. Every tunnel is terminated here with a
// certificate for the requested host signed by the test CA, and the
// decrypted requests are served by serveWorld: the emulator is the whole
// world behind the proxy, nothing is forwarded to the network.
func (e *Emulator) serveProxy(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		e.logf("emulator: proxy: refused plain %s %s (only CONNECT is supported)", r.Method, r.URL)
		http.Error(w, "ocir-emulator: this proxy only supports CONNECT (HTTPS); plain HTTP proxying is refused", http.StatusBadRequest)
		return
	}
	host := hostOnly(r.Host)
	if host == "" {
		http.Error(w, "ocir-emulator: CONNECT without a host", http.StatusBadRequest)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "ocir-emulator: cannot hijack connection", http.StatusInternalServerError)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		e.logf("emulator: proxy: hijack: %v", err)
		return
	}
	_ = conn.SetDeadline(time.Time{})
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	e.logf("emulator: proxy: CONNECT %s", r.Host)
	// The client may already have sent its ClientHello; it can sit in the
	// hijacked reader's buffer.
	tunnel := &readerConn{Conn: conn, r: rw.Reader}
	tc := tls.Server(tunnel, e.certs.tlsConfig(host))
	if !e.tunnel.push(tc) {
		tc.Close()
	}
}

// ClientTransport returns an http.Transport that reaches the emulated world
// as clients do: https requests go through the CONNECT proxy (ProxyURL),
// plain http (the metadata service, the control API) goes direct, and TLS
// trusts only the emulator's test CA.
func (e *Emulator) ClientTransport() (*http.Transport, error) {
	proxy, err := url.Parse(e.proxyURL)
	if err != nil {
		return nil, fmt.Errorf("emulator: proxy URL: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(e.ca.certPEM) {
		return nil, fmt.Errorf("emulator: no certificate in the test CA PEM (%s)", e.CAFile())
	}
	return &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if r.URL.Scheme == "https" {
				return proxy, nil
			}
			return nil, nil
		},
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}, nil
}

// serveWorld routes a decrypted request (from a tunnel or from the direct
// TLS listener) by host and path.
func (e *Emulator) serveWorld(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	start := time.Now()
	defer func() {
		e.logf("emulator: %s %s%s -> %d (%s)", r.Method, r.Host, r.URL.RequestURI(), rec.statusCode(), time.Since(start).Round(time.Millisecond))
	}()
	host := strings.ToLower(hostOnly(r.Host))
	isIP := net.ParseIP(host) != nil || host == "localhost"
	switch {
	case strings.HasPrefix(host, "auth."):
		e.serveFederation(rec, r)
	case isIdentityDomain(host):
		e.serveIDCS(rec, r)
	case host == actionsHost:
		e.serveActionsToken(rec, r)
	case isIP && r.URL.Path == federationPath:
		// Lets OCI_SDK_AUTH_CLIENT_REGION_URL point at RegistryAddr().
		e.serveFederation(rec, r)
	case r.URL.Path == tokenPath:
		e.serveToken(rec, r)
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		e.registry.serve(rec, r)
	default:
		writeOCIError(rec, r, http.StatusNotFound, "NotAuthorizedOrNotFound", "ocir-emulator: no such endpoint on "+host+": "+r.URL.Path)
	}
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush forwards to the underlying writer when it supports flushing.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// statusCode is the status sent, or 0 when nothing was (hung or abandoned).
func (s *statusRecorder) statusCode() int { return s.status }

// readerConn reads through a buffered reader that wraps Conn.
type readerConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// chanListener is a net.Listener fed with connections by push.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// push hands c to Accept; false when the listener is closed.
func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// serverLog routes net/http's own error log (TLS handshake failures such as
// "unknown certificate authority" are the useful ones) to Options.Logf.
func (e *Emulator) serverLog() *log.Logger {
	if e.opts.Logf == nil {
		return log.New(io.Discard, "", 0)
	}
	return log.New(logWriter(func(s string) { e.logf("emulator: %s", strings.TrimRight(s, "\n")) }), "", 0)
}

type logWriter func(string)

func (f logWriter) Write(p []byte) (int, error) {
	f(string(p))
	return len(p), nil
}
