// Package release checks the artifacts `make release` builds (tools/release)
// as a user meets them: the checksums file verifies every file, each archive
// holds both binaries, LICENSE and README, the .deb and .rpm install into a
// throwaway root (never into this machine) and the binaries they installed
// get credentials from the OCI emulator, the SBOMs name the module and the
// OCI SDK with their versions, and the Homebrew formula is valid Ruby naming
// the archives' checksums.
//
// It reads the directory named by OCIR_DIST_DIR, which `make test` fills
// with the linux/amd64 artifacts (version OCIR_DIST_VERSION); without it the
// tests skip (and fail with CI=true).
package release

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

const module = "github.com/ocir-credential-helper/ocir-credential-helper"

// dist returns the artifacts directory and the version they were built as.
func dist(t *testing.T) (dir, version string) {
	t.Helper()
	dir, version = os.Getenv("OCIR_DIST_DIR"), os.Getenv("OCIR_DIST_VERSION")
	if dir == "" || version == "" {
		msg := "OCIR_DIST_DIR and OCIR_DIST_VERSION are not set: run `make test` (it builds the linux/amd64 release artifacts first)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIP " + msg)
	}
	return dir, version
}

// pkgVersion is the version packages carry: the tag without its "v".
func pkgVersion(v string) string { return strings.TrimPrefix(v, "v") }

func artifact(t *testing.T, suffix string) string {
	t.Helper()
	dir, v := dist(t)
	p := filepath.Join(dir, "ocir-credential-helper_"+pkgVersion(v)+"_"+runtime.GOOS+"_"+runtime.GOARCH+suffix)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("missing artifact: %v", err)
	}
	return p
}

func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " is not installed (apt-get install " + pkg + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIP " + msg)
	}
	return p
}

// checksums reads SHA256SUMS: file name → hex digest.
func checksums(t *testing.T) map[string]string {
	t.Helper()
	dir, _ := dist(t)
	f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("SHA256SUMS line %q is not `sha256sum` format", sc.Text())
		}
		out[name] = sum
	}
	return out
}

func TestChecksumsCoverAndVerifyEveryArtifact(t *testing.T) {
	dir, _ := dist(t)
	sums := checksums(t)
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != "SHA256SUMS" {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(sums) {
		t.Errorf("SHA256SUMS lists %d files, the directory has %d: %v", len(sums), len(files), files)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		got := sha256.Sum256(b)
		if sums[f] != hex.EncodeToString(got[:]) {
			t.Errorf("%s: SHA256SUMS has %q, the file hashes to %x", f, sums[f], got)
		}
	}
	// What users run to verify a download.
	if sc, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sc, "--check", "--strict", "SHA256SUMS")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum --check: %v\n%s", err, out)
		}
	}
	// The bare binaries the OKE cloud-init script downloads.
	for _, b := range []string{"docker-credential-ocir", "ocir-credential-provider"} {
		if _, ok := sums[b+"-"+runtime.GOOS+"-"+runtime.GOARCH]; !ok {
			t.Errorf("SHA256SUMS does not list the bare %s binary", b)
		}
	}
	// Every kind of artifact is there, with its SBOM.
	for _, suffix := range []string{".tar.gz", ".deb", ".rpm", ".apk"} {
		name := filepath.Base(artifact(t, suffix))
		for _, want := range []string{name, name + ".cdx.json"} {
			if _, ok := sums[want]; !ok {
				t.Errorf("SHA256SUMS does not list %s", want)
			}
		}
	}
}

