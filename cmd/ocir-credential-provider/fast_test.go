package main

import (
	"bytes"
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

// stdinFile is a request as the kubelet hands it over: a pipe-like,
// non-terminal file.
func stdinFile(t *testing.T, content string) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestWarmPluginAnswersExactlyAsTheFullPath(t *testing.T) {
	e, dir := emulatortest.Start(t)
	vars := map[string]string{"HOME": dir, "OCIR_CACHE_DIR": filepath.Join(dir, "cache")}
	maps.Copy(vars, e.EnvMap())
	delete(vars, "OCI_METADATA_BASE_URL")
	getenv := func(k string) string { return vars[k] }
	req := func(image string) string {
		return `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"` + image + `"}`
	}
	full := func(stdin io.Reader) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{name}, env{stdin: stdin, stdout: &out, stderr: &errOut, getenv: getenv, proxy: e.Proxy})
		return code, out.String()
	}
	cached := func(args []string, stdin string) (bool, string, string) {
		var out, errOut bytes.Buffer
		done, rest := serveCached(args, stdinFile(t, stdin), &out, &errOut, getenv, "v0.0.0-test")
		if !done {
			if out.Len() != 0 {
				t.Errorf("a miss wrote %q to stdout", out.String())
			}
			// What the full path then reads is exactly the request.
			if b, _ := io.ReadAll(rest); string(b) != stdin {
				t.Errorf("stdin handed on = %q, want %q", b, stdin)
			}
		}
		return done, out.String(), errOut.String()
	}

	// Cold: nothing cached, the warm path stays out of the way.
	if done, _, _ := cached([]string{name}, req("iad.ocir.io/demotenancy/hello")); done {
		t.Fatal("answered with nothing cached")
	}
	if e.Count("token-attempts") != 0 {
		t.Fatal("the warm path made a token request")
	}
	code, want := full(strings.NewReader(req("iad.ocir.io/demotenancy/hello")))
	if code != 0 || want == "" {
		t.Fatalf("full path: %d %q", code, want)
	}
	// Warm: the same bytes, no request to OCI.
	e.ResetCounters()
	done, got, stderr := cached([]string{name}, req("iad.ocir.io/demotenancy/hello"))
	if !done || got != want || stderr != "" {
		t.Errorf("warm answer: done %t, stderr %q, stdout equal to the full path's: %t", done, stderr, got == want)
	}
	if n := e.Count("token-attempts"); n != 0 {
		t.Errorf("warm path made %d token requests", n)
	}
	// Everything the warm path does not handle goes the full way.
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		env   [2]string
	}{
		{"a flag", []string{name, "--verify-pull"}, req("iad.ocir.io/demotenancy/hello"), [2]string{}},
		{"verify-pull from the environment", []string{name}, req("iad.ocir.io/demotenancy/hello"), [2]string{"OCIR_VERIFY_PULL", "on"}},
		{"a log file", []string{name}, req("iad.ocir.io/demotenancy/hello"), [2]string{"OCIR_LOG_FILE", filepath.Join(dir, "log")}},
		{"a bad setting", []string{name}, req("iad.ocir.io/demotenancy/hello"), [2]string{"OCIR_TIMEOUT", "soon"}},
		{"another registry", []string{name}, req("fra.ocir.io/demotenancy/hello"), [2]string{}},
		{"not OCIR", []string{name}, req("docker.io/library/nginx"), [2]string{}},
		{"garbage", []string{name}, "{", [2]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env[0] != "" {
				vars[tc.env[0]] = tc.env[1]
				defer delete(vars, tc.env[0])
			}
			if done, _, _ := cached(tc.args, tc.stdin); done {
				t.Error("answered on the warm path")
			}
		})
	}
}
