// Command ocir-pull pulls an image from OCIR with go-containerregistry and
// the OCI identity of its environment, writes it to a tarball and prints its
// digest. It is the program shown in docs/library.md, built and run by the
// end-to-end tests.
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/keychain"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: ocir-pull IMAGE FILE.tar")
	}
	provider, err := ocir.NewFromEnv(os.Getenv) // OCIR_*, OCI_CLI_*, as the binaries read them
	check(err)
	defer provider.Close()
	ref, err := name.ParseReference(os.Args[1]) // e.g. iad.ocir.io/namespace/repo:tag
	check(err)
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(keychain.New(provider)))
	check(err)
	check(tarball.WriteToFile(os.Args[2], ref, img)) // downloads and verifies every layer
	digest, err := img.Digest()
	check(err)
	fmt.Println(digest)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
