package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// image writes the node-installer image (deploy/image, as `make image`
// builds it) for the linux platforms of this run as an OCI image layout in
// a tar: ocir-credential-provider-installer_VERSION.oci.tar. Load it with
// `skopeo copy oci-archive:FILE docker://REGISTRY/REPO:TAG` or
// `crane push FILE REGISTRY/REPO:TAG` after untarring.
func (c *config) image(ctx context.Context) error {
	var linux []string
	for _, p := range c.platforms {
		if p.os == "linux" {
			linux = append(linux, p.String())
		}
	}
	if len(linux) == 0 {
		return fmt.Errorf("the installer image needs a linux platform; --platforms has none")
	}
	layout := filepath.Join(c.tmp, "installer-image")
	cmd := exec.CommandContext(ctx, "go", "run", "./deploy/image", "--version", c.version, "--commit", c.commit,
		"--platforms", strings.Join(linux, ","), "--oci-layout", layout)
	cmd.Dir = c.repo
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
	if err := runCmd(cmd); err != nil {
		return fmt.Errorf("installer image: %w", err)
	}
	var entries []entry
	err := filepath.WalkDir(layout, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(layout, path)
		entries = append(entries, entry{filepath.ToSlash(rel), path, 0o644})
		return err
	})
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	name := fmt.Sprintf("%s_%s.oci.tar", imageName, c.packageVersion())
	fmt.Fprintf(os.Stderr, "release: %s\n", name)
	return writeTar(filepath.Join(c.out, name), entries, c.epoch, false)
}

// chart packages deploy/helm/ocir-credential-provider with the pinned helm
// (`go tool helm package`), its version and appVersion (the default image
// tag) set to this release. Helm stamps each file with its modification
// time, so a copy with every time set to SOURCE_DATE_EPOCH is packaged.
func (c *config) chart(ctx context.Context) error {
	src := filepath.Join(c.repo, "deploy", "helm", chartName)
	dst := filepath.Join(c.tmp, "chart", chartName)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, 0o644); err != nil {
			return err
		}
		return os.Chtimes(target, c.epoch, c.epoch)
	})
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "tool", "helm", "package", "--version", c.packageVersion(),
		"--app-version", c.version, "--destination", c.out, dst)
	cmd.Dir = c.toolsDir
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(c.tmp, "helm"), "HELM_CONFIG_HOME="+filepath.Join(c.tmp, "helm"),
		"HELM_DATA_HOME="+filepath.Join(c.tmp, "helm"))
	if err := runCmd(cmd); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
