package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

func init() { extraSteps = append(extraSteps, (*demo).ciOutsideOCI) }

// ciOutsideOCI is a GitHub-Actions-style job on a runner outside OCI: the
// built helper gets the job's OIDC token, exchanges it at the identity
// domain and signs the OCIR token request with the session. The child
// processes see only the emulator's wif.env (proxy, CA, federation
// settings), a PATH and an empty HOME: no OCI key anywhere.
func (d *demo) ciOutsideOCI() error {
	d.title("CI runner outside OCI: GitHub-Actions-style OIDC token → identity domain → OCIR, no OCI key anywhere")
	home := filepath.Join(d.dir, "ci-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	env := append(d.e.WIFEnv(),
		"PATH="+d.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+home,
		"DOCKER_CONFIG="+filepath.Join(d.dir, "ci-docker"),
		"OCIR_CACHE_DIR="+filepath.Join(d.dir, "ci-cache"),
	)
	for _, kv := range env {
		if strings.HasPrefix(kv, "OCI_CLI_CONFIG_FILE=") || strings.HasPrefix(kv, "OCI_CLI_KEY") {
			return fmt.Errorf("the CI environment holds an OCI key setting: %s", kv)
		}
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OCIR_WIF_") || strings.HasPrefix(k, "ACTIONS_") || k == "OCI_CLI_AUTH" {
			fmt.Printf("   %s\n", redactSecret(kv))
		}
	}
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(d.bin, "docker-credential-ocir"), args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			err = fmt.Errorf("%s %v: %v\n%s%s", cmd.Path, args, err, out, ee.Stderr)
		}
		return string(out), err
	}
	oidc, exchanges, tokens := d.e.Count("oidc"), d.e.Count("idcs"), d.e.Count("token")
	out, err := run("fra.ocir.io", "get")
	if err != nil {
		return err
	}
	var c struct{ Username, Secret string }
	if json.Unmarshal([]byte(out), &c) != nil || c.Username != "BEARER_TOKEN" || c.Secret == "" {
		return fmt.Errorf("get answered %q", out[:min(len(out), 40)])
	}
	all := d.e.IssuedTokens()
	issued := all[len(all)-1]
	if issued.Token != c.Secret || issued.Kind != emulator.KindWorkloadIdentityFederation {
		return fmt.Errorf("the token was not issued to a federated session (%s %s)", issued.Kind, issued.Principal)
	}
	if d.e.Count("oidc") != oidc+1 || d.e.Count("idcs") != exchanges+1 || d.e.Count("token") != tokens+1 {
		return fmt.Errorf("expected 1 OIDC request, 1 exchange, 1 token request")
	}
	d.proved("1 OIDC token request, 1 token exchange at %s, 1 signed OCIR request; token issued to %q", strings.TrimPrefix(d.e.WIF().DomainURL, "https://"), issued.Principal)

	out, err = run("", "doctor", "fra.ocir.io/demotenancy/hello")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, _, _ := strings.Cut(l, ":"); k == "identity" || k == "domain" || k == "subject" || k == "pull probe" || k == "result" {
			fmt.Println("   | " + l)
		}
	}
	d.proved("doctor: federation healthy, the pull of demotenancy/hello is allowed")
	return nil
}

// redactSecret hides the value of variables that hold a secret.
func redactSecret(kv string) string {
	if k, _, _ := strings.Cut(kv, "="); strings.HasSuffix(k, "_TOKEN") || strings.HasSuffix(k, "_SECRET") {
		return k + "=<redacted>"
	}
	return kv
}
