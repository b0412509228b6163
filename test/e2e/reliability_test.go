package e2e

// The figures of the README's "Reliability" section: a soak of the built
// binaries across many token expiries and a fault matrix. Both are long,
// so they run only when asked (make soak, or OCIR_SOAK=1).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

func requireSoak(t *testing.T) {
	t.Helper()
	if os.Getenv("OCIR_SOAK") == "" {
		t.Skip("long: set OCIR_SOAK=1 (make soak)")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// report appends a line to $OCIR_SOAK_REPORT (the figures for the README)
// and logs it.
func report(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	if path := os.Getenv("OCIR_SOAK_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fmt.Fprintln(f, line)
	}
}

// TestSoak runs OCIR_SOAK_GETS (10,000) lookups through the built helper
// and plugin, OCIR_SOAK_WORKERS (4) at a time, while the emulator issues
// tokens that expire every OCIR_SOAK_TTL seconds (20): every answer must be
// a token the emulator issued and that is still valid when it arrives.
func TestSoak(t *testing.T) {
	requireSoak(t)
	gets := envInt("OCIR_SOAK_GETS", 10000)
	workers := envInt("OCIR_SOAK_WORKERS", 4)
	ttl := time.Duration(envInt("OCIR_SOAK_TTL", 20)) * time.Second
	h := newHarness(t, apiKey)
	delete(h.env, "OCIR_LOG_FILE") // 10,000 debug logs help nobody
	h.env["OCIR_LOG_LEVEL"] = "warn"
	h.emu.SetTokenTTL(ttl)
	plugin := pluginBin(t)
	pluginCache := filepath.Join(h.dir, "plugin-cache")

	var (
		next, failures, expired, unknown atomic.Int64
		mu                               sync.Mutex
		lat                              []time.Duration
		firstErr                         string
	)
	issued := func() map[string]time.Time {
		m := map[string]time.Time{}
		for _, it := range h.emu.IssuedTokens() {
			m[it.Token] = it.Expires
		}
		return m
	}
	known := issued()
	var knownMu sync.Mutex
	expiryOf := func(tok string) (time.Time, bool) {
		knownMu.Lock()
		defer knownMu.Unlock()
		if exp, ok := known[tok]; ok {
			return exp, true
		}
		known = issued()
		exp, ok := known[tok]
		return exp, ok
	}
	fail := func(msg string) {
		failures.Add(1)
		mu.Lock()
		if firstErr == "" {
			firstErr = msg
		}
		mu.Unlock()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(gets) {
					return
				}
				host := hostShort
				if i%2 == 0 {
					host = hostDomain
				}
				t0 := time.Now()
				var secret string
				if i%5 == 0 {
					out, errOut, err := h.runStdin(pluginRequest(host+"/ns/app"), plugin, "--cache-dir", pluginCache)
					var resp struct {
						Auth map[string]struct{ Password string }
					}
					if err != nil || json.Unmarshal([]byte(out), &resp) != nil {
						fail(fmt.Sprintf("plugin: %v %q %q", err, out, errOut))
						continue
					}
					secret = resp.Auth[host].Password
				} else {
					out, errOut, err := h.helperStdin(host, "get")
					var cred struct{ Secret string }
					if err != nil || json.Unmarshal([]byte(out), &cred) != nil {
						fail(fmt.Sprintf("get: %v %q %q", err, out, errOut))
						continue
					}
					secret = cred.Secret
				}
				got := time.Now()
				mu.Lock()
				lat = append(lat, got.Sub(t0))
				mu.Unlock()
				exp, ok := expiryOf(secret)
				switch {
				case !ok:
					unknown.Add(1)
					fail("a token the emulator never issued")
				case !got.Before(exp):
					expired.Add(1)
					fail(fmt.Sprintf("expired token served (expired %s before)", got.Sub(exp)))
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))].Round(100 * time.Microsecond)
	}
	tokens := h.emu.Count("token")
	report(t, "soak: %d lookups (%d helper get, %d plugin) by %d workers in %s; token lifetime %s, %d tokens issued (%.1f expiries); failures %d, expired served %d, unknown tokens %d; latency p50 %s p99 %s",
		gets, gets-gets/5, gets/5, workers, wall.Round(time.Second), ttl, tokens, wall.Seconds()/ttl.Seconds(),
		failures.Load(), expired.Load(), unknown.Load(), pct(0.5), pct(0.99))
	if failures.Load() != 0 {
		t.Errorf("%d failures; first: %s", failures.Load(), firstErr)
	}
	if wall < 2*ttl {
		t.Errorf("the soak lasted %s, fewer than two token lifetimes: raise OCIR_SOAK_GETS or lower OCIR_SOAK_TTL", wall)
	}
}

