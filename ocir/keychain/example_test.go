package keychain_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/keychain"
	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// The example pulls the manifest of a private OCIR image with
// go-containerregistry, authenticated by the OCI identity of the
// environment (here the emulator's API-key profile and proxy; a real program
// passes os.Getenv to ocir.NewFromEnv and needs no proxy or transport
// option).
func Example() {
	e, getenv, stop := startEmulator()
	defer stop()

	p, err := ocir.NewFromEnv(getenv, ocir.WithProxy(e.Proxy))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	kc := authn.NewMultiKeychain(keychain.New(p), authn.DefaultKeychain)

	ref, err := name.ParseReference("iad.ocir.io/demotenancy/hello:latest")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := e.ClientTransport() // the emulator's proxy and test CA
	if err != nil {
		log.Fatal(err)
	}
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(kc), remote.WithTransport(tr))
	if err != nil {
		log.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(digest)
	// Output: sha256:3e4848248e12cb235dabaa1ff3718f6bef0f228a993d83ba9f1e7e5b0925e4c1
}

// Resolving gives OCIR hosts the OCIR login and every other registry
// anonymous access, which lets other keychains answer for it in an
// authn.NewMultiKeychain.
func ExampleKeychain_Resolve() {
	e, getenv, stop := startEmulator()
	defer stop()
	p, err := ocir.NewFromEnv(getenv, ocir.WithProxy(e.Proxy))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	kc := keychain.New(p)

	for _, repo := range []string{"iad.ocir.io/demotenancy/hello", "ocir.us-ashburn-1.oci.oraclecloud.com/demotenancy/hello", "docker.io/library/alpine"} {
		r, err := name.NewRepository(repo)
		if err != nil {
			log.Fatal(err)
		}
		auth, err := kc.Resolve(r)
		if err != nil {
			log.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: anonymous=%t user=%q password set=%t\n", repo, auth == authn.Anonymous, cfg.Username, cfg.Password != "")
	}
	// Output:
	// iad.ocir.io/demotenancy/hello: anonymous=false user="BEARER_TOKEN" password set=true
	// ocir.us-ashburn-1.oci.oraclecloud.com/demotenancy/hello: anonymous=false user="BEARER_TOKEN" password set=true
	// docker.io/library/alpine: anonymous=true user="" password set=false
}

// startEmulator starts the OCI emulator and returns the environment of a
// program pointed at it: its proxy, CA and OCI config file, with HOME and
// the token cache in a temporary directory.
func startEmulator() (e *emulator.Emulator, getenv func(string) string, stop func()) {
	dir, err := os.MkdirTemp("", "ocir-keychain-example-")
	if err != nil {
		log.Fatal(err)
	}
	e, err = emulator.Start(emulator.Options{Dir: filepath.Join(dir, "emulator")})
	if err != nil {
		log.Fatal(err)
	}
	getenv = e.GetenvWith(map[string]string{"HOME": dir, "OCIR_CACHE_DIR": filepath.Join(dir, "cache")})
	return e, getenv, func() { e.Close(); os.RemoveAll(dir) }
}
