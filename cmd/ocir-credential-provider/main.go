// Command ocir-credential-provider is a kubelet image credential provider
// plugin for Oracle Cloud Infrastructure Registry (OCIR). Run without a
// subcommand it is the plugin: the kubelet writes a CredentialProviderRequest
// to its stdin and reads the response from its stdout. The config and
// validate-config subcommands help to install it.
//
// The plugin runtime (request → answer) is package kubelet, the config
// tooling package kubelet/providerconfig; the command line around them is
// this package. This file only wires the process in.
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
	prog := cmdline.Program{Name: name, Version: version.Resolve(version.Version), Commit: version.Commit}
	// A cached token is answered before the CLI and the signal handler
	// exist: that is most calls, and most of their cost would be set-up.
	done, stdin := serveCached(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv, prog.Version)
	if done {
		os.Exit(cmdline.ExitOK)
	}
	// The kubelet kills the plugin with SIGKILL at its own deadline; a
	// SIGTERM (node shutdown) still deserves a clean "no credentials".
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, env{stdin: stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, program: prog})
	stop()
	os.Exit(code)
}