func TestArchiveHoldsBothBinariesLicenseAndReadme(t *testing.T) {
	_, version := dist(t)
	path := artifact(t, ".tar.gz")
	top := strings.TrimSuffix(filepath.Base(path), ".tar.gz")
	root := t.TempDir()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	got := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.ModTime.IsZero() {
			t.Errorf("%s: owner %d:%d, time %v: want root and SOURCE_DATE_EPOCH", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		got[h.Name] = h.Mode
		if !strings.HasPrefix(h.Name, top+"/") || strings.Contains(h.Name, "..") {
			t.Fatalf("entry %q outside %s/", h.Name, top)
		}
		out, err := os.OpenFile(filepath.Join(root, filepath.Base(h.Name)), os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, tr); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
	want := map[string]int64{
		top + "/docker-credential-ocir": 0o755, top + "/ocir-credential-provider": 0o755,
		top + "/LICENSE": 0o644, top + "/README.md": 0o644,
	}
	if len(got) != len(want) {
		t.Errorf("archive holds %v, want %v", got, want)
	}
	for name, mode := range want {
		if got[name] != mode {
			t.Errorf("%s: mode %o, want %o", name, got[name], mode)
		}
	}
	license, _ := os.ReadFile(filepath.Join(root, "LICENSE"))
	if !bytes.Contains(license, []byte("Apache License")) {
		t.Error("LICENSE is not the project's license")
	}
	for _, b := range []string{"docker-credential-ocir", "ocir-credential-provider"} {
		out, err := exec.Command(filepath.Join(root, b), "--version").Output()
		if err != nil || !strings.Contains(string(out), version) {
			t.Errorf("%s --version: %q %v, want %s", b, out, err, version)
		}
	}
}

// installed are the paths the packages put the programs at.
var installed = struct{ helper, plugin, example string }{
	helper:  "usr/bin/docker-credential-ocir",
	plugin:  "usr/libexec/kubernetes/kubelet-plugins/credential-provider/ocir-credential-provider",
	example: "usr/share/doc/ocir-credential-helper/credential-provider-config.yaml",
}

func TestDebInstallsIntoAThrowawayRootAndWorks(t *testing.T) {
	deb := artifact(t, ".deb")
	dpkgDeb := requireTool(t, "dpkg-deb", "dpkg")
	_, version := dist(t)
	info, err := exec.Command(dpkgDeb, "--info", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Package: ocir-credential-helper", "Version: " + pkgVersion(version), "Architecture: " + runtime.GOARCH} {
		if !strings.Contains(string(info), want) {
			t.Errorf("control lacks %q:\n%s", want, info)
		}
	}
	for _, script := range []string{"preinst", "postinst", "prerm", "postrm"} {
		if strings.Contains(string(info), " "+script+" ") {
			t.Errorf("the .deb has a %s script; installing must not touch the kubelet's flags", script)
		}
	}
	// dpkg -x unpacks only into the given directory: no dpkg database,
	// no scripts, nothing outside root.
	root := t.TempDir()
	if out, err := exec.Command(dpkgDeb, "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -x: %v\n%s", err, out)
	}
	checkInstalled(t, root)
}

func TestRpmInstallsIntoAThrowawayRootAndWorks(t *testing.T) {
	pkg := artifact(t, ".rpm")
	rpm := requireTool(t, "rpm", "rpm")
	_, version := dist(t)
	scripts, err := exec.Command(rpm, "-qp", "--scripts", pkg).CombinedOutput()
	if err != nil || strings.TrimSpace(string(scripts)) != "" {
		t.Errorf("the .rpm has scripts (%v): %s", err, scripts)
	}
	info, err := exec.Command(rpm, "-qp", "--queryformat", "%{NAME} %{VERSION} %{ARCH}", pkg).Output()
	if err != nil || !strings.HasPrefix(string(info), "ocir-credential-helper "+strings.ReplaceAll(pkgVersion(version), "-", "~")) {
		t.Errorf("rpm -qp: %q %v", info, err)
	}
	// rpm --root installs into its own database and files under root.
	root := t.TempDir()
	rpmEnv := append(os.Environ(), "HOME="+t.TempDir())
	cmd := exec.Command(rpm, "--root", root, "--dbpath", "/var/lib/rpm", "--install", "--nodeps", "--ignorearch", "--nosignature", pkg)
	cmd.Env = rpmEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rpm --root %s --install: %v\n%s", root, err, out)
	}
	cmd = exec.Command(rpm, "--root", root, "--dbpath", "/var/lib/rpm", "-q", "ocir-credential-helper")
	cmd.Env = rpmEnv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the throwaway root's rpm database lacks the package: %v %s", err, out)
	}
	checkInstalled(t, root)
}

// checkInstalled runs the programs a package installed under root against
// the OCI emulator: the docker helper's `get` with the emulator's API key,
// the kubelet plugin with a CredentialProviderRequest as a node (instance
// principal); and checks the example config passes validate-config.
func checkInstalled(t *testing.T, root string) {
	t.Helper()
	helper, plugin := filepath.Join(root, installed.helper), filepath.Join(root, installed.plugin)
	for _, p := range []string{helper, plugin} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Fatalf("%s: %v %v", p, fi, err)
		}
	}
	if out, err := exec.Command(plugin, "validate-config", filepath.Join(root, installed.example)).CombinedOutput(); err != nil {
		t.Errorf("the shipped example config does not validate: %v\n%s", err, out)
	}

	emu, dir := emulatortest.Start(t)
	env := append(emu.Env(), "PATH="+os.Getenv("PATH"), "HOME="+dir, "OCIR_CACHE_DIR="+filepath.Join(dir, "cache"))

	host := "iad.ocir.io"
	stdout, stderr := run(t, env, host, helper, "get")
	var cred struct{ ServerURL, Username, Secret string }
	if err := json.Unmarshal([]byte(stdout), &cred); err != nil || cred.Username == "" || cred.Secret == "" {
		t.Fatalf("installed docker-credential-ocir get: %q (%v)\nstderr: %s", stdout, err, stderr)
	}

	req := `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"` + host + `/` + emu.Namespace() + `/app:1"}`
	stdout, stderr = run(t, append(env, "OCI_CLI_AUTH=instance_principal"), req, plugin)
	var resp struct {
		Kind string
		Auth map[string]struct{ Username, Password string }
	}
	if err := json.Unmarshal([]byte(stdout), &resp); err != nil || resp.Kind != "CredentialProviderResponse" {
		t.Fatalf("installed plugin: %q (%v)\nstderr: %s", stdout, err, stderr)
	}
	var keys []string
	for k, a := range resp.Auth {
		keys = append(keys, k)
		if a.Username == "" || a.Password == "" {
			t.Errorf("empty credentials for %s", k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 || !strings.Contains(strings.Join(keys, " "), host) {
		t.Errorf("the plugin answered for %v, want %s", keys, host)
	}
}

func run(t *testing.T, env []string, stdin, name string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s %v: %v\nstdout: %s\nstderr: %s", name, args, err, o.String(), e.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("%s %v did not finish", name, args)
	}
	return o.String(), e.String()
}

// goModVersion is the version go.mod requires of a module.
func goModVersion(t *testing.T, mod string) string {
	t.Helper()
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s+` + regexp.QuoteMeta(mod) + `\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("go.mod does not require %s", mod)
	}
	return string(m[1])
}

