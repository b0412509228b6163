package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func init() { extraSteps = append(extraSteps, (*demo).docker) }

// docker wires docker-credential-ocir into a throwaway docker config and
// pulls the seeded image with go-containerregistry's default keychain —
// the same code path as crane, ko and cosign: it reads config.json and execs
// the helper named in credHelpers.
func (d *demo) docker() error {
	d.title("docker-credential-ocir configure-docker into a throwaway docker config")
	cfgDir := filepath.Join(d.dir, "docker")
	cmd := exec.Command(filepath.Join(d.bin, "docker-credential-ocir"), "configure-docker", "--config-dir", cfgDir, "--region", "iad")
	cmd.Env = append(os.Environ(), "PATH="+d.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("configure-docker: %v\n%s", err, out)
	}
	d.quote(out)
	raw, err := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if err != nil {
		return err
	}
	if !strings.Contains(string(raw), `"iad.ocir.io": "ocir"`) {
		return fmt.Errorf("config.json has no credHelpers entry for iad.ocir.io:\n%s", raw)
	}
	d.proved("config.json now maps iad.ocir.io and ocir.us-ashburn-1.oci.oraclecloud.com to the helper")

	d.title("A real client pulls iad.ocir.io/demotenancy/hello:latest — no docker login, no password")
	os.Setenv("DOCKER_CONFIG", cfgDir)
	os.Setenv("PATH", d.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.Setenv("OCIR_CACHE_DIR", filepath.Join(d.dir, "cache-docker"))
	ref, err := name.ParseReference("iad.ocir.io/demotenancy/hello:latest")
	if err != nil {
		return err
	}
	before, exchanges := d.e.Count("token"), d.e.Count("registry-auth")
	client, digest, err := pullDigest(ref, filepath.Join(d.dir, "hello.tar"))
	if err != nil {
		return fmt.Errorf("pull with %s: %w", client, err)
	}
	if digest != d.e.SeedDigest() {
		return fmt.Errorf("pulled %s, the registry holds %s", digest, d.e.SeedDigest())
	}
	if d.e.Count("token") != before+1 || d.e.Count("registry-auth") <= exchanges {
		return fmt.Errorf("the helper was not used (token requests %d→%d)", before, d.e.Count("token"))
	}
	d.proved("%s pulled %s; the helper made 1 signed token request, the client exchanged BEARER_TOKEN at the registry's realm", client, digest)
	return d.doctor()
}

// doctor shows the command to run when a pull fails: healthy for the seeded
// repository, and for one without IAM policy the statement to add.
func (d *demo) doctor() error {
	d.title("When a pull fails: docker-credential-ocir doctor <registry>/<namespace>/<repo>")
	helper := filepath.Join(d.bin, "docker-credential-ocir")
	out, err := exec.Command(helper, "doctor", "iad.ocir.io/demotenancy/hello").CombinedOutput()
	d.quote(out)
	if err != nil {
		return fmt.Errorf("doctor on the seeded repository: %v", err)
	}
	d.proved("identity, cache, live token call and pull probe all fine: exit 0")

	const denied = "demotenancy/nopolicy"
	d.e.DenyRepo(denied) // as OCIR answers when the IAM policy is missing
	out, err = exec.Command(helper, "doctor", "iad.ocir.io/"+denied).CombinedOutput()
	d.quote(out)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "Allow ") {
		return fmt.Errorf("doctor on a repository without policy: %v, want exit 1 and the policy statement", err)
	}
	d.proved("a repository the identity may not read: exit 1 and the IAM statement to add")
	return nil
}

// quote prints a command's output indented under the step.
func (d *demo) quote(out []byte) {
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		fmt.Println("   | " + l)
	}
}

// pullDigest pulls ref with the first real client found (crane, as built by
// `make tools`, then skopeo) and returns the pulled manifest digest. On a
// machine with neither, go-containerregistry's keychain — the library crane
// is built on — does the pull in-process, still through the helper binary.
func pullDigest(ref name.Reference, tarball string) (client, digest string, err error) {
	if path, err := exec.LookPath("crane"); err == nil {
		if out, err := exec.Command(path, "pull", ref.String(), tarball).CombinedOutput(); err != nil {
			return "crane", "", fmt.Errorf("%v: %s", err, out)
		}
		out, err := exec.Command(path, "digest", ref.String()).Output()
		return "crane", strings.TrimSpace(string(out)), err
	}
	if path, err := exec.LookPath("skopeo"); err == nil {
		out, err := exec.Command(path, "inspect", "--format", "{{.Digest}}", "docker://"+ref.String()).CombinedOutput()
		if err != nil {
			return "skopeo", "", fmt.Errorf("%v: %s", err, out)
		}
		return "skopeo", strings.TrimSpace(string(out)), nil
	}
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return "go-containerregistry", "", err
	}
	h, err := img.Digest()
	return "go-containerregistry (no crane or skopeo installed)", h.String(), err
}
