// Command docker-credential-ocir is a docker credential helper for Oracle
// Cloud Infrastructure Registry (OCIR): it answers docker, podman, skopeo,
// buildah, crane and nerdctl with short-lived OCIR tokens obtained from the
// user's OCI identity, so no registry password is ever stored.
//
// All logic lives in package helper; this file only wires the process in.
// The version and commit come from cmd/internal/version (-ldflags -X); the
// version is resolved here (version.Resolve) because package helper may not
// import cmd/internal.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := helper.OSEnv(ctx, version.Resolve(version.Version), version.Commit)
	code := helper.Main(env)
	stop()
	os.Exit(code)
}
