// Command ocir-emulator runs the local OCI emulator (package test/emulator)
// until interrupted: instance metadata, federation, the OCIR token service,
// a registry and a CONNECT proxy with a test CA, all on loopback.
//
//	ocir-emulator --dir D [--region us-ashburn-1] [--oke-host 127.0.0.2] [--verbose]
//
// Once listening it prints "ready <D>/env"; source that file to point
// clients at the emulator. See docs/emulator.md.
package main

import (
	"fmt"
	"os"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
)

func main() {
	// The Makefile links the version, as for the other binaries.
	if err := newApp(os.Stdout, os.Stderr, version.Resolve(version.Version)).Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "ocir-emulator:", err)
		os.Exit(1)
	}
}
