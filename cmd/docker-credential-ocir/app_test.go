package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
)

const notFound = "credentials not found in native keychain\n"

type result struct {
	code           int
	stdout, stderr string
}

// runMain runs the real command line in-process with the fake provider and
// an environment of exactly env (plus a private HOME).
func runMain(t *testing.T, f *fakeProvider, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	vars := map[string]string{"HOME": t.TempDir()}
	for k, v := range env {
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	code := run(Env{
		Args:    append([]string{helper.ProgramName}, args...),
		Stdin:   strings.NewReader(stdin),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Getenv:  func(k string) string { return vars[k] },
		Context: context.Background(),
		Version: "v1.2.3",
		NewProvider: func(providerSettings) (core, error) {
			if f == nil {
				t.Fatal("this command must not build a provider")
			}
			return f, nil
		},
		LookPath: func(string) (string, error) { return "/usr/local/bin/" + helper.ProgramName, nil },
	})
	return result{code, stdout.String(), stderr.String()}
}

func decodeCreds(t *testing.T, s string) credentials.Credentials {
	t.Helper()
	var c credentials.Credentials
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("stdout is not a credentials object: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout has more than one JSON value: %q", s)
	}
	return c
}

func TestGetAnswersBearerTokenForEveryServerURLForm(t *testing.T) {
	cases := []struct{ in, host string }{
		{"iad.ocir.io", "iad.ocir.io"},
		{"https://iad.ocir.io", "iad.ocir.io"},
		{"https://iad.ocir.io/v2/", "iad.ocir.io"},
		{"https://iad.ocir.io/v1/", "iad.ocir.io"},
		{"iad.ocir.io:443", "iad.ocir.io"},
		{"https://iad.ocir.io:443/v2/", "iad.ocir.io"},
		{"iad.ocir.io/demotenancy/hello", "iad.ocir.io"},
		{"IAD.OCIR.IO", "iad.ocir.io"},
		{"iad.ocir.io.", "iad.ocir.io"},
		{"  iad.ocir.io\n", "iad.ocir.io"},
		{"us-ashburn-1.ocir.io", "us-ashburn-1.ocir.io"},
		{"ocir.us-ashburn-1.oci.oraclecloud.com", "ocir.us-ashburn-1.oci.oraclecloud.com"},
		{"https://ocir.eu-frankfurt-1.oci.oraclecloud.com/v2/ns/app", "ocir.eu-frankfurt-1.oci.oraclecloud.com"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			f := newFake(t)
			r := runMain(t, f, nil, tc.in, "get")
			if r.code != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			c := decodeCreds(t, r.stdout)
			want := credentials.Credentials{ServerURL: strings.TrimSpace(tc.in), Username: "BEARER_TOKEN", Secret: "tok-123"}
			if c != want {
				t.Errorf("got %+v, want %+v", c, want)
			}
			if got := f.calls(); len(got) != 1 || got[0] != tc.host {
				t.Errorf("token requested for %v, want [%s]", got, tc.host)
			}
			if r.stderr != "" {
				t.Errorf("stderr not empty on success: %q", r.stderr)
			}
		})
	}
}

func TestGetAnswersNotFoundForOtherRegistriesWithoutAskingForAToken(t *testing.T) {
	for _, in := range []string{
		"docker.io", "https://index.docker.io/v1/", "registry-1.docker.io", "ghcr.io/owner/repo",
		"localhost:5000", "127.0.0.1:5000", "iad.ocir.io:5000", "xyz.ocir.io", "ocir.io",
		"iad.ocir.io.evil.example", "evil-iad.ocir.io", "iad.ocir.io@evil.example", "ftp://iad.ocir.io",
		"ocir.us-ashburn-1.oci.oraclecloud.com.evil.example", "ocir.us-ashburn-1.oci.oraclegovcloud.com",
		"http://[::1", "%%%", strings.Repeat("a", 5000),
	} {
		t.Run(in[:min(len(in), 40)], func(t *testing.T) {
			f := newFake(t)
			r := runMain(t, f, nil, in, "get")
			if r.code != 1 || r.stdout != notFound {
				t.Fatalf("exit %d stdout %q, want exit 1 and %q", r.code, r.stdout, notFound)
			}
			if len(f.calls()) != 0 {
				t.Errorf("token requested for %q", in)
			}
			if r.stderr != "" {
				t.Errorf("a foreign registry must not produce stderr noise: %q", r.stderr)
			}
		})
	}
}

