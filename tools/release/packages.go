package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/apk" // registers the apk packager
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// Where the packages put things. The plugin goes to the kubelet's
// conventional credential provider bin dir; nothing edits the kubelet's
// flags (that stays an explicit step: deploy/install.sh or the docs).
const (
	pkgHelperPath  = "/usr/bin/" + helperBin
	pkgPluginDir   = "/usr/libexec/kubernetes/kubelet-plugins/credential-provider"
	pkgDocDir      = "/usr/share/doc/" + project
	pkgExampleName = "credential-provider-config.yaml"
)

// pkg writes one .deb, .rpm or .apk for a linux platform, and its SBOM.
func (c *config) pkg(ctx context.Context, p platform, format string) error {
	example, err := c.exampleConfig(ctx)
	if err != nil {
		return err
	}
	info := &nfpm.Info{
		Name:        project,
		Arch:        p.arch,
		Platform:    "linux",
		Version:     c.packageVersion(),
		Section:     "utils",
		Priority:    "optional",
		Maintainer:  maintainerID,
		Description: description,
		Vendor:      project,
		Homepage:    homepage,
		License:     license,
		MTime:       c.epoch,
	}
	info.RPM.BuildHost = "reproducible"
	info.RPM.Summary = "Credential helper for Oracle Cloud Infrastructure Registry (OCIR)"
	info.Contents = files.Contents{
		{Source: c.builtBinaries[p][helperBin], Destination: pkgHelperPath,
			FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: c.epoch}},
		{Source: c.builtBinaries[p][pluginBin], Destination: pkgPluginDir + "/" + pluginBin,
			FileInfo: &files.ContentFileInfo{Mode: 0o755, MTime: c.epoch}},
		{Source: example, Destination: pkgDocDir + "/" + pkgExampleName,
			FileInfo: &files.ContentFileInfo{Mode: 0o644, MTime: c.epoch}},
		{Source: filepath.Join(c.repo, "README.md"), Destination: pkgDocDir + "/README.md",
			FileInfo: &files.ContentFileInfo{Mode: 0o644, MTime: c.epoch}},
		{Source: filepath.Join(c.repo, "LICENSE"), Destination: pkgDocDir + "/LICENSE",
			FileInfo: &files.ContentFileInfo{Mode: 0o644, MTime: c.epoch}},
	}
	packager, err := nfpm.Get(format)
	if err != nil {
		return err
	}
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return fmt.Errorf("%s for %s: %w", format, p, err)
	}
	name := c.artifactBase(p) + "." + format
	path := filepath.Join(c.out, name)
	fmt.Fprintf(os.Stderr, "release: %s\n", name)
	if err := writeAtomic(path, func(w io.Writer) error { return packager.Package(info, w) }); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if c.formats["sbom"] {
		return c.sbom(ctx, p, path)
	}
	return nil
}

// exampleConfig writes (once) the provider config the packages ship as an
// example: what `ocir-credential-provider config` prints.
func (c *config) exampleConfig(ctx context.Context) (string, error) {
	path := filepath.Join(c.tmp, pkgExampleName)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	out, err := exec.CommandContext(ctx, c.pluginForHost, "config").Output()
	if err != nil {
		return "", fmt.Errorf("%s config: %w", pluginBin, err)
	}
	return path, os.WriteFile(path, out, 0o644)
}
