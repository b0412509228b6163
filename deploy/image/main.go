// Command image assembles the installer image for the DaemonSet in
// deploy/kubernetes without a container engine: one layer of static files
// (the plugin, ocir-node-installer, install.sh and a default
// CredentialProviderConfig) on an empty base, one manifest per platform, one
// OCI index. It writes an OCI image layout directory and/or pushes the index.
//
//	go run ./deploy/image --version v1.2.3 --oci-layout bin/installer-image
//	go run ./deploy/image --version v1.2.3 --push REGISTRY/REPOSITORY:TAG
//
// Pushing authenticates with the docker config (credential helpers included,
// so docker-credential-ocir works for OCIR).
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ocir-credential-helper/ocir-credential-helper/deploy"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig"
)

const module = "github.com/ocir-credential-helper/ocir-credential-helper"

// epoch is the timestamp of every file and of the image config, so the same
// binaries always give the same digests.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Payload is what goes into the image for one platform.
type Payload struct {
	Platform  v1.Platform
	Plugin    []byte // static ocir-credential-provider
	Installer []byte // static ocir-node-installer
}

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "image: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	platforms := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated OS/ARCH list")
	version := fs.String("version", "dev", "version linked into the binaries and set as the image's version label")
	commit := fs.String("commit", "unknown", "commit linked into the binaries")
	layoutDir := fs.String("oci-layout", "", "write an OCI image layout to this directory")
	push := fs.String("push", "", "push the index to this reference")
	insecure := fs.Bool("insecure", false, "allow plain HTTP for --push")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *layoutDir == "" && *push == "" {
		return errors.New("nothing to do: give --oci-layout DIR and/or --push REF")
	}
	tmp, err := os.MkdirTemp("", "ocir-installer-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var payloads []Payload
	for _, p := range strings.Split(*platforms, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || osName != "linux" {
			return fmt.Errorf("platform %q: only linux/ARCH is supported", p)
		}
		pl := Payload{Platform: v1.Platform{OS: osName, Architecture: arch}}
		ldflags := fmt.Sprintf("-s -w -X %s/cmd/internal/version.Version=%s -X %s/cmd/internal/version.Commit=%s", module, *version, module, *commit)
		for _, b := range []struct {
			pkg string
			dst *[]byte
		}{
			{module + "/cmd/ocir-credential-provider", &pl.Plugin},
			{module + "/deploy/installer", &pl.Installer},
		} {
			out := filepath.Join(tmp, osName+"_"+arch+"_"+filepath.Base(b.pkg))
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, b.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+osName, "GOARCH="+arch)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("build %s for %s: %w", b.pkg, p, err)
			}
			if *b.dst, err = os.ReadFile(out); err != nil {
				return err
			}
		}
		payloads = append(payloads, pl)
	}

	idx, err := BuildIndex(payloads, *version)
	if err != nil {
		return err
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	if *layoutDir != "" {
		if err := WriteLayout(*layoutDir, idx); err != nil {
			return err
		}
		fmt.Printf("wrote %s (index %s)\n", *layoutDir, d)
	}
	if *push != "" {
		var opts []name.Option
		if *insecure {
			opts = append(opts, name.Insecure)
		}
		ref, err := name.ParseReference(*push, opts...)
		if err != nil {
			return err
		}
		if err := Push(ctx, idx, ref, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return err
		}
		fmt.Printf("pushed %s@%s\n", ref, d)
	}
	return nil
}

// BuildIndex assembles one image per payload and an index over them.
func BuildIndex(payloads []Payload, version string) (v1.ImageIndex, error) {
	if len(payloads) == 0 {
		return nil, errors.New("no platforms")
	}
	config, err := providerconfig.GenerateConfig(providerconfig.GenerateOptions{})
	if err != nil {
		return nil, fmt.Errorf("default provider config: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range payloads {
		img, err := buildImage(p, config, version)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", p.Platform.OS, p.Platform.Architecture, err)
		}
		platform := p.Platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &platform}})
	}
	return idx, nil
}

func buildImage(p Payload, providerConfig []byte, version string) (v1.Image, error) {
	layerTar, err := tarFiles([]tarFile{
		{name: "ocir-node-installer", mode: 0o755, data: p.Installer},
		{name: "payload/", mode: 0o755},
		{name: "payload/ocir-credential-provider", mode: 0o755, data: p.Plugin},
		{name: "payload/install.sh", mode: 0o755, data: deploy.InstallScript},
		{name: "payload/credential-provider-config.yaml", mode: 0o644, data: providerConfig},
	})
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: p.Platform.Architecture,
		OS:           p.Platform.OS,
		Variant:      p.Platform.Variant,
		Created:      v1.Time{Time: epoch},
		Config: v1.Config{
			Entrypoint: []string{"/ocir-node-installer"},
			Cmd:        []string{"install"},
			WorkingDir: "/",
			Labels: map[string]string{
				"org.opencontainers.image.title":   "ocir-credential-provider-installer",
				"org.opencontainers.image.version": version,
			},
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "deploy/image"}})
	if err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

type tarFile struct {
	name string
	mode int64
	data []byte
}

func tarFiles(files []tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, ModTime: epoch, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes idx as an OCI image layout at dir (replacing one there).
func WriteLayout(dir string, idx v1.ImageIndex) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx); err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return nil
}

// Push uploads idx with its images to ref.
func Push(ctx context.Context, idx v1.ImageIndex, ref name.Reference, opts ...remote.Option) error {
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	if err := remote.WriteIndex(ref, idx, opts...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}
