package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// registriesOfOneRealm returns n distinct OCIR hosts of the emulator's realm
// (region keys, region identifiers and the ocir.<region>.oci form), as
// `configure-docker --all-regions` would list them.
func registriesOfOneRealm(n int) []string {
	regions := [][2]string{
		{"iad", "us-ashburn-1"}, {"phx", "us-phoenix-1"}, {"fra", "eu-frankfurt-1"}, {"lhr", "uk-london-1"},
		{"nrt", "ap-tokyo-1"}, {"syd", "ap-sydney-1"}, {"gru", "sa-saopaulo-1"}, {"yyz", "ca-toronto-1"},
		{"ams", "eu-amsterdam-1"}, {"bom", "ap-mumbai-1"}, {"icn", "ap-seoul-1"},
	}
	var hosts []string
	for _, r := range regions {
		hosts = append(hosts, r[0]+".ocir.io", r[1]+".ocir.io", "ocir."+r[1]+".oci.oraclecloud.com")
	}
	return hosts[:n]
}

// TestManyRegistriesOnOneInstancePrincipalFederateOnce mirrors `docker
// build` with every region in credHelpers on an OCI instance: one get
// process per registry, all at once, on a cold cache. The instance
// federates once and reads the metadata service a handful of times (region
// probe, certificate, key, intermediate); every registry still gets its own
// token.
func TestManyRegistriesOnOneInstancePrincipalFederateOnce(t *testing.T) {
	h := newHarness(t, instancePrincipal)
	const n = 32
	hosts := registriesOfOneRealm(n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, host := range hosts {
		wg.Go(func() {
			out, stderr, err := h.helperStdin(host, "get")
			if err == nil && !strings.Contains(out, `"ServerURL":"`+host+`","Username":"BEARER_TOKEN"`) {
				err = fmt.Errorf("unexpected answer %q", redact(out))
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", host, err, stderr)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	fed, imds, tokens := h.emu.Count("federation"), h.emu.Count("imds"), h.emu.Count("token-attempts")
	t.Logf("%d registries: %d federations, %d metadata reads, %d token requests", n, fed, imds, tokens)
	if fed != 1 {
		t.Errorf("federations = %d, want 1 for one instance", fed)
	}
	if imds > 6 {
		t.Errorf("metadata reads = %d, want at most 6", imds)
	}
	if tokens != n {
		t.Errorf("token requests = %d, want %d (one per registry)", tokens, n)
	}
	// The shared session is as private as the tokens: a 0600 file in the
	// 0700 cache directory.
	sessions, _ := filepath.Glob(filepath.Join(h.env["OCIR_CACHE_DIR"], "session-*.json"))
	if len(sessions) != 1 {
		t.Fatalf("session files %v, want exactly one", sessions)
	}
	for _, p := range append(sessions, h.env["OCIR_CACHE_DIR"]) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	// A later process for another registry uses the stored session: no new
	// federation, no metadata read.
	h.emu.ResetCounters()
	if out, _, err := h.helperStdin("ocir.me-jeddah-1.oci.oraclecloud.com", "get"); err != nil || !strings.Contains(out, "BEARER_TOKEN") {
		t.Fatalf("get after the burst: %v %q", err, redact(out))
	}
	if fed, imds := h.emu.Count("federation"), h.emu.Count("imds"); fed != 0 || imds != 0 {
		t.Errorf("with a stored session: %d federations, %d metadata reads; want 0 and 0", fed, imds)
	}
}

// TestWarmGetAnswersExactlyAsTheFullPath: with a token cached, get is
// answered before the command line is built (cmd/docker-credential-ocir's
// serveCached). A log
// file sends the same call the full way; both must print the same bytes and
// exit the same, for every input.
func TestWarmGetAnswersExactlyAsTheFullPath(t *testing.T) {
	h := newHarness(t, apiKey)
	delete(h.env, "OCIR_LOG_LEVEL")
	for _, host := range []string{hostShort, hostDomain} {
		if _, _, err := h.helperStdin(host, "get"); err != nil {
			t.Fatalf("cold get %s: %v", host, err)
		}
	}
	logFile := h.env["OCIR_LOG_FILE"]
	h.emu.ResetCounters()
	for _, in := range []string{hostShort, "https://" + hostShort + "/v2/", hostShort + ":443", hostShort + "/" + seedRepo,
		strings.ToUpper(hostDomain), hostShort + "\n", "docker.io", "", "fra.ocir.io.evil.example", strings.Repeat("x", 2<<20)} {
		h.env["OCIR_LOG_FILE"] = logFile
		wantOut, wantErr, err := h.helperStdin(in, "get")
		wantCode := exitCodeOf(err)
		delete(h.env, "OCIR_LOG_FILE")
		gotOut, gotErr, err := h.helperStdin(in, "get")
		if gotCode := exitCodeOf(err); gotOut != wantOut || gotCode != wantCode || gotErr != wantErr {
			t.Errorf("get %q: warm %d %q %q, full %d %q %q", redact(in), gotCode, redact(gotOut), gotErr, wantCode, redact(wantOut), wantErr)
		}
	}
	if n := h.emu.Count("token-attempts"); n != 0 {
		t.Errorf("%d token requests with every token cached", n)
	}
}
