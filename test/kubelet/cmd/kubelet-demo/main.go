// Command kubelet-demo shows ocir-credential-provider answering the
// kubelet's own credential-provider plugin code, against the OCI emulator:
//
//	cd test/kubelet && go run ./cmd/kubelet-demo [-plugin ../../bin/ocir-credential-provider]
//
// It is the kubelet step of `make demo`. It prints each step and what it
// proved; it never prints a token.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/kubelet"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kubelet-demo:", err)
		os.Exit(1)
	}
}

func run() error {
	pluginBin := flag.String("plugin", "", "ocir-credential-provider binary (default: build it from ../..)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "ocir-kubelet-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if *pluginBin, err = kubelet.ResolvePlugin(*pluginBin, filepath.Join("..", ".."), dir); err != nil {
		return err
	}

	// The same "   ✓ what it proved" lines as the rest of `make demo`.
	step := func(format string, args ...any) { fmt.Printf("   ✓ "+format+"\n", args...) }
	h, err := kubelet.Start(dir, *pluginBin, []kubelet.Provider{{Name: "ocir-credential-provider", Region: "iad"}}, kubelet.Options{})
	if err != nil {
		return err
	}
	defer h.Close()
	step("`ocir-credential-provider config` wrote %s; the kubelet's RegisterCredentialProviderPlugins accepted it", h.Config)

	image := "iad.ocir.io/demotenancy/hello"
	start := time.Now()
	user, pass, ok := kubelet.Lookup(image)
	if !ok {
		return fmt.Errorf("the kubelet found no credentials for %s", image)
	}
	n, _ := h.Execs("ocir-credential-provider")
	step("keyring Lookup(%s) → username %s, a %d-byte OCIR token (%s, %d plugin run, %d token request)",
		image, user, len(pass), time.Since(start).Round(time.Millisecond), n, h.Emulator.Count("token"))

	other := "iad.ocir.io/demotenancy/other"
	if _, pass2, ok := kubelet.Lookup(other); !ok || pass2 != pass {
		return fmt.Errorf("no cached credentials for %s", other)
	}
	n2, _ := h.Execs("ocir-credential-provider")
	step("Lookup(%s) → same token from the kubelet's cache (cacheKeyType Registry): %d new plugin runs", other, n2-n)

	if _, _, ok := kubelet.Lookup("docker.io/library/nginx"); ok {
		return fmt.Errorf("credentials for a non-OCIR image")
	}
	step("Lookup(docker.io/library/nginx) → no match, plugin not run")
	return nil
}
