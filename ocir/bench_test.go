package ocir

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator/emulatortest"
)

// BenchmarkCredential measures the lookup paths against a baseline taken in
// the same run (reading and decoding one small JSON file, the least any
// cached lookup must do), so `make bench` can print machine-independent
// ratios: these machines are too noisy for absolute numbers.
func BenchmarkCredential(b *testing.B) {
	e, dir := emulatortest.Start(b)
	home := filepath.Join(dir, "home")
	// A laptop: the API-key profile, no instance.
	getenv := e.GetenvWith(map[string]string{"HOME": home, "OCI_METADATA_BASE_URL": ""})
	cache := filepath.Join(dir, "cache")
	newP := func(opts ...Option) *Provider {
		return New(append([]Option{WithGetenv(getenv), WithCacheDir(cache), WithTimeout(10 * time.Second), WithProxy(e.Proxy)}, opts...)...)
	}
	ctx := context.Background()
	if _, err := newP().Credential(ctx, "iad.ocir.io"); err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "iad.ocir.io-*.json"))
	if len(files) != 1 {
		b.Fatalf("cache files %v", files)
	}

	b.Run("baseline-read-json-file", func(b *testing.B) {
		for b.Loop() {
			raw, err := os.ReadFile(files[0])
			if err != nil {
				b.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("memory-cache-hit", func(b *testing.B) {
		p := newP()
		for b.Loop() {
			if _, err := p.Credential(ctx, "iad.ocir.io"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("disk-cache-hit-new-process", func(b *testing.B) {
		for b.Loop() {
			if _, err := newP().Credential(ctx, "iad.ocir.io"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cold-signed-token-call", func(b *testing.B) {
		p := newP(WithCache(false))
		for b.Loop() {
			if _, err := p.Credential(ctx, "iad.ocir.io"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