func TestGetMapsProviderErrorsToTheProtocol(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		onError    string
		wantCode   int
		wantStdout string // exact, or prefix when ends with "…"
		wantStderr string // substring; "" = must be empty
	}{
		{"no identity is not found with a hint", kindErr(ocir.ErrNoIdentity, "run oci setup config"), "", 1, notFound, "no OCI identity configured, accessing iad.ocir.io anonymously; run oci setup config"},
		{"no identity stays not found with anonymous", kindErr(ocir.ErrNoIdentity, ""), "anonymous", 1, notFound, "no OCI identity configured"},
		{"broken identity is a real error", kindErr(ocir.ErrIdentityBroken, "run `oci session refresh`"), "", 1, "docker-credential-ocir: OCI identity is misconfigured for iad.ocir.io: cause (opc-request-id: req-1); run `oci session refresh`\n", ""},
		{"auth failure is a real error", kindErr(ocir.ErrAuth, "check the clock"), "error", 1, "docker-credential-ocir: OCI rejected the credentials for iad.ocir.io: cause (opc-request-id: req-1); check the clock\n", ""},
		{"transient failure is a real error", kindErr(ocir.ErrTransient, ""), "", 1, "docker-credential-ocir: temporary failure for iad.ocir.io: cause (opc-request-id: req-1)\n", ""},
		{"an unexpected error is a real error", errors.New("boom"), "", 1, "docker-credential-ocir: boom\n", ""},
		{"broken identity with anonymous is not found", kindErr(ocir.ErrIdentityBroken, ""), "anonymous", 1, notFound, "continuing anonymously (OCIR_ON_ERROR=anonymous)"},
		{"auth failure with anonymous is not found", kindErr(ocir.ErrAuth, ""), "ANONYMOUS", 1, notFound, "OCI rejected the credentials"},
		{"transient failure with anonymous is not found", kindErr(ocir.ErrTransient, ""), "anonymous", 1, notFound, "temporary failure"},
		{"not an OCIR host from Credential is not found", kindErr(ocir.ErrNotOCIRHost, ""), "", 1, notFound, ""},
		{"a multi-line error stays on one line", errors.New("line one\nline two"), "", 1, "docker-credential-ocir: line one line two\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantStdout != notFound && tc.wantStderr == "" {
				// A real error is repeated on stderr: the docker CLI hides
				// a failing helper's stdout.
				tc.wantStderr = tc.wantStdout
			}
			f := newFake(t)
			f.err = tc.err
			r := runMain(t, f, map[string]string{"OCIR_ON_ERROR": tc.onError}, "iad.ocir.io", "get")
			if r.code != tc.wantCode || r.stdout != tc.wantStdout {
				t.Errorf("exit %d stdout %q, want exit %d stdout %q", r.code, r.stdout, tc.wantCode, tc.wantStdout)
			}
			if tc.wantStderr == "" && r.stderr != "" {
				t.Errorf("unexpected stderr %q", r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.wantStderr)
			}
			if strings.Count(r.stderr, "\n") > 1 {
				t.Errorf("the hint must be one line: %q", r.stderr)
			}
		})
	}
}

func TestGetRefusesAnEmptyToken(t *testing.T) {
	f := newFake(t)
	f.token = ""
	r := runMain(t, f, nil, "iad.ocir.io", "get")
	if r.code != 1 || !strings.Contains(r.stdout, "empty token") {
		t.Fatalf("got %+v", r)
	}
}

