package ocir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// onInstance points the process at the emulator's metadata service with no
// OCI config file, so auto discovery lands on the instance principal.
func onInstance(t *testing.T, w *world) {
	t.Helper()
	t.Setenv("OCI_METADATA_BASE_URL", w.e.MetadataURL())
	t.Setenv("OCI_CLI_CONFIG_FILE", "")
	os.Unsetenv("OCI_CLI_CONFIG_FILE")
}

func TestInstanceSessionIsSharedAcrossRegistriesAndProcesses(t *testing.T) {
	w := startWorld(t)
	onInstance(t, w)
	mustCredential(t, w.provider(), "iad.ocir.io")
	// Region probe, then certificate, key and intermediate: nothing read twice.
	if n := w.e.Count("imds"); n != 4 {
		t.Errorf("metadata reads for one cold lookup = %d, want 4", n)
	}
	// A new Provider stands for the next process: it finds the session in
	// the cache directory.
	mustCredential(t, w.provider(), "fra.ocir.io")
	mustCredential(t, w.provider(), "ocir.us-ashburn-1.oci.oraclecloud.com")
	if f, md, tok := w.e.Count("federation"), w.e.Count("imds"), w.e.Count("token"); f != 1 || md != 4 || tok != 3 {
		t.Errorf("federations %d, metadata reads %d, token requests %d; want 1, 4, 3", f, md, tok)
	}
	files, _ := filepath.Glob(filepath.Join(w.cacheDir, sessionFilePrefix+"*.json"))
	if len(files) != 1 {
		t.Fatalf("session files %v", files)
	}
	if fi, err := os.Stat(files[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("session file mode: %v %v", fi.Mode(), err)
	}
}

func TestInstanceSessionIsRenewedBeforeItExpires(t *testing.T) {
	w := startWorld(t)
	onInstance(t, w)
	clk := &fakeClock{t: time.Now()}
	mustCredential(t, w.provider(withClock(clk.now)), "iad.ocir.io")
	clk.advance(w, 14*time.Minute) // 6 minutes left of 20: still used
	mustCredential(t, w.provider(withClock(clk.now)), "fra.ocir.io")
	if f := w.e.Count("federation"); f != 1 {
		t.Fatalf("federations = %d, want 1 while the session has more than 5 minutes", f)
	}
	clk.advance(w, 2*time.Minute) // 4 minutes left: renewed
	p := w.provider(withClock(clk.now))
	mustCredential(t, p, "lhr.ocir.io")
	if f := w.e.Count("federation"); f != 2 {
		t.Fatalf("federations = %d, want 2 once the session is within its refresh margin", f)
	}
	// The renewed session is the one on disk now.
	mustCredential(t, w.provider(withClock(clk.now)), "phx.ocir.io")
	if f := w.e.Count("federation"); f != 2 {
		t.Errorf("federations = %d, want 2", f)
	}
}

func TestSessionFilesOfAnotherIdentityOrLooseModeAreIgnored(t *testing.T) {
	w := startWorld(t)
	onInstance(t, w)
	p := w.provider()
	mustCredential(t, p, "iad.ocir.io")
	id := p.instancePrincipalIdentity(false)
	raw, err := os.ReadFile(filepath.Join(w.cacheDir, sessionFileName(id.cacheKey)))
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes under another identity's name: never used for it.
	other := "instance_principal|http://169.254.169.254/opc/v2"
	if err := os.WriteFile(filepath.Join(w.cacheDir, sessionFileName(other)), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if s := w.cache().loadSession(other); s != nil {
		t.Error("a session was used for an identity it does not belong to")
	}
	if s := w.cache().loadSession(id.cacheKey); s == nil {
		t.Fatal("own session not found")
	}
	// Readable by others: treated as absent.
	if err := os.Chmod(filepath.Join(w.cacheDir, sessionFileName(id.cacheKey)), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := w.cache().loadSession(id.cacheKey); s != nil {
		t.Error("a session file readable by others was trusted")
	}
	// cache clear removes sessions too.
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(w.cacheDir, sessionFilePrefix+"*.json")); len(files) != 1 {
		t.Errorf("after Clear: %v (the loose file is not provably ours and stays; ours must go)", files)
	}
}

func TestFederationFailures(t *testing.T) {
	for _, tt := range []struct {
		name        string
		status      int
		wantErr     error
		federations int
	}{
		{"server error once is retried", 503, nil, 2},
		{"rejection is not retried", 401, ErrAuth, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := startWorld(t)
			onInstance(t, w)
			w.e.AddFault(emulator.Fault{Endpoint: "federation", Status: tt.status, Count: 1})
			_, err := w.provider().Credential(context.Background(), "iad.ocir.io")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if f := w.e.Count("federation"); f != tt.federations {
				t.Errorf("federation requests = %d, want %d", f, tt.federations)
			}
		})
	}
}

func TestRefusedSessionIsDroppedSoTheNextCallFederatesAgain(t *testing.T) {
	w := startWorld(t)
	onInstance(t, w)
	w.e.AddFault(emulator.Fault{Endpoint: "token", Status: 401, Count: 1})
	if _, err := w.provider().Credential(context.Background(), "iad.ocir.io"); !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	if files, _ := filepath.Glob(filepath.Join(w.cacheDir, sessionFilePrefix+"*.json")); len(files) != 0 {
		t.Errorf("a session OCI refused stayed on disk: %v", files)
	}
	mustCredential(t, w.provider(), "iad.ocir.io")
	if f := w.e.Count("federation"); f != 2 {
		t.Errorf("federations = %d, want 2 (the refused session was not reused)", f)
	}
}

func TestOKEWorkloadSessionIsSharedAcrossRegistriesAndProcesses(t *testing.T) {
	e, dir := startOKEWorld(t)
	cache := filepath.Join(dir, "cache")
	newP := func() *Provider { return New(WithCacheDir(cache), WithTimeout(10*time.Second), WithProxy(e.Proxy)) }
	sa := e.NewServiceAccountToken("team-a", "puller", time.Hour)
	for _, host := range []string{"iad.ocir.io", "fra.ocir.io", "ocir.us-ashburn-1.oci.oraclecloud.com"} {
		// A new Provider per registry, as the kubelet execs the plugin per image.
		if _, err := newP().Credential(context.Background(), host, WithServiceAccountToken(sa, nil)); err != nil {
			t.Fatalf("%s: %v", host, err)
		}
	}
	if n, tok := e.Count("oke"), e.Count("token"); n != 1 || tok != 3 {
		t.Errorf("proxymux exchanges = %d, token requests = %d; want 1 and 3", n, tok)
	}
	// Another service account is another identity: its own exchange.
	other := e.NewServiceAccountToken("team-b", "puller", time.Hour)
	if _, err := newP().Credential(context.Background(), "lhr.ocir.io", WithServiceAccountToken(other, nil)); err != nil {
		t.Fatal(err)
	}
	if n := e.Count("oke"); n != 2 {
		t.Errorf("proxymux exchanges = %d, want 2 (a session was shared between service accounts)", n)
	}
}
