// Command docker-credential-ocir is a docker credential helper for Oracle
// Cloud Infrastructure Registry (OCIR): it answers docker, podman, skopeo,
// buildah, crane and nerdctl with short-lived OCIR tokens obtained from the
// user's OCI identity, so no registry password is ever stored.
//
// The protocol answers come from package helper (a credentials.Helper on
// the ocir core); the command line around them is this package, one file
// per subcommand. This file only wires the process in.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
)

func main() {
	ver := version.Resolve(version.Version)
	// A cached token is answered before the CLI and the signal handler
	// exist: that is most calls, and most of their cost would be set-up.
	done, stdin := serveCached(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv, ver, version.Commit)
	if done {
		os.Exit(cmdline.ExitOK)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := osEnv(ctx, ver, version.Commit)
	env.Stdin = stdin
	code := run(env)
	stop()
	os.Exit(code)
}