// TestFaultMatrix runs one `get` through the built helper per fault the
// emulator can inject and checks the outcome, the time it took and that
// stdout carries only the protocol answer.
func TestFaultMatrix(t *testing.T) {
	requireSoak(t)
	const timeout = 10 * time.Second
	type row struct {
		name   string
		id     identity
		faults []emulator.Fault
		env    map[string]string
		// then checks a second lookup after the first (memo scope).
		secondHost string
		wantOK     bool
		secondOK   bool
		maxTook    time.Duration
	}
	rows := []row{
		{name: "token 429 once (Retry-After 1)", faults: []emulator.Fault{{Endpoint: "token", Status: 429, Header: map[string]string{"Retry-After": "1"}, Count: 1}}, wantOK: true, maxTook: 5 * time.Second},
		{name: "token 503 twice", faults: []emulator.Fault{{Endpoint: "token", Status: 503, Count: 2}}, wantOK: true, maxTook: 5 * time.Second},
		{name: "token 500 always", faults: []emulator.Fault{{Endpoint: "token", Status: 500}}, wantOK: false, maxTook: timeout + 2*time.Second},
		{name: "token 2 s slow once", faults: []emulator.Fault{{Endpoint: "token", Delay: 2 * time.Second, Count: 1}}, wantOK: true, maxTook: 5 * time.Second},
		{name: "token hangs", faults: []emulator.Fault{{Endpoint: "token", Hang: true}}, wantOK: false, maxTook: timeout + 2*time.Second},
		{name: "token 401", faults: []emulator.Fault{{Endpoint: "token", Status: 401}}, wantOK: false, maxTook: 3 * time.Second},
		{name: "token 404", faults: []emulator.Fault{{Endpoint: "token", Status: 404}}, wantOK: false, maxTook: 3 * time.Second},
		{name: "token answers malformed JSON", faults: []emulator.Fault{{Endpoint: "token", Body: "{not json"}}, wantOK: false, maxTook: 3 * time.Second},
		{name: "unknown CA", env: map[string]string{"SSL_CERT_FILE": "okeCA", "OCI_DEFAULT_CERTS_PATH": "okeCA"}, wantOK: false, maxTook: 3 * time.Second},
		{name: "proxy refuses connections", env: map[string]string{"HTTPS_PROXY": "http://127.0.0.1:1"}, wantOK: false, maxTook: 3 * time.Second},
		{name: "503 at one registry, another registry unaffected", faults: []emulator.Fault{{Endpoint: "token", Host: hostShort, Status: 503}},
			secondHost: "fra.ocir.io", wantOK: false, secondOK: true, maxTook: timeout + 2*time.Second},
		{name: "instance principal: metadata 500 once, explicit retry works", id: instancePrincipal,
			faults: []emulator.Fault{{Endpoint: "imds", Status: 500, Count: 1}}, env: map[string]string{"OCI_CLI_AUTH": "instance_principal"},
			secondHost: hostShort, wantOK: false, secondOK: true, maxTook: 5 * time.Second},
		{name: "instance principal: metadata 429 once, explicit retry works", id: instancePrincipal,
			faults: []emulator.Fault{{Endpoint: "imds", Status: 429, Count: 1}}, env: map[string]string{"OCI_CLI_AUTH": "instance_principal"},
			secondHost: hostShort, wantOK: false, secondOK: true, maxTook: 5 * time.Second},
		{name: "instance principal: federation 503 once", id: instancePrincipal,
			faults: []emulator.Fault{{Endpoint: "federation", Status: 503, Count: 1}}, env: map[string]string{"OCI_CLI_AUTH": "instance_principal"},
			wantOK: true, maxTook: timeout},
	}
	var passed int
	for _, r := range rows {
		ok := t.Run(r.name, func(t *testing.T) {
			h := newHarness(t, r.id)
			h.env["OCIR_TIMEOUT"] = timeout.String()
			for k, v := range r.env {
				if v == "okeCA" {
					v = h.emu.OKECAFile()
				}
				h.env[k] = v
			}
			for _, f := range r.faults {
				h.emu.AddFault(f)
			}
			start := time.Now()
			out, errOut, err := h.helperStdin(hostShort, "get")
			took := time.Since(start)
			checkAnswer(t, "first", r.wantOK, out, errOut, err)
			if took > r.maxTook {
				t.Errorf("took %s, want at most %s", took.Round(time.Millisecond), r.maxTook)
			}
			if r.secondHost != "" {
				out, errOut, err := h.helperStdin(r.secondHost, "get")
				checkAnswer(t, "second", r.secondOK, out, errOut, err)
			}
			t.Logf("%-60s ok=%v took=%s", r.name, err == nil, took.Round(time.Millisecond))
		})
		if ok {
			passed++
		}
	}
	report(t, "fault matrix: %d of %d cases behave as specified (timeout %s)", passed, len(rows), timeout)
}

func checkAnswer(t *testing.T, which string, wantOK bool, out, errOut string, err error) {
	t.Helper()
	if wantOK {
		var cred struct{ Username, Secret string }
		if err != nil || json.Unmarshal([]byte(out), &cred) != nil || cred.Secret == "" {
			t.Errorf("%s lookup: %v\nstdout %q\nstderr %q", which, err, out, errOut)
		}
		return
	}
	if exitCodeOf(err) != 1 {
		t.Errorf("%s lookup: exit %d, want 1\nstdout %q\nstderr %q", which, exitCodeOf(err), out, errOut)
	}
	// Stdout is one line for the client, never a token or a partial answer.
	if strings.Count(strings.TrimSpace(out), "\n") != 0 || strings.Contains(out, "Secret") {
		t.Errorf("%s lookup: stdout %q", which, out)
	}
}
