// Command docker-credential-ocir is a docker credential helper for Oracle
// Cloud Infrastructure Registry (OCIR): it answers docker, podman, skopeo,
// buildah, crane and nerdctl with short-lived OCIR tokens obtained from the
// user's OCI identity, so no registry password is ever stored.
//
// All logic lives in package helper; this file only wires the process in.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
)

// Set by the release build:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=abcdef0"
var (
	version = ""
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := helper.OSEnv(ctx, version, commit)
	// The credentials library prints these in its own messages.
	credentials.Name = helper.ProgramName
	credentials.Package = helper.ModulePath
	credentials.Version = helper.ResolveVersion(version)
	credentials.Revision = commit
	code := helper.Main(env)
	stop()
	os.Exit(code)
}
