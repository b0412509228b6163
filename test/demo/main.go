// Command demo shows the whole job working against the local OCI emulator:
// no cloud account, no passwords. Run it with `make demo` (which builds the
// binaries into bin/ first). Every step prints what it proved and the demo
// exits non-zero as soon as one proof fails.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// demo carries the state shared by the steps.
type demo struct {
	e    *emulator.Emulator
	dir  string
	bin  string
	step int
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "\nDEMO FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("\nAll steps passed.")
}

func run() error {
	dir, err := os.MkdirTemp("", "ocir-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := filepath.Abs("bin")
	if err != nil {
		return err
	}
	d := &demo{dir: dir, bin: bin}

	d.title("Start the local OCI emulator (metadata service, federation, OCIR token service, registry, proxy)")
	d.e, err = emulator.Start(emulator.Options{Dir: filepath.Join(dir, "emulator")})
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer func() {
		d.e.Close()
		d.title("Stop the emulator")
		d.proved("emulator stopped; temporary files removed")
	}()
	if err := d.useEmulatorEnv(); err != nil {
		return err
	}
	d.proved("listening on loopback; env written to %s", d.e.EnvFile())

	for _, step := range []func() error{d.apiKey, d.instancePrincipal} {
		if err := step(); err != nil {
			return err
		}
	}
	for _, step := range extraSteps {
		if err := step(d); err != nil {
			return err
		}
	}
	return nil
}

// extraSteps are the front ends' parts of the demo (docker, kubelet).
var extraSteps []func(*demo) error

func (d *demo) title(s string) {
	d.step++
	fmt.Printf("\n== Step %d: %s\n", d.step, s)
}

func (d *demo) proved(format string, args ...any) {
	fmt.Printf("   ✓ "+format+"\n", args...)
}

// useEmulatorEnv exports the emulator's env file (proxy, CA, OCI config)
// into this process, so the SDK and child processes see the fake world.
func (d *demo) useEmulatorEnv() error {
	for _, kv := range d.e.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "OCI_METADATA_BASE_URL" {
			continue // the API-key step runs "on a laptop"
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return os.Setenv("HOME", filepath.Join(d.dir, "home"))
}

func (d *demo) apiKey() error {
	d.title("API key profile (a developer laptop): get an OCIR token for iad.ocir.io")
	cache := filepath.Join(d.dir, "cache-apikey")
	p := ocir.New(ocir.WithCacheDir(cache))
	ex, err := p.Explain(context.Background(), "iad.ocir.io")
	if err != nil {
		return err
	}
	fmt.Printf("   identity: %s (%s)\n", ex.Auth, ex.Reason)
	if ex.Auth != ocir.AuthAPIKey {
		return fmt.Errorf("expected api_key identity, got %q", ex.Auth)
	}
	before := d.e.Count("token")
	start := time.Now()
	c, err := p.Credential(context.Background(), "iad.ocir.io")
	if err != nil {
		return err
	}
	if d.e.Count("token") != before+1 {
		return errors.New("no signed token request reached the emulator")
	}
	d.proved("username %s, token valid until %s (%s, one signed request verified by the emulator)",
		c.Username, c.ExpiresAt.Format(time.TimeOnly), time.Since(start).Round(time.Millisecond))

	d.title("Same lookup again, as a new process would do it (fresh provider, same cache directory)")
	start = time.Now()
	c2, err := ocir.New(ocir.WithCacheDir(cache)).Credential(context.Background(), "iad.ocir.io")
	if err != nil {
		return err
	}
	if c2.Secret != c.Secret || d.e.Count("token") != before+1 {
		return errors.New("second lookup was not served from the cache")
	}
	d.proved("served from the on-disk cache in %s: zero requests to OCI", time.Since(start).Round(time.Microsecond))
	return nil
}

func (d *demo) instancePrincipal() error {
	d.title("Instance principal (a CI runner on an OCI instance): no config file at all")
	if err := os.Setenv("OCI_METADATA_BASE_URL", d.e.MetadataURL()); err != nil {
		return err
	}
	os.Unsetenv("OCI_CLI_CONFIG_FILE")
	defer os.Setenv("OCI_CLI_CONFIG_FILE", d.e.ConfigFile())
	defer os.Unsetenv("OCI_METADATA_BASE_URL")
	p := ocir.New(ocir.WithCacheDir(filepath.Join(d.dir, "cache-instance")))
	ex, err := p.Explain(context.Background(), "ocir.us-ashburn-1.oci.oraclecloud.com")
	if err != nil {
		return err
	}
	fmt.Printf("   identity: %s (%s)\n", ex.Auth, ex.Reason)
	if ex.Auth != ocir.AuthInstancePrincipal {
		return fmt.Errorf("expected instance_principal identity, got %q", ex.Auth)
	}
	fed := d.e.Count("federation")
	c, err := p.Credential(context.Background(), "ocir.us-ashburn-1.oci.oraclecloud.com")
	if err != nil {
		return err
	}
	d.proved("metadata service → certificate → federation (%d call) → signed token request; token valid until %s",
		d.e.Count("federation")-fed, c.ExpiresAt.Format(time.TimeOnly))
	return nil
}
