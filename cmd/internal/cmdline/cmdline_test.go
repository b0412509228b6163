package cmdline

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

func TestVersionLineNamesProgramModuleAndVersion(t *testing.T) {
	got := Program{Name: "prog", Version: "v1.2.3"}.VersionLine()
	if want := "prog (github.com/ocir-credential-helper/ocir-credential-helper) v1.2.3"; got != want {
		t.Errorf("VersionLine = %q, want %q", got, want)
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
			got, envErr, flagErr := Settings(lookup(t, tc.args), getenv)
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
	// A command line without the flags (the kubelet plugin has no
	// --cache) keeps the environment's values.
	s, envErr, flagErr := Settings(func(string) string { return "" }, getenv)
	if envErr != nil || flagErr != nil || s.Timeout.String() != "7s" {
		t.Errorf("without flags: %+v %v %v", s, envErr, flagErr)
	}
}

// lookup is a flag lookup over "--name value" pairs, the last value of a
// name winning, as a command-line parser reports them.
func lookup(t *testing.T, args []string) func(string) string {
	t.Helper()
	if len(args)%2 != 0 {
		t.Fatalf("args %q are not --name value pairs", args)
	}
	flags := map[string]string{}
	for i := 0; i < len(args); i += 2 {
		flags[strings.TrimPrefix(args[i], "--")] = args[i+1]
	}
	return func(name string) string { return flags[name] }
}
