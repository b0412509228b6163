// Command release builds every release artifact of ocir-credential-helper
// into one directory, offline (only the Go module proxy) and reproducibly:
// the same commit, Go toolchain and SOURCE_DATE_EPOCH give the same bytes.
//
//	go run . --repo ../.. --out ../../dist --version v1.2.3 --commit abc1234
//
// It writes, for each platform asked for:
//   - both binaries as they are (docker-credential-ocir-OS-ARCH[.exe],
//     ocir-credential-provider-OS-ARCH[.exe]: what the OKE cloud-init
//     script downloads);
//   - an archive (.tar.gz; .zip for Windows) with both binaries, LICENSE and
//     README.md, and its CycloneDX SBOM (.cdx.json);
//   - for linux, .deb, .rpm and .apk packages (nfpm, as a library) and their
//     SBOMs;
//
// and once: the Homebrew formula (homebrew/docker-credential-ocir.rb), the
// node-installer image as an OCI image layout tarball, the Helm chart
// package, and SHA256SUMS over all of it. It lives in its own module so that
// its pinned tools (nfpm, cyclonedx-gomod, helm) stay out of the main
// module's dependencies.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// Names shared by the artifacts and the formula.
const (
	project      = "ocir-credential-helper"
	module       = "github.com/ocir-credential-helper/ocir-credential-helper"
	helperBin    = "docker-credential-ocir"
	pluginBin    = "ocir-credential-provider"
	chartName    = "ocir-credential-provider"
	imageName    = "ocir-credential-provider-installer"
	homepage     = "https://github.com/ocir-credential-helper/ocir-credential-helper"
	license      = "Apache-2.0"
	description  = "Credential helper for Oracle Cloud Infrastructure Registry (OCIR): docker-credential-ocir and the kubelet image credential provider plugin"
	maintainerID = "ocir-credential-helper maintainers"
)

// binaries are the two programs every archive and package ships.
var binaries = []string{helperBin, pluginBin}

// config is everything one run needs.
type config struct {
	repo, out      string // repository root, output directory (absolute)
	version        string // as linked into the binaries: v1.2.3, or a git describe
	commit         string
	tags           string    // build tags, as make build uses them
	epoch          time.Time // SOURCE_DATE_EPOCH: every timestamp in every artifact
	platforms      []platform
	formats        map[string]bool // artifact kinds to build, see allFormats
	downloadURL    string          // where the formula finds the archives
	tmp            string
	toolsDir       string // this module's directory, where `go tool` finds the pinned tools
	pluginForHost  string // a host-built plugin, to generate the example config
	builtBinaries  map[platform]map[string]string
	archiveSHA256s map[platform]string
	sboms          map[platform]*cdx.BOM // merged SBOM of each platform's binaries
}

type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }

// allFormats are the artifact kinds, in build order.
var allFormats = []string{"binary", "archive", "deb", "rpm", "apk", "sbom", "brew", "image", "chart"}

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	repo := fs.String("repo", "../..", "repository root")
	out := fs.String("out", "dist", "output directory (emptied first)")
	version := fs.String("version", "dev", "version linked into the binaries and given to the packages")
	commit := fs.String("commit", "unknown", "commit linked into the binaries")
	tags := fs.String("tags", "", "build tags (make passes the ones make build uses)")
	platforms := fs.String("platforms", "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64", "comma-separated OS/ARCH list")
	formats := fs.String("formats", strings.Join(allFormats, ","), "comma-separated artifact kinds: "+strings.Join(allFormats, ", "))
	downloadURL := fs.String("download-url", homepage+"/releases/download/{{version}}", "base URL of the release's files, for the Homebrew formula ({{version}} is replaced)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c := &config{version: *version, commit: *commit, tags: *tags, formats: map[string]bool{},
		builtBinaries: map[platform]map[string]string{}, archiveSHA256s: map[platform]string{}, sboms: map[platform]*cdx.BOM{}}
	var err error
	if c.epoch, err = sourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH")); err != nil {
		return err
	}
	if c.repo, err = filepath.Abs(*repo); err != nil {
		return err
	}
	if c.out, err = filepath.Abs(*out); err != nil {
		return err
	}
	if c.toolsDir, err = os.Getwd(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.repo, "go.mod")); err != nil {
		return fmt.Errorf("--repo %s: not the repository root: %w", *repo, err)
	}
	for _, p := range strings.Split(*platforms, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || osName == "" || arch == "" {
			return fmt.Errorf("--platforms: %q is not OS/ARCH", p)
		}
		c.platforms = append(c.platforms, platform{osName, arch})
	}
	for _, f := range strings.Split(*formats, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(allFormats, f) {
			return fmt.Errorf("--formats: unknown kind %q (want some of %s)", f, strings.Join(allFormats, ", "))
		}
		c.formats[f] = true
	}
	c.downloadURL = strings.ReplaceAll(*downloadURL, "{{version}}", c.version)

	if err := os.RemoveAll(c.out); err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	if c.tmp, err = os.MkdirTemp("", "ocir-release-"); err != nil {
		return err
	}
	defer os.RemoveAll(c.tmp)
	return c.build(ctx)
}