func TestSBOMsNameTheModuleAndTheOCISDK(t *testing.T) {
	_, version := dist(t)
	sdk := "github.com/oracle/oci-go-sdk/v65"
	sdkVersion := goModVersion(t, sdk)
	for _, suffix := range []string{".tar.gz", ".deb", ".rpm", ".apk"} {
		path := artifact(t, suffix) + ".cdx.json"
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			type component struct {
				BOMRef  string `json:"bom-ref"`
				Type    string `json:"type"`
				Name    string `json:"name"`
				Version string `json:"version"`
				PURL    string `json:"purl"`
			}
			var bom struct {
				BOMFormat   string `json:"bomFormat"`
				SpecVersion string `json:"specVersion"`
				Metadata    struct {
					Component  component `json:"component"`
					Properties []struct{ Name, Value string }
				} `json:"metadata"`
				Components   []component `json:"components"`
				Dependencies []struct {
					Ref       string   `json:"ref"`
					DependsOn []string `json:"dependsOn"`
				} `json:"dependencies"`
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			if err := dec.Decode(&bom); err != nil {
				t.Fatal(err)
			}
			if bom.BOMFormat != "CycloneDX" || bom.SpecVersion == "" {
				t.Errorf("bomFormat %q specVersion %q", bom.BOMFormat, bom.SpecVersion)
			}
			if c := bom.Metadata.Component; c.Name != module || c.Version != "v"+pkgVersion(version) {
				t.Errorf("subject %s@%s, want %s@v%s", c.Name, c.Version, module, pkgVersion(version))
			}
			names := map[string]string{}
			apps := 0
			for _, c := range bom.Components {
				names[c.Name] = c.Version
				if c.Type == "application" {
					apps++
				}
			}
			if names[sdk] != sdkVersion {
				t.Errorf("OCI SDK %q, want %s (go.mod)", names[sdk], sdkVersion)
			}
			if apps != 2 {
				t.Errorf("%d application components, want the two binaries", apps)
			}
			refs := map[string]bool{}
			for _, d := range bom.Dependencies {
				refs[d.Ref] = true
			}
			if !refs[bom.Metadata.Component.BOMRef] {
				t.Error("no dependency entry for the subject")
			}
		})
	}
}

func TestHomebrewFormulaIsRubyNamingTheArchiveChecksums(t *testing.T) {
	dir, version := dist(t)
	path := filepath.Join(dir, "homebrew", "docker-credential-ocir.rb")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	formula := string(b)
	sums := checksums(t)
	archive := filepath.Base(artifact(t, ".tar.gz"))
	m := regexp.MustCompile(`url "([^"]+)"\s+sha256 "([0-9a-f]{64})"`).FindAllStringSubmatch(formula, -1)
	if len(m) == 0 {
		t.Fatalf("no url/sha256 pair in the formula:\n%s", formula)
	}
	found := false
	for _, pair := range m {
		name := pair[1][strings.LastIndex(pair[1], "/")+1:]
		if sums[name] != pair[2] {
			t.Errorf("formula: %s sha256 %s, SHA256SUMS %q", name, pair[2], sums[name])
		}
		if !strings.Contains(pair[1], "/"+version+"/") {
			t.Errorf("url %s is not under the release %s", pair[1], version)
		}
		found = found || name == archive
	}
	if !found {
		t.Errorf("the formula does not name %s", archive)
	}
	for _, want := range []string{"class DockerCredentialOcir < Formula", `version "` + pkgVersion(version) + `"`,
		`bin.install "docker-credential-ocir"`, `bin.install "ocir-credential-provider"`} {
		if !strings.Contains(formula, want) {
			t.Errorf("formula lacks %q", want)
		}
	}
	ruby := requireTool(t, "ruby", "ruby")
	if out, err := exec.Command(ruby, "-c", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Errorf("ruby -c: %v\n%s", err, out)
	}
}