func TestOnErrorRejectsUnknownValuesAsUsageError(t *testing.T) {
	f := newFake(t)
	r := runMain(t, f, map[string]string{"OCIR_ON_ERROR": "ignore"}, "iad.ocir.io", "get")
	if r.code != 2 || !strings.Contains(r.stdout, `OCIR_ON_ERROR: "ignore" is not one of error, anonymous`) {
		t.Fatalf("got %+v", r)
	}
	if len(f.calls()) != 0 {
		t.Error("a token was requested despite the usage error")
	}
}

func TestInvalidEnvironmentIsAUsageErrorReportedOnStdout(t *testing.T) {
	for _, env := range []map[string]string{
		{"OCIR_TIMEOUT": "soon"},
		{"OCIR_CACHE": "maybe"},
		{"OCIR_LOG_LEVEL": "loud"},
	} {
		r := runMain(t, newFake(t), env, "iad.ocir.io", "get")
		if r.code != 2 || !strings.HasPrefix(r.stdout, "docker-credential-ocir: OCIR_") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%v: got %+v", env, r)
		}
		// The docker CLI hides a failing helper's stdout: the same line
		// must be on stderr.
		if !strings.Contains(r.stderr, r.stdout) {
			t.Errorf("%v: stderr %q does not repeat %q", env, r.stderr, r.stdout)
		}
	}
}

func TestBrokenConfigFileFailsGetWithTheReason(t *testing.T) {
	r := runMain(t, newFake(t), map[string]string{"OCIR_CONFIG": "/nonexistent/config.yaml"}, "iad.ocir.io", "get")
	if r.code != 1 || !strings.Contains(r.stdout, "/nonexistent/config.yaml") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("got %+v", r)
	}
	if !strings.Contains(r.stderr, r.stdout) {
		t.Errorf("stderr %q does not repeat %q", r.stderr, r.stdout)
	}
}

// brokenSettings are settings that make the provider unusable; each
// names the problem (want) the user must be told.
var brokenSettings = []struct {
	env  map[string]string
	want string
}{
	{map[string]string{"OCIR_CONFIG": "/nonexistent/config.yaml"}, "/nonexistent/config.yaml"},
	{map[string]string{"OCIR_TIMEOUT": "soon"}, "OCIR_TIMEOUT"},
	{map[string]string{"OCIR_CACHE": "maybe"}, "OCIR_CACHE"},
	{map[string]string{"OCIR_LOG_LEVEL": "loud"}, "OCIR_LOG_LEVEL"},
}

// docker login must never break: with unusable settings, store still
// accepts OCIR hosts (recognised by the compiled-in region table) and says
// on stderr what is wrong.
func TestStoreAcceptsOCIRLoginsEvenWithBrokenSettings(t *testing.T) {
	for _, tc := range brokenSettings {
		for _, url := range []string{"iad.ocir.io", "https://ocir.us-ashburn-1.oci.oraclecloud.com/v2/"} {
			f := newFake(t)
			r := runMain(t, f, tc.env, `{"ServerURL":"`+url+`","Username":"BEARER_TOKEN","Secret":"s3cret"}`, "store")
			if r.code != 0 || r.stdout != "" {
				t.Errorf("%v %s: got %+v", tc.env, url, r)
			}
			if !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "s3cret") {
				t.Errorf("%v %s: stderr %q should name %q (and never the secret)", tc.env, url, r.stderr, tc.want)
			}
			if len(f.calls()) != 0 {
				t.Errorf("%v: store asked for a token", tc.env)
			}
		}
	}
}

func TestStoreForOtherHostsWithBrokenSettingsReportsTheProblem(t *testing.T) {
	for _, tc := range brokenSettings {
		r := runMain(t, newFake(t), tc.env, `{"ServerURL":"https://index.docker.io/v1/","Username":"u","Secret":"p"}`, "store")
		if r.code == 0 || !strings.Contains(r.stdout, tc.want) || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%v: got %+v", tc.env, r)
		}
		if !strings.Contains(r.stderr, r.stdout) {
			t.Errorf("%v: stderr %q does not repeat %q", tc.env, r.stderr, r.stdout)
		}
	}
}

