package emulator

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHangReturnsAsSoonAsTheRequestContextEnds(t *testing.T) {
	e := &Emulator{closing: make(chan struct{})}
	e.AddFault(Fault{Endpoint: endpointToken, Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "https://iad.ocir.io"+tokenPath, nil).WithContext(ctx)
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		e.injectFault(httptest.NewRecorder(), req, endpointToken)
	}()
	select {
	case <-done:
		t.Fatal("hang fault returned before the client went away")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case v := <-done:
		if v != http.ErrAbortHandler {
			t.Errorf("hung request ended with %v, want the handler aborted (no answer at all)", v)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("hang fault not released 2s after the client went away")
	}
}

// An abandoned held request must not be answered: a handler that returns
// normally would make net/http send an empty 200, which a client that is
// still reading takes for a successful, empty answer.
func TestAHeldRequestEndsWithNoAnswerWhenTheEmulatorCloses(t *testing.T) {
	e := &Emulator{closing: make(chan struct{})}
	e.AddFault(Fault{Endpoint: endpointToken, Hang: true})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.injectFault(w, r, endpointToken) {
			_, _ = w.Write([]byte("not held"))
		}
	}))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	time.AfterFunc(50*time.Millisecond, func() { close(e.closing) })
	resp, err := srv.Client().Get(srv.URL + tokenPath)
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		t.Fatalf("held request was answered when the emulator closed: %d %q", resp.StatusCode, body)
	}
}

func TestDelayIsCutShortWhenTheClientGoesAway(t *testing.T) {
	e := &Emulator{closing: make(chan struct{})}
	e.AddFault(Fault{Endpoint: endpointToken, Delay: time.Hour, Status: 500})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := httptest.NewRequest(http.MethodGet, "https://iad.ocir.io"+tokenPath, nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	start := time.Now()
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("abandoned delayed request ended with %v, want the handler aborted", v)
			}
		}()
		e.injectFault(rec, req, endpointToken)
	}()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("delay not cut short: %s", d)
	}
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("abandoned request got an answer: %d %q", rec.Code, rec.Body.String())
	}
}

func TestParseSignature(t *testing.T) {
	good := `Signature version="1",headers="date (request-target) host",keyId="t/u/f",algorithm="rsa-sha256",signature="AAAA"`
	p, err := parseSignature(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.keyID != "t/u/f" || strings.Join(p.headers, " ") != "date (request-target) host" || len(p.signature) != 3 {
		t.Errorf("parsed %+v", p)
	}
	for _, bad := range []string{
		"",
		"Basic abc",
		`Signature headers="date",keyId="k",algorithm="rsa-sha256"`,
		`Signature headers="date",algorithm="rsa-sha256",signature="AAAA"`,
		`Signature headers="date",keyId="k",algorithm="rsa-sha1",signature="AAAA"`,
		`Signature version="2",headers="date",keyId="k",algorithm="rsa-sha256",signature="AAAA"`,
		`Signature headers="date",keyId="k",keyId="j",algorithm="rsa-sha256",signature="AAAA"`,
		`Signature headers=date,keyId="k",algorithm="rsa-sha256",signature="AAAA"`,
		`Signature headers="date" keyId="k",algorithm="rsa-sha256",signature="AAAA"`,
		`Signature headers="date",keyId="k,algorithm="rsa-sha256",signature="!!"`,
	} {
		if _, err := parseSignature(bad); err == nil {
			t.Errorf("parseSignature(%q) succeeded", bad)
		}
	}
}

func TestSecurityTokenVerification(t *testing.T) {
	s, err := newJWTSigner("k")
	if err != nil {
		t.Fatal(err)
	}
	other, err := newJWTSigner("o")
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	jwkJSON, err := jwkClaim(&key.PublicKey, "x")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := s.sign(map[string]any{"exp": now.Add(time.Minute).Unix(), "jwk": jwkJSON})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := s.verify(tok, now)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publicKeyFromJWKClaim(claims["jwk"])
	if err != nil || !pub.Equal(&key.PublicKey) {
		t.Errorf("jwk round trip: %v", err)
	}
	if _, err := s.verify(tok, now.Add(2*time.Minute)); err != errTokenExpired {
		t.Errorf("expired token: %v", err)
	}
	if _, err := other.verify(tok, now); err != errTokenSignature {
		t.Errorf("foreign signer: %v", err)
	}
	parts := strings.Split(tok, ".")
	if _, err := s.verify(parts[0]+"."+parts[1]+"x."+parts[2], now); err == nil {
		t.Error("tampered payload verified")
	}
}

func TestRegionOfHost(t *testing.T) {
	for host, want := range map[string]string{
		"iad.ocir.io":                             "us-ashburn-1",
		"IAD.OCIR.IO:443":                         "us-ashburn-1",
		"us-ashburn-1.ocir.io":                    "us-ashburn-1",
		"ocir.us-ashburn-1.oci.oraclecloud.com":   "us-ashburn-1",
		"ocir.eu-frankfurt-1.oci.oraclecloud.com": "eu-frankfurt-1",
		"phx.ocir.io":                             "us-phoenix-1",
		"127.0.0.1:5000":                          "",
		"evil.iad.ocir.io":                        "",
		"registry.example":                        "",
	} {
		if got := regionOfHost(host); got != want {
			t.Errorf("regionOfHost(%q) = %q, want %q", host, got, want)
		}
	}
}
