package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// pullProgram is test/e2e/ocir-pull, the program of docs/library.md.
const pullProgram = "ocir-pull"

var buildPull = sync.OnceValues(func() (string, error) {
	out := filepath.Join(binDir, pullProgram)
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", out, "./"+pullProgram)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("building " + pullProgram + ": " + err.Error() + "\n" + string(msg))
	}
	return out, nil
})

// A Go program built on the library (ocir.NewFromEnv plus the keychain)
// pulls a private image from the real host name with the identity of its
// environment: an API-key profile, or the instance principal when only the
// instance metadata service is there.
func TestLibraryProgramPullsWithTheEnvironmentsIdentity(t *testing.T) {
	bin, err := buildPull()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		id         identity
		kind       string // of the OCIR token the emulator issued
		federation bool   // the identity needs the federation endpoint
	}{
		{"api key", apiKey, emulator.KindAPIKey, false},
		{"instance principal", instancePrincipal, emulator.KindInstancePrincipal, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.id)
			tarPath := filepath.Join(h.dir, "hello.tar")
			out := h.mustRun(bin, hostShort+"/"+seedRepo+":latest", tarPath)

			if want := h.emu.SeedDigest() + "\n"; out != want {
				t.Errorf("stdout %q, want the seeded digest %q", out, want)
			}
			assertTarballHoldsSeed(t, h.emu, tarPath)

			var kinds []string
			for _, it := range h.emu.IssuedTokens() {
				if it.Host == hostShort {
					kinds = append(kinds, it.Kind)
				}
			}
			if len(kinds) != 1 || kinds[0] != c.kind {
				t.Errorf("OCIR tokens issued for %s: %v, want one %s token", hostShort, kinds, c.kind)
			}
			if n := h.emu.CountHost("registry-auth", hostShort); n < 1 {
				t.Errorf("the program never exchanged BEARER_TOKEN credentials at the %s token realm", hostShort)
			}
			if n := h.emu.Count("federation"); (n > 0) != c.federation {
				t.Errorf("%d federation requests, want any: %t", n, c.federation)
			}
			// NewFromEnv honours OCIR_LOG_FILE/OCIR_LOG_LEVEL as the binaries do.
			if log := h.helperLog(); !strings.Contains(log, `msg="new token" registry=`+hostShort) {
				t.Errorf("OCIR_LOG_FILE holds no new-token line:\n%s", log)
			}
			// ... and OCIR_CACHE_DIR: docker-credential-ocir finds the
			// program's token in the cache and asks OCIR for nothing.
			tokens := h.emu.Count("token")
			got, errOut, err := h.helperStdin(hostShort, "get")
			if err != nil {
				t.Fatalf("get: %v\n%s%s", err, got, errOut)
			}
			issued := h.emu.IssuedTokens()
			same := strings.Contains(got, `"Secret":"`+issued[len(issued)-1].Token+`"`)
			if n := h.emu.Count("token") - tokens; !same || n != 0 {
				t.Errorf("docker-credential-ocir get made %d token requests, answered with the program's token: %t; want 0 and true", n, same)
			}
		})
	}
}

// Without an identity the program fails and says why: a typed error from
// the core, not an anonymous pull that the registry would refuse with a
// puzzling 403.
func TestLibraryProgramWithoutIdentityFailsWithTheReason(t *testing.T) {
	bin, err := buildPull()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, noIdentity)
	out, errOut, err := h.run(bin, hostShort+"/"+seedRepo+":latest", filepath.Join(h.dir, "hello.tar"))
	if exitCodeOf(err) != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing", exitCodeOf(err), out)
	}
	if !strings.Contains(errOut, "no OCI identity configured for "+hostShort) {
		t.Errorf("stderr does not give the reason:\n%s", errOut)
	}
	if n := h.emu.Count("registry"); n != 0 {
		t.Errorf("%d registry requests, want none: the pull must stop at the missing identity", n)
	}
}

// The docs show exactly the program the tests build and run.
func TestLibraryDocShowsTheTestedProgram(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(pullProgram, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "library.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The doc's copy starts at the package clause.
	_, body, ok := bytes.Cut(src, []byte("\npackage main\n"))
	if !ok {
		t.Fatal("no package clause in " + pullProgram + "/main.go")
	}
	if block := "```go\npackage main\n" + string(body) + "```\n"; !strings.Contains(string(doc), block) {
		t.Errorf("docs/library.md does not show %s/main.go (from its package clause) in a go code block; copy it there", pullProgram)
	}
}

// assertTarballHoldsSeed reads the pulled tarball back and finds the seed
// image's file, with its content, in the image's filesystem (every layer
// was downloaded and its digest verified on the way).
func assertTarballHoldsSeed(t *testing.T, e *emulator.Emulator, path string) {
	t.Helper()
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatalf("read pulled tarball: %v", err)
	}
	fs := mutate.Extract(img)
	defer fs.Close()
	tr := tar.NewReader(fs)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not found in the pulled image: %v", emulator.SeedFile, err)
		}
		if strings.TrimPrefix(hdr.Name, "/") != emulator.SeedFile {
			continue
		}
		got, err := io.ReadAll(tr)
		if err != nil || string(got) != emulator.SeedFileContent {
			t.Fatalf("%s = %q, %v; want %q", emulator.SeedFile, got, err, emulator.SeedFileContent)
		}
		return
	}
}