func TestEraseSucceedsEvenWithBrokenSettings(t *testing.T) {
	for _, tc := range brokenSettings {
		for _, in := range []string{"iad.ocir.io", "docker.io"} {
			f := newFake(t)
			r := runMain(t, f, tc.env, in, "erase")
			if r.code != 0 || r.stdout != "" {
				t.Errorf("%v %s: got %+v", tc.env, in, r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%v %s: stderr %q does not name %q", tc.env, in, r.stderr, tc.want)
			}
			if len(f.dropped) != 0 {
				t.Errorf("%v: erase used the provider", tc.env)
			}
		}
	}
}

// A host that looks like OCIR but is not recognised is not a credsStore
// misconfiguration: store must say what failed instead.
func TestStoreSaysWhatFailedForAnOCIRLookingHost(t *testing.T) {
	cases := []struct {
		name, url   string
		registryErr error
		want        string
	}{
		{"mistyped region key", "xyz.ocir.io", nil, "not an OCIR registry host for xyz.ocir.io"},
		{"unknown region id", "ocir.atlantis-1.oci.oraclecloud.com", nil, "not an OCIR registry host for ocir.atlantis-1.oci.oraclecloud.com"},
		{"mirror with a bad token URL", "iad.ocir.io", &ocir.Error{Kind: ocir.ErrNotOCIRHost, Registry: "iad.ocir.io",
			Err: errors.New("mirror iad.ocir.io: tokenURL host evil.example is not an OCIR host; refusing to sign for it")}, "refusing to sign for it"},
		{"recognition failed otherwise", "iad.ocir.io", errors.New("read region metadata: permission denied"), "permission denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.registryErr = tc.registryErr
			r := runMain(t, f, nil, `{"ServerURL":"`+tc.url+`","Username":"BEARER_TOKEN","Secret":"x"}`, "store")
			if r.code != 1 || !strings.Contains(r.stdout, tc.want) || strings.Count(r.stdout, "\n") != 1 {
				t.Fatalf("got %+v, want %q", r, tc.want)
			}
			if strings.Contains(r.stdout, "credsStore") {
				t.Errorf("misleading credsStore advice: %q", r.stdout)
			}
		})
	}
}

func TestStoreAcceptsOCIRLoginsWithoutStoring(t *testing.T) {
	for _, url := range []string{"iad.ocir.io", "https://iad.ocir.io", "ocir.us-ashburn-1.oci.oraclecloud.com"} {
		f := newFake(t)
		in := `{"ServerURL":"` + url + `","Username":"BEARER_TOKEN","Secret":"whatever"}`
		r := runMain(t, f, nil, in, "store")
		if r.code != 0 || r.stdout != "" {
			t.Errorf("%s: got %+v", url, r)
		}
		if len(f.calls()) != 0 || len(f.dropped) != 0 {
			t.Errorf("%s: store touched the provider: calls %v dropped %v", url, f.calls(), f.dropped)
		}
	}
}

func TestStoreRefusesOtherHostsPointingAtCredHelpers(t *testing.T) {
	r := runMain(t, newFake(t), nil, `{"ServerURL":"https://index.docker.io/v1/","Username":"u","Secret":"p"}`, "store")
	if r.code != 1 || !strings.Contains(r.stdout, "use credHelpers for OCIR hosts, not credsStore") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("got %+v", r)
	}
	if strings.Contains(r.stdout, "p\n") || strings.Contains(r.stderr, `"p"`) {
		t.Error("the secret was echoed")
	}
}

