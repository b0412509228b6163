package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
)

// What this binary adds to urfave/cli. (The docker helper does not use
// urfave/cli: its help would link text/template, see
// cmd/docker-credential-ocir/cli.go; this binary meets its start-up target
// with it.)

// onUsageError replaces urfave/cli's default, which prints the help on
// stdout (the kubelet's answer channel) and returns a plain error: the
// error comes back as a cmdline.UsageError for run to report on stderr.
func onUsageError(_ *cli.Context, err error, _ bool) error { return cmdline.UsageError{Err: err} }

// setUsageHandler gives every command, subcommands included, onUsageError
// (urfave/cli only applies an App's handler to the root).
func setUsageHandler(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
		setUsageHandler(c.Subcommands)
	}
}

// versionFlag is -v/--version, spelled as urfave/cli's own. The App
// declares it, sets HideVersion and prints cmdline.Program.VersionLine
// itself: urfave/cli v2 prints its own --version only through the package
// variable cli.VersionPrinter, which a run must not overwrite (for a test
// running in parallel, say).
func versionFlag() cli.Flag {
	return &cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version", DisableDefaultText: true}
}

// appHelpTemplate is cli.AppHelpTemplate with its VERSION section shown
// although the App sets HideVersion (see versionFlag): HideVersion is
// there to take the printing of the version away from urfave/cli, not to
// take the version out of --help.
var appHelpTemplate = strings.Replace(cli.AppHelpTemplate, "{{if .Version}}{{if not .HideVersion}}", "{{if .Version}}{{if true}}", 1)
