package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// sbom writes ARTIFACT.cdx.json: the CycloneDX SBOM of the two binaries an
// archive or package of platform p holds. cyclonedx-gomod (pinned in this
// module's go.mod, run with `go tool`) reads the module list each binary
// carries; the two SBOMs are merged into one whose subject is the main
// module at the release's version, with each binary as a component.
func (c *config) sbom(ctx context.Context, p platform, artifact string) error {
	merged, err := c.platformSBOM(ctx, p)
	if err != nil {
		return err
	}
	out := artifact + ".cdx.json"
	props := []cdx.Property{{Name: "ocir-credential-helper:artifact", Value: filepath.Base(artifact)}}
	merged.Metadata.Properties = &props
	return writeAtomic(out, func(w io.Writer) error {
		enc := cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON)
		enc.SetPretty(true)
		return enc.Encode(merged)
	})
}

// platformSBOM merges the per-binary SBOMs of platform p.
func (c *config) platformSBOM(ctx context.Context, p platform) (*cdx.BOM, error) {
	if bom, ok := c.sboms[p]; ok {
		copied := *bom
		meta := *bom.Metadata
		copied.Metadata = &meta
		return &copied, nil
	}
	version := "v" + c.packageVersion()
	var merged *cdx.BOM
	components := map[string]cdx.Component{}
	deps := map[string]map[string]bool{}
	for _, b := range binaries {
		bin := c.builtBinaries[p][b]
		out := filepath.Join(c.tmp, "sbom", p.os+"-"+p.arch+"-"+b+".cdx.json")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, "go", "tool", "cyclonedx-gomod", "bin", "-json", "-noserial", "-notimestamp",
			"-version", version, "-output", out, bin)
		cmd.Dir = c.toolsDir
		if err := runCmd(cmd); err != nil {
			return nil, fmt.Errorf("SBOM of %s for %s: %w", b, p, err)
		}
		f, err := os.Open(out)
		if err != nil {
			return nil, err
		}
		var bom cdx.BOM
		err = cdx.NewBOMDecoder(f, cdx.BOMFileFormatJSON).Decode(&bom)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("SBOM of %s for %s: %w", b, p, err)
		}
		if bom.Metadata == nil || bom.Metadata.Component == nil {
			return nil, fmt.Errorf("SBOM of %s for %s names no main component", b, p)
		}
		// The binary itself becomes a component of the merged SBOM.
		main := *bom.Metadata.Component
		components[main.BOMRef] = main
		if bom.Components != nil {
			for _, comp := range *bom.Components {
				components[comp.BOMRef] = comp
			}
		}
		if bom.Dependencies != nil {
			for _, d := range *bom.Dependencies {
				if deps[d.Ref] == nil {
					deps[d.Ref] = map[string]bool{}
				}
				if d.Dependencies != nil {
					for _, on := range *d.Dependencies {
						deps[d.Ref][on] = true
					}
				}
			}
		}
		if merged == nil {
			merged = &bom
		}
	}
	// The subject: the main module, without the binary's package fragment.
	subject := *merged.Metadata.Component
	subject.BOMRef = strings.SplitN(subject.BOMRef, "#", 2)[0]
	subject.PackageURL = fmt.Sprintf("pkg:golang/%s@%s?type=module", module, version)
	subject.Properties = nil
	subject.Description = description
	merged.Metadata.Component = &subject
	deps[subject.BOMRef] = map[string]bool{}
	for ref, comp := range components {
		if comp.Type == cdx.ComponentTypeApplication {
			deps[subject.BOMRef][ref] = true
		}
	}
	var list []cdx.Component
	for _, comp := range components {
		list = append(list, comp)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].BOMRef < list[j].BOMRef })
	var depList []cdx.Dependency
	for ref, on := range deps {
		d := cdx.Dependency{Ref: ref}
		if len(on) > 0 {
			refs := make([]string, 0, len(on))
			for r := range on {
				refs = append(refs, r)
			}
			sort.Strings(refs)
			d.Dependencies = &refs
		}
		depList = append(depList, d)
	}
	sort.Slice(depList, func(i, j int) bool { return depList[i].Ref < depList[j].Ref })
	merged.Components = &list
	merged.Dependencies = &depList
	merged.Compositions = nil
	c.sboms[p] = merged
	return c.platformSBOM(ctx, p)
}