// TestStoreRejectsMalformedInputSayingWhatItExpected: one line on stdout,
// where docker login shows it, that says what was wrong with stdin.
func TestStoreRejectsMalformedInputSayingWhatItExpected(t *testing.T) {
	const empty = "docker-credential-ocir: store: read credentials from stdin: empty input, expected JSON {ServerURL, Username, Secret}\n"
	for _, tc := range []struct {
		name, in string
		want     string // the whole line, or a part of it
	}{
		{"empty", "", empty},
		{"only white space", " \n\t\n", empty},
		{"not JSON", "not json", "the request on stdin is not the credentials JSON object"},
		{"cut short", `{"ServerURL":`, "the request on stdin is not the credentials JSON object"},
		{"no username", `{"ServerURL":"iad.ocir.io"}`, "no credentials username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runMain(t, newFake(t), nil, tc.in, "store")
			if r.code != 1 || !strings.Contains(r.stdout, tc.want) || strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("got %+v, want exit 1 and stdout %q", r, tc.want)
			}
		})
	}
}

// TestRelativeLogFileIsRefused: a relative OCIR_LOG_FILE would land in
// whatever directory the client runs the helper from; as with a relative
// OCIR_CACHE_DIR it is not used, the run goes on and says why.
func TestRelativeLogFileIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"OCIR_LOG_FILE", map[string]string{"OCIR_LOG_FILE": "helper.log"}, []string{"get"}},
		{"OCIR_LOG_FILE with ./", map[string]string{"OCIR_LOG_FILE": "./logs/../helper.log"}, []string{"get"}},
		{"--log-file", nil, []string{"--log-file", "helper.log", "get"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cwd := t.TempDir()
			t.Chdir(cwd)
			r := runMain(t, newFake(t), tc.env, "iad.ocir.io", tc.args...)
			if r.code != 0 || decodeCreds(t, r.stdout).Secret != "tok-123" {
				t.Fatalf("a bad log file broke get: %+v", r)
			}
			if !strings.Contains(r.stderr, "logging to stderr only") || !strings.Contains(r.stderr, `is not an absolute path`) {
				t.Errorf("stderr does not say why the log file is not used: %q", r.stderr)
			}
			if names, _ := os.ReadDir(cwd); len(names) != 0 {
				t.Errorf("files written in the current directory: %v", names)
			}
		})
	}
}

func TestEraseSucceedsAndDropsTheCachedToken(t *testing.T) {
	cases := []struct {
		in      string
		dropErr error
		dropped bool
	}{
		{"iad.ocir.io", nil, true},
		{"https://iad.ocir.io/v2/", errors.New("read-only cache"), true},
		{"docker.io", nil, false},
	}
	for _, tc := range cases {
		f := newFake(t)
		f.dropErr = tc.dropErr
		r := runMain(t, f, nil, tc.in, "erase")
		if r.code != 0 || r.stdout != "" {
			t.Errorf("%s: got %+v", tc.in, r)
		}
		if got := len(f.dropped) == 1; got != tc.dropped {
			t.Errorf("%s: dropped %v, want dropped=%v", tc.in, f.dropped, tc.dropped)
		}
	}
}

func TestListReportsValidCachedTokensAndNeverFails(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name    string
		entries []ocir.CacheEntry
		err     error
		env     map[string]string
		want    map[string]string
	}{
		{"empty cache", nil, nil, nil, map[string]string{}},
		{"valid and expired entries", []ocir.CacheEntry{
			{Registry: "iad.ocir.io", ExpiresAt: now.Add(time.Hour)},
			{Registry: "fra.ocir.io", ExpiresAt: now.Add(-time.Minute)},
			{Registry: "ocir.us-ashburn-1.oci.oraclecloud.com", ExpiresAt: now.Add(time.Minute)},
		}, nil, nil, map[string]string{"iad.ocir.io": "BEARER_TOKEN", "ocir.us-ashburn-1.oci.oraclecloud.com": "BEARER_TOKEN"}},
		{"unreadable cache", nil, errors.New("permission denied"), nil, map[string]string{}},
		{"invalid environment", nil, nil, map[string]string{"OCIR_TIMEOUT": "x"}, map[string]string{}},
		{"missing config file", nil, nil, map[string]string{"OCIR_CONFIG": "/nonexistent"}, map[string]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.entries, f.listErr = tc.entries, tc.err
			r := runMain(t, f, tc.env, "", "list")
			if r.code != 0 {
				t.Fatalf("got %+v", r)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("stdout %q: %v", r.stdout, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
			if len(f.calls()) != 0 {
				t.Error("list asked for a token")
			}
		})
	}
}

