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
	ver := version.Resolve(version.Version)
	// A cached token is answered before the CLI and the signal handler
	// exist: that is most calls, and most of their cost would be set-up.
	done, stdin := helper.ServeCached(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv, ver, version.Commit)
	if done {
		os.Exit(helper.ExitOK)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := helper.OSEnv(ctx, ver, version.Commit)
	env.Stdin = stdin
	code := helper.Main(env)
	stop()
	os.Exit(code)
}
