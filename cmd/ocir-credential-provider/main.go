// Command ocir-credential-provider is a kubelet image credential provider
// plugin for Oracle Cloud Infrastructure Registry (OCIR). Run without a
// subcommand it is the plugin: the kubelet writes a CredentialProviderRequest
// to its stdin and reads the response from its stdout. The config and
// validate-config subcommands help to install it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/version"
)

func main() {
	ver := version.Resolve(version.Version)
	// A cached token is answered before the CLI and the signal handler
	// exist: that is most calls, and most of their cost would be set-up.
	done, stdin := serveCached(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv, ver)
	if done {
		os.Exit(exitOK)
	}
	// The kubelet kills the plugin with SIGKILL at its own deadline; a
	// SIGTERM (node shutdown) still deserves a clean "no credentials".
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