// With debug logging every action still writes exactly its protocol
// output to stdout: the credentials object, the not-found line, nothing,
// or the list object.
func TestProtocolActionsKeepStdoutForTheProtocolEvenWhenLoggingDebug(t *testing.T) {
	env := map[string]string{"OCIR_LOG_LEVEL": "debug"}
	for _, tc := range []struct {
		action, stdin string
		check         func(t *testing.T, stdout string)
	}{
		{"get", "iad.ocir.io", func(t *testing.T, stdout string) {
			want := credentials.Credentials{ServerURL: "iad.ocir.io", Username: "BEARER_TOKEN", Secret: "tok-123"}
			if c := decodeCreds(t, stdout); c != want {
				t.Errorf("got %+v, want %+v", c, want)
			}
		}},
		{"get", "docker.io", func(t *testing.T, stdout string) {
			if stdout != notFound {
				t.Errorf("stdout %q, want %q", stdout, notFound)
			}
		}},
		{"store", `{"ServerURL":"iad.ocir.io","Username":"BEARER_TOKEN","Secret":"x"}`, nil},
		{"erase", "iad.ocir.io", nil},
		{"list", "", func(t *testing.T, stdout string) {
			var got map[string]string
			dec := json.NewDecoder(strings.NewReader(stdout))
			if err := dec.Decode(&got); err != nil || got == nil || dec.More() {
				t.Fatalf("stdout is not one JSON object of strings: %q (%v)", stdout, err)
			}
			if len(got) != 1 || got["iad.ocir.io"] != "BEARER_TOKEN" {
				t.Errorf("got %v", got)
			}
		}},
	} {
		t.Run(tc.action+" "+tc.stdin, func(t *testing.T) {
			f := newFake(t)
			f.entries = []ocir.CacheEntry{{Registry: "iad.ocir.io", ExpiresAt: time.Now().Add(time.Hour)}}
			r := runMain(t, f, env, tc.stdin, tc.action)
			if tc.check == nil {
				if r.stdout != "" {
					t.Errorf("stdout %q, want nothing", r.stdout)
				}
			} else {
				tc.check(t, r.stdout)
			}
			if strings.Contains(r.stdout, "level=") {
				t.Errorf("log output on stdout: %q", r.stdout)
			}
			if !strings.Contains(r.stderr, "level=DEBUG") {
				t.Errorf("no debug log on stderr, so nothing was shown to stay off stdout: %q", r.stderr)
			}
			if strings.Contains(r.stderr, "tok-123") {
				t.Errorf("the token was logged: %q", r.stderr)
			}
		})
	}
}

func TestVersionFormsPrintTheModuleAndVersion(t *testing.T) {
	want := "docker-credential-ocir (github.com/ocir-credential-helper/ocir-credential-helper) v1.2.3\n"
	for _, args := range [][]string{{"version"}, {"-v"}, {"--version"}} {
		r := runMain(t, nil, nil, "", args...)
		if r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("%v: got %+v", args, r)
		}
	}
}

func TestUsageErrorsExitTwoWithNothingOnStdout(t *testing.T) {
	for _, args := range [][]string{
		{}, {"frobnicate"}, {"--no-such-flag"}, {"configure-docker", "--no-such-flag"}, {"version", "extra"},
		{"cache"}, {"cache", "frobnicate"}, {"cache", "frobnicate", "clear"}, {"cache", "clear", "extra"},
	} {
		r := runMain(t, nil, nil, "", args...)
		if r.code != 2 || r.stdout != "" || r.stderr == "" {
			t.Errorf("%v: got %+v", args, r)
		}
	}
}

func TestCacheWithoutAKnownSubcommandIsAUsageError(t *testing.T) {
	for _, args := range [][]string{{"cache"}, {"cache", "purge"}} {
		r := runMain(t, nil, nil, "", args...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "clear or list") {
			t.Errorf("%v: got %+v", args, r)
		}
	}
}
