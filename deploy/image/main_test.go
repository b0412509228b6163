package main

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocir-credential-helper/ocir-credential-helper/deploy"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

func payloads() []Payload {
	return []Payload{
		{Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Plugin: []byte("plugin-amd64"), Installer: []byte("installer-amd64")},
		{Platform: v1.Platform{OS: "linux", Architecture: "arm64"}, Plugin: []byte("plugin-arm64"), Installer: []byte("installer-arm64")},
	}
}

// files lists the image's single layer.
func files(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
		if h.Uid != 0 || h.ModTime.Year() != 2000 {
			t.Errorf("%s: uid %d mtime %v", h.Name, h.Uid, h.ModTime)
		}
	}
}

func checkIndex(t *testing.T, idx v1.ImageIndex) {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 2 {
		t.Fatalf("%d manifests", len(m.Manifests))
	}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		arch := d.Platform.Architecture
		if cf.Architecture != arch || cf.OS != "linux" || strings.Join(cf.Config.Entrypoint, " ") != "/ocir-node-installer" {
			t.Errorf("%s: config %+v", arch, cf.Config)
		}
		f := files(t, img)
		if f["payload/ocir-credential-provider"] != "plugin-"+arch || f["ocir-node-installer"] != "installer-"+arch {
			t.Errorf("%s: wrong binaries in the layer", arch)
		}
		if f["payload/install.sh"] != string(deploy.InstallScript) {
			t.Errorf("%s: install.sh differs from deploy/install.sh", arch)
		}
		cfgPath := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(cfgPath, []byte(f["payload/credential-provider-config.yaml"]), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := providerconfig.ValidateConfigPath(cfgPath, providerconfig.ValidateOptions{}); err != nil {
			t.Errorf("%s: the image's default config is invalid: %v", arch, err)
		}
	}
}

func TestBuildIndexIsMultiArchAndReproducible(t *testing.T) {
	a, err := BuildIndex(payloads(), "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, a)
	b, err := BuildIndex(payloads(), "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds of the same input differ: %s %s", da, db)
	}
	if _, err := BuildIndex(nil, "v"); err == nil {
		t.Error("empty platform list accepted")
	}
}

func TestWriteLayoutRoundTrips(t *testing.T) {
	idx, err := BuildIndex(payloads(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := outer.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("layout index: %v %v", m, err)
	}
	inner, err := outer.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkIndex(t, inner)
}

func TestRunRequiresAnOutput(t *testing.T) {
	if err := run(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "nothing to do") {
		t.Errorf("err = %v", err)
	}
	if err := run(context.Background(), []string{"--platforms", "windows/amd64", "--oci-layout", t.TempDir()}); err == nil {
		t.Error("windows platform accepted")
	}
}

// TestPushToTheEmulatorRegistry pushes the index to the emulator's OCIR
// (iad.ocir.io through its proxy) with an OCIR token from the core, as a
// release job would with docker-credential-ocir, and pulls it back.
func TestPushToTheEmulatorRegistry(t *testing.T) {
	emu, _ := emulatortest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cred, err := ocir.New(ocir.WithGetenv(emu.Getenv), ocir.WithProxy(emu.Proxy), ocir.WithCache(false)).Credential(ctx, "iad.ocir.io")
	if err != nil {
		t.Fatalf("OCIR token from the emulator: %v", err)
	}

	tr, err := emu.ClientTransport()
	if err != nil {
		t.Fatal(err)
	}
	auth := remote.WithAuth(&authn.Basic{Username: cred.Username, Password: cred.Secret})

	idx, err := BuildIndex(payloads(), "v0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference("iad.ocir.io/" + emu.Namespace() + "/ocir-credential-provider-installer:test")
	if err != nil {
		t.Fatal(err)
	}
	if err := Push(ctx, idx, ref, remote.WithTransport(tr), auth); err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(ref, remote.WithContext(ctx), remote.WithTransport(tr), auth)
	if err != nil {
		t.Fatalf("pull back: %v", err)
	}
	want, _ := idx.Digest()
	got, _ := pulled.Digest()
	if got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}
	checkIndex(t, pulled)

	// Anonymous pushes are refused: the push really used the token.
	if err := Push(ctx, idx, ref, remote.WithTransport(tr)); err == nil {
		t.Error("anonymous push accepted")
	}
}
