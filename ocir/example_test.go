package ocir_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// The example gets a token for iad.ocir.io with the identity of the
// environment, here the emulator's OCI config file with an API-key profile
// and its proxy. A real program passes os.Getenv and no proxy: its own
// HTTPS_PROXY and NO_PROXY apply, as in any net/http program.
func ExampleNewFromEnv() {
	getenv, proxy, stop := emulatorEnv()
	defer stop()

	p, err := ocir.NewFromEnv(getenv, proxy)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	cred, err := p.Credential(context.Background(), "iad.ocir.io")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cred.Registry, cred.Username, cred.Secret != "", cred.ExpiresAt.Sub(cred.IssuedAt))

	// Anything that is not an OCIR host gets no token, and no request is signed.
	_, err = p.Credential(context.Background(), "docker.io")
	fmt.Println(errors.Is(err, ocir.ErrNotOCIRHost))
	// Output:
	// iad.ocir.io BEARER_TOKEN true 1h0m0s
	// true
}

// emulatorEnv starts the OCI emulator and returns the environment of a
// program pointed at it (its CA and OCI config file, with HOME and the
// token cache in a temporary directory) and its proxy.
func emulatorEnv() (getenv func(string) string, proxy ocir.Option, stop func()) {
	dir, err := os.MkdirTemp("", "ocir-example-")
	if err != nil {
		log.Fatal(err)
	}
	e, err := emulator.Start(emulator.Options{Dir: filepath.Join(dir, "emulator")})
	if err != nil {
		log.Fatal(err)
	}
	getenv = e.GetenvWith(map[string]string{"HOME": dir, "OCIR_CACHE_DIR": filepath.Join(dir, "cache")})
	return getenv, ocir.WithProxy(e.Proxy), func() { e.Close(); os.RemoveAll(dir) }
}
