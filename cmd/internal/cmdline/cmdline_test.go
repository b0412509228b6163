package cmdline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

func TestVersionLineNamesProgramModuleAndVersion(t *testing.T) {
	got := Program{Name: "prog", Version: "v1.2.3"}.VersionLine()
	if want := "prog (github.com/ocir-credential-helper/ocir-credential-helper) v1.2.3"; got != want {
		t.Errorf("VersionLine = %q, want %q", got, want)
	}
}

// TestHelpKeepsTheVersionSectionWithHideVersion: an App that prints its
// own version (HideVersion) still shows VERSION in --help. If urfave/cli
// changes its template, the replacement must fail here, not silently.
func TestHelpKeepsTheVersionSectionWithHideVersion(t *testing.T) {
	if AppHelpTemplate == cli.AppHelpTemplate {
		t.Fatal("AppHelpTemplate is urfave/cli's unchanged: its VERSION condition was not found")
	}
	var out bytes.Buffer
	app := &cli.App{Name: "prog", Version: "v9", HideVersion: true, CustomAppHelpTemplate: AppHelpTemplate, Writer: &out,
		Flags: []cli.Flag{cli.HelpFlag, VersionFlag()}}
	if err := app.Run([]string{"prog", "--help"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "VERSION:\n   v9\n") || !strings.Contains(out.String(), "--version, -v  print the version\n") {
		t.Errorf("help lacks the version section or flag:\n%s", out.String())
	}
}

func TestUsageErrorsAreRecognisedThroughWrapping(t *testing.T) {
	err := fmt.Errorf("ctx: %w", Usagef("bad %s", "flag"))
	if !IsUsage(err) || err.Error() != "ctx: bad flag" {
		t.Errorf("IsUsage(%v) = %t", err, IsUsage(err))
	}
	if IsUsage(errors.New("plain")) {
		t.Error("a plain error counts as usage")
	}
	if !IsUsage(OnUsageError(nil, errors.New("flag provided but not defined"), false)) {
		t.Error("OnUsageError does not produce a usage error")
	}
}

func TestSetUsageHandlerReachesSubcommands(t *testing.T) {
	sub := &cli.Command{Name: "sub"}
	top := &cli.Command{Name: "top", Subcommands: []*cli.Command{sub}}
	SetUsageHandler([]*cli.Command{top})
	if top.OnUsageError == nil || sub.OnUsageError == nil {
		t.Error("a command was left with urfave/cli's handler")
	}
}

// TestSettingsFlagsWinOverTheEnvironment: each declared flag replaces its
// variable, undeclared flags change nothing, and the first bad flag is
// reported by name while the good ones still apply.
func TestSettingsFlagsWinOverTheEnvironment(t *testing.T) {
	vars := map[string]string{"OCIR_TIMEOUT": "7s", "OCIR_CACHE_DIR": "/env/cache", "OCIR_LOG_LEVEL": "error", "HOME": t.TempDir()}
	getenv := func(k string) string { return vars[k] }
	for _, tc := range []struct {
		name    string
		args    []string
		check   func(config.Settings) bool
		flagErr string
	}{
		{"no flags: the environment", nil, func(s config.Settings) bool { return s.Timeout.String() == "7s" && s.CacheDir == "/env/cache" }, ""},
		{"flags win", []string{"--timeout", "3s", "--cache-dir", "/flag/cache", "--cache", "off", "--config", "/c.yaml", "--log-file", "/l"},
			func(s config.Settings) bool {
				return s.Timeout.String() == "3s" && s.CacheDir == "/flag/cache" && !s.Cache && s.ConfigPath == "/c.yaml" && s.ConfigExplicit && s.LogFile == "/l"
			}, ""},
		{"first bad flag named, good ones applied", []string{"--timeout", "soon", "--log-level", "loud", "--cache-dir", "/flag/cache"},
			func(s config.Settings) bool { return s.CacheDir == "/flag/cache" }, "--timeout: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got config.Settings
			var envErr, flagErr error
			app := &cli.App{Name: "prog", Flags: []cli.Flag{
				&cli.StringFlag{Name: "timeout"}, &cli.StringFlag{Name: "cache"}, &cli.StringFlag{Name: "cache-dir"},
				&cli.StringFlag{Name: "config"}, &cli.StringFlag{Name: "log-level"}, &cli.StringFlag{Name: "log-file"},
			}, Action: func(c *cli.Context) error {
				got, envErr, flagErr = Settings(c, getenv)
				return nil
			}}
			if err := app.RunContext(context.Background(), append([]string{"prog"}, tc.args...)); err != nil {
				t.Fatal(err)
			}
			if envErr != nil {
				t.Fatalf("envErr %v", envErr)
			}
			if tc.flagErr == "" && flagErr != nil || tc.flagErr != "" && (flagErr == nil || !strings.HasPrefix(flagErr.Error(), tc.flagErr)) {
				t.Errorf("flagErr %v, want prefix %q", flagErr, tc.flagErr)
			}
			if !tc.check(got) {
				t.Errorf("settings %+v", got)
			}
		})
	}
	// An App without the flags (the kubelet plugin has no --cache) keeps
	// the environment's values.
	app := &cli.App{Name: "prog", Action: func(c *cli.Context) error {
		s, envErr, flagErr := Settings(c, getenv)
		if envErr != nil || flagErr != nil || s.Timeout.String() != "7s" {
			t.Errorf("without flags: %+v %v %v", s, envErr, flagErr)
		}
		return nil
	}}
	if err := app.Run([]string{"prog"}); err != nil {
		t.Fatal(err)
	}
}
