package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
)

// TestHelpKeepsTheVersionSectionWithHideVersion: an App that prints its
// own version (HideVersion) still shows VERSION in --help. If urfave/cli
// changes its template, the replacement must fail here, not silently.
func TestHelpKeepsTheVersionSectionWithHideVersion(t *testing.T) {
	if appHelpTemplate == cli.AppHelpTemplate {
		t.Fatal("appHelpTemplate is urfave/cli's unchanged: its VERSION condition was not found")
	}
	var out bytes.Buffer
	app := &cli.App{Name: "prog", Version: "v9", HideVersion: true, CustomAppHelpTemplate: appHelpTemplate, Writer: &out,
		Flags: []cli.Flag{cli.HelpFlag, versionFlag()}}
	if err := app.Run([]string{"prog", "--help"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "VERSION:\n   v9\n") || !strings.Contains(out.String(), "--version, -v  print the version\n") {
		t.Errorf("help lacks the version section or flag:\n%s", out.String())
	}
}

func TestOnUsageErrorProducesAUsageError(t *testing.T) {
	err := onUsageError(nil, errors.New("flag provided but not defined"), false)
	if !cmdline.IsUsage(err) || err.Error() != "flag provided but not defined" {
		t.Errorf("onUsageError = %v, usage %t", err, cmdline.IsUsage(err))
	}
}

func TestSetUsageHandlerReachesSubcommands(t *testing.T) {
	sub := &cli.Command{Name: "sub"}
	top := &cli.Command{Name: "top", Subcommands: []*cli.Command{sub}}
	setUsageHandler([]*cli.Command{top})
	if top.OnUsageError == nil || sub.OnUsageError == nil {
		t.Error("a command was left with urfave/cli's handler")
	}
}