func (c *config) build(ctx context.Context) error {
	for _, p := range c.platforms {
		if err := c.buildBinaries(ctx, p); err != nil {
			return err
		}
	}
	if err := c.buildHostPlugin(ctx); err != nil {
		return err
	}
	for _, p := range c.platforms {
		if c.formats["binary"] {
			if err := c.bareBinaries(p); err != nil {
				return err
			}
		}
		if c.formats["archive"] {
			if err := c.archive(ctx, p); err != nil {
				return err
			}
		}
		if p.os != "linux" {
			continue
		}
		for _, format := range []string{"deb", "rpm", "apk"} {
			if c.formats[format] {
				if err := c.pkg(ctx, p, format); err != nil {
					return err
				}
			}
		}
	}
	if c.formats["brew"] {
		if err := c.formula(); err != nil {
			return err
		}
	}
	if c.formats["image"] {
		if err := c.image(ctx); err != nil {
			return err
		}
	}
	if c.formats["chart"] {
		if err := c.chart(ctx); err != nil {
			return err
		}
	}
	return writeChecksums(c.out)
}

// buildBinaries builds both programs for one platform: static, -trimpath,
// no VCS stamp (the version and commit are linked in), so that the bytes
// depend only on the source and the toolchain.
func (c *config) buildBinaries(ctx context.Context, p platform) error {
	dir := filepath.Join(c.tmp, "bin", p.os+"-"+p.arch)
	c.builtBinaries[p] = map[string]string{}
	for _, b := range binaries {
		outFile := filepath.Join(dir, b+exeSuffix(p))
		fmt.Fprintf(os.Stderr, "release: building %s for %s\n", b, p)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-tags", c.tags, "-ldflags", c.ldflags(), "-o", outFile, "./cmd/"+b)
		cmd.Dir = c.repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.os, "GOARCH="+p.arch, "GOFLAGS=")
		if err := runCmd(cmd); err != nil {
			return fmt.Errorf("build %s for %s: %w", b, p, err)
		}
		c.builtBinaries[p][b] = outFile
	}
	return nil
}

// buildHostPlugin builds the plugin for this machine, to generate the
// example provider config the packages ship with its own `config` command.
func (c *config) buildHostPlugin(ctx context.Context) error {
	c.pluginForHost = filepath.Join(c.tmp, "host", pluginBin)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", c.pluginForHost, "./cmd/"+pluginBin)
	cmd.Dir = c.repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=", "GOARCH=")
	if err := runCmd(cmd); err != nil {
		return fmt.Errorf("build %s for this machine: %w", pluginBin, err)
	}
	return nil
}

// bareBinaries copies one platform's binaries into the output directory.
func (c *config) bareBinaries(p platform) error {
	for _, b := range binaries {
		data, err := os.ReadFile(c.builtBinaries[p][b])
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%s-%s%s", b, p.os, p.arch, exeSuffix(p))
		if err := os.WriteFile(filepath.Join(c.out, name), data, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (c *config) ldflags() string {
	return fmt.Sprintf("-s -w -X %s/cmd/internal/version.Version=%s -X %s/cmd/internal/version.Commit=%s",
		module, c.version, module, c.commit)
}

// semverRE matches what packages accept as their version: v1.2.3 with an
// optional -prerelease.
var semverRE = regexp.MustCompile(`^v?(\d+\.\d+\.\d+)(-[0-9A-Za-z.-]+)?$`)

// packageVersion is the version packages and the chart carry: the tag
// without its "v", or for an untagged build 0.0.0-dev.<describe>, which
// sorts below every release.
func (c *config) packageVersion() string {
	if m := semverRE.FindStringSubmatch(c.version); m != nil {
		return m[1] + m[2]
	}
	clean := regexp.MustCompile(`[^0-9A-Za-z.]+`).ReplaceAllString(c.version, ".")
	return "0.0.0-dev." + strings.Trim(clean, ".")
}

// artifactBase is the name stem of one platform's files.
func (c *config) artifactBase(p platform) string {
	return fmt.Sprintf("%s_%s_%s_%s", project, c.packageVersion(), p.os, p.arch)
}

func exeSuffix(p platform) string {
	if p.os == "windows" {
		return ".exe"
	}
	return ""
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (seconds since 1970); unset means
// 2000-01-01, the timestamp the installer image has always used.
func sourceDateEpoch(v string) (time.Time, error) {
	if v == "" {
		return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: want seconds since 1970", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

// runCmd runs cmd with its output on stderr, the error naming the command.
func runCmd(cmd *exec.Cmd) error {
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), err)
		}
		return err
	}
	return nil
}
