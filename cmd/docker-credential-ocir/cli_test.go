package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

// urfaveHelp is the help urfave/cli v2 printed for the same command table
// (captured from the last build with urfave/cli, version v1.2.3, one file
// per command; cache-help and get-help are the help subcommand's own). The
// only change: configure-docker's USAGE line lost two trailing spaces.
func urfaveHelp(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "urfave-help", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func usageErr(msg string) string {
	return "docker-credential-ocir: " + msg + "\nRun 'docker-credential-ocir --help' for usage.\n"
}

func TestHelpIsPrintedOnStdoutAsUrfaveCLIPrintedIt(t *testing.T) {
	for _, tc := range []struct {
		args []string
		help string // file under testdata/urfave-help
	}{
		{[]string{"--help"}, "root"},
		{[]string{"-h"}, "root"},
		{[]string{"-help"}, "root"},
		{[]string{"--help=true"}, "root"},
		{[]string{"--log-level", "debug", "--help"}, "root"},
		{[]string{"--help", "get"}, "get"},
		{[]string{"-h", "configure-docker"}, "configure-docker"},
		{[]string{"get", "--help"}, "get"},
		{[]string{"get", "-h"}, "get"},
		{[]string{"store", "--help"}, "store"},
		{[]string{"erase", "--help"}, "erase"},
		{[]string{"list", "--help"}, "list"},
		{[]string{"version", "--help"}, "version"},
		{[]string{"configure-docker", "--help"}, "configure-docker"},
		{[]string{"configure-docker", "--region", "iad", "--help"}, "configure-docker"},
		{[]string{"doctor", "--help"}, "doctor"},
		{[]string{"token", "-h"}, "token"},
		{[]string{"cache", "--help"}, "cache"},
		{[]string{"cache", "help"}, "cache"},
		{[]string{"cache", "h"}, "cache"},
		{[]string{"cache", "help", "list"}, "cache-list"},
		{[]string{"cache", "--help", "clear"}, "cache-clear"},
		// Here urfave/cli printed only NAME and USAGE (its help of a
		// command with subcommands that has not run yet); the whole help
		// is printed now, as for `cache --help`.
		{[]string{"--help", "cache"}, "cache"},
		{[]string{"-h", "cache", "clear"}, "cache"},
		{[]string{"cache", "list", "--help"}, "cache-list"},
		{[]string{"cache", "clear", "-h"}, "cache-clear"},
		// urfave/cli gave every command but the root a hidden `help, h`
		// subcommand, leaves included: `get help` or `token h` print the
		// command's help, `cache help help` the help command's own.
		{[]string{"get", "help"}, "get"},
		{[]string{"get", "h"}, "get"},
		{[]string{"store", "help"}, "store"},
		{[]string{"erase", "h"}, "erase"},
		{[]string{"list", "help"}, "list"},
		{[]string{"version", "help"}, "version"},
		{[]string{"configure-docker", "help"}, "configure-docker"},
		{[]string{"configure-docker", "--dry-run", "help"}, "configure-docker"},
		{[]string{"doctor", "help"}, "doctor"},
		{[]string{"token", "h"}, "token"},
		{[]string{"cache", "list", "help"}, "cache-list"},
		{[]string{"cache", "clear", "h"}, "cache-clear"},
		{[]string{"cache", "h", "list"}, "cache-list"},
		{[]string{"cache", "help", "list", "extra"}, "cache-list"},
		// -h of the help command is the command's help.
		{[]string{"get", "help", "--help"}, "get"},
		{[]string{"cache", "help", "-h"}, "cache"},
		{[]string{"cache", "help", "--help", "list"}, "cache-list"},
		// The help command's own help.
		{[]string{"cache", "help", "help"}, "cache-help"},
		{[]string{"cache", "h", "h"}, "cache-help"},
		{[]string{"get", "help", "h"}, "get-help"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runMain(t, nil, nil, "", tc.args...)
			if want := urfaveHelp(t, tc.help); r.code != 0 || r.stdout != want || r.stderr != "" {
				t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 0 and stdout:\n%s", r.code, r.stderr, r.stdout, want)
			}
		})
	}
}

func TestBareInvocationPrintsHelpOnStderrAndExitsTwo(t *testing.T) {
	for _, args := range [][]string{{}, {"--log-level", "error"}, {"--"}} {
		r := runMain(t, nil, nil, "", args...)
		if want := urfaveHelp(t, "root"); r.code != 2 || r.stdout != "" || r.stderr != want {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestCommandLineErrorsExitTwoWithTheMessage: the messages are package
// flag's, as urfave/cli (built on flag) printed them, or the commands'.
func TestCommandLineErrorsExitTwoWithTheMessage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help"}, `unknown command "help"`}, // the root has no help command
		{[]string{"--log-level", "error", "frobnicate", "get"}, `unknown command "frobnicate"`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"--no-such-flag", "get"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"get", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"cache", "list", "-x"}, "flag provided but not defined: -x"},
		{[]string{"version", "-v"}, "flag provided but not defined: -v"},
		{[]string{"get", "--timeout", "3s"}, "flag provided but not defined: -timeout"}, // global flags go before the command
		{[]string{"--help", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"---help"}, "bad flag syntax: ---help"},
		{[]string{"--timeout"}, "flag needs an argument: -timeout"},
		{[]string{"configure-docker", "--region"}, "flag needs an argument: -region"},
		{[]string{"configure-docker", "--registries"}, "flag needs an argument: -registries"},
		{[]string{"configure-docker", "--remove=maybe"}, `invalid boolean value "maybe" for -remove: parse error`},
		{[]string{"--version=2"}, `invalid boolean value "2" for -version: parse error`},
		{[]string{"--timeout", "soon", "cache", "list"}, `--timeout: "soon" is neither a duration like 20s nor a number of seconds`},
		{[]string{"--cache", "maybe", "cache", "clear"}, `--cache: "maybe" is not on or off`},
		{[]string{"--log-level", "loud", "token", "iad.ocir.io"}, `--log-level: "loud" is not one of debug, info, warn, error`},
		// A bad flag value is a mistake on the command line for the
		// protocol actions too (a bad OCIR_* value is not: see
		// TestInvalidEnvironmentIsAUsageErrorReportedOnStdout).
		{[]string{"--timeout", "soon", "get"}, `--timeout: "soon" is neither a duration like 20s nor a number of seconds`},
		{[]string{"--cache", "maybe", "store"}, `--cache: "maybe" is not on or off`},
		{[]string{"--log-level", "loud", "erase"}, `--log-level: "loud" is not one of debug, info, warn, error`},
		{[]string{"--on-error", "later", "get"}, `--on-error: "later" is not one of error, anonymous`},
		{[]string{"--on-error", "later", "list"}, `--on-error: "later" is not one of error, anonymous`},
		{[]string{"version", "extra"}, "version takes no arguments"},
		// Clients run exactly `docker-credential-ocir <action>`: extra
		// arguments are a person's typing, answered like any other.
		{[]string{"get", "extra"}, "get takes no arguments (the server URL is read from stdin)"},
		{[]string{"erase", "x"}, "erase takes no arguments (the server URL is read from stdin)"},
		{[]string{"store", "extra"}, "store takes no arguments (the credentials JSON is read from stdin)"},
		{[]string{"list", "x"}, "list takes no arguments"},
		{[]string{"--timeout", "3s", "get", "iad.ocir.io"}, "get takes no arguments (the server URL is read from stdin)"},
		{[]string{"--version", "extra"}, "version takes no arguments"},
		// Flags end at the first argument that is not one.
		{[]string{"token", "iad.ocir.io", "--timeout", "3s"}, "token takes at most one argument: the registry"},
		{[]string{"configure-docker", "--dry-run", "x", "--remove"}, "configure-docker takes no arguments (use --registries h1,h2)"},
		{[]string{"cache"}, "cache needs a subcommand: clear or list"},
		{[]string{"cache", "purge"}, `cache: unknown subcommand "purge" (want clear or list)`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			f := newFake(t)
			r := runMain(t, f, nil, "", tc.args...)
			if r.code != 2 || r.stdout != "" || r.stderr != usageErr(tc.msg) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and stderr %q", r.code, r.stdout, r.stderr, usageErr(tc.msg))
			}
			if calls := f.calls(); len(calls) != 0 {
				t.Errorf("calls %v", calls)
			}
		})
	}
}

func TestHelpForAnUnknownTopicFails(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		topic string
	}{
		{[]string{"--help", "frobnicate"}, "frobnicate"},
		{[]string{"cache", "help", "purge"}, "purge"},
		{[]string{"get", "--help", "iad.ocir.io"}, "iad.ocir.io"},
		{[]string{"doctor", "help", "iad.ocir.io"}, "iad.ocir.io"},
		{[]string{"cache", "list", "help", "list"}, "list"},
		{[]string{"get", "help", "get"}, "get"},
	} {
		r := runMain(t, nil, nil, "", tc.args...)
		if want := "docker-credential-ocir: No help topic for '" + tc.topic + "'\n"; r.code != 1 || r.stdout != "" || r.stderr != want {
			t.Errorf("%q: got %+v, want exit 1 and stderr %q", tc.args, r, want)
		}
	}
}

// TestProtocolStdoutStaysEmptyOnCommandLineErrors: a client reads a
// protocol action's stdout as its answer; a bad command line says so on
// stderr only.
func TestProtocolStdoutStaysEmptyOnCommandLineErrors(t *testing.T) {
	for _, args := range [][]string{
		{"get", "--bogus"}, {"--bogus", "get"}, {"get", "-timeout"}, {"--timeout"}, {"store", "--remove"},
		{"erase", "-v"}, {"list", "--help=maybe"}, {"--on-error"}, {"get", "help", "-x"},
	} {
		r := runMain(t, newFake(t), nil, "iad.ocir.io", args...)
		if r.code != 2 || r.stdout != "" || !strings.HasSuffix(r.stderr, "Run 'docker-credential-ocir --help' for usage.\n") {
			t.Errorf("%q: got %+v", args, r)
		}
	}
}

// runSettings runs args as `get` would be run by a client, and returns the
// settings the token provider was built from.
func runSettings(t *testing.T, env map[string]string, args ...string) (result, config.Settings) {
	t.Helper()
	vars := map[string]string{"HOME": t.TempDir()}
	for k, v := range env {
		vars[k] = v
	}
	var got config.Settings
	var stdout, stderr bytes.Buffer
	code := run(Env{
		Args:    append([]string{helper.ProgramName}, args...),
		Stdin:   strings.NewReader("iad.ocir.io"),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Getenv:  func(k string) string { return vars[k] },
		Context: context.Background(),
		Version: "v1.2.3",
		NewProvider: func(ps providerSettings) (core, error) {
			got = ps.Settings
			return newFake(t), nil
		},
	})
	return result{code, stdout.String(), stderr.String()}, got
}

func TestGlobalFlagSpellingsAndRepeats(t *testing.T) {
	env := map[string]string{"OCIR_TIMEOUT": "7s", "OCIR_CACHE_DIR": "/env/cache"}
	for _, tc := range []struct {
		name     string
		args     []string
		timeout  time.Duration
		cacheDir string
	}{
		{"no flag: the environment", []string{"get"}, 7 * time.Second, "/env/cache"},
		{"--flag value", []string{"--timeout", "3s", "get"}, 3 * time.Second, "/env/cache"},
		{"--flag=value", []string{"--timeout=3s", "get"}, 3 * time.Second, "/env/cache"},
		{"-flag value", []string{"-timeout", "3s", "get"}, 3 * time.Second, "/env/cache"},
		{"-flag=value", []string{"-timeout=3s", "get"}, 3 * time.Second, "/env/cache"},
		{"the last repeat wins", []string{"--timeout", "3s", "--timeout=5s", "get"}, 5 * time.Second, "/env/cache"},
		{"a bad value overridden by a repeat", []string{"--timeout", "soon", "--timeout", "4", "get"}, 4 * time.Second, "/env/cache"},
		{"several flags", []string{"--cache-dir", "/a", "--timeout", "2s", "--cache-dir=/b", "get"}, 2 * time.Second, "/b"},
		{"-- ends the flags", []string{"--cache-dir", "/a", "--", "get"}, 7 * time.Second, "/a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, s := runSettings(t, env, tc.args...)
			if r.code != 0 || decodeCreds(t, r.stdout).Secret != "tok-123" {
				t.Fatalf("got %+v", r)
			}
			if s.Timeout != tc.timeout || s.CacheDir != tc.cacheDir {
				t.Errorf("timeout %s cache dir %q, want %s %q", s.Timeout, s.CacheDir, tc.timeout, tc.cacheDir)
			}
		})
	}
}

// TestListFlagKeepsEveryValue: --registries may be repeated and each value
// may hold several hosts, as with urfave/cli's string slice.
func TestListFlagKeepsEveryValue(t *testing.T) {
	dir := t.TempDir()
	r := runMain(t, newFake(t), nil, "", "configure-docker", "--dry-run", "--registries", "iad.ocir.io", "--config-dir", dir,
		"--registries=phx.ocir.io, fra.ocir.io", "--dry-run=true")
	if r.code != 0 {
		t.Fatalf("got %+v", r)
	}
	for _, h := range []string{"iad.ocir.io", "phx.ocir.io", "fra.ocir.io"} {
		if !strings.Contains(r.stdout, "+\t\t\""+h+"\": \"ocir\"") {
			t.Errorf("%s not added:\n%s", h, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote the file: %v", err)
	}
}

func TestBoolFlagTakesAnExplicitValue(t *testing.T) {
	dir := t.TempDir()
	r := runMain(t, newFake(t), nil, "", "configure-docker", "--dry-run=false", "--registries", "iad.ocir.io", "--config-dir", dir)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "updated ") {
		t.Fatalf("got %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Errorf("--dry-run=false wrote nothing: %v", err)
	}
}

// FuzzCommandLine: any command line (arguments separated by NUL) ends in
// exit 0, 1 or 2 without a panic, and a usage error of the command line
// leaves stdout empty, so that no client reads it as an answer.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{
		"--help", "get", "--timeout\x003s\x00get", "--timeout=soon\x00get", "configure-docker\x00--dry-run\x00--registries\x00iad.ocir.io,,",
		"cache\x00help\x00list", "-h\x00cache", "--\x00get", "get\x00--\x00x", "---x", "-", "token\x00iad.ocir.io/ns/repo", "--cache=off\x00cache\x00list",
		"configure-docker\x00--remove=2", "--version=false", "=", "-=x", "--log-level\x00debug\x00version",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		for _, a := range args {
			// Flags that name files to create outside the test's HOME.
			if strings.Contains(a, "log-file") || strings.Contains(a, "config-dir") {
				t.Skip()
			}
		}
		r := runMain(t, newFake(t), nil, "iad.ocir.io", args...)
		if r.code < 0 || r.code > 2 {
			t.Fatalf("%q: exit %d", args, r.code)
		}
		if strings.HasSuffix(r.stderr, "Run 'docker-credential-ocir --help' for usage.\n") && r.stdout != "" {
			t.Fatalf("%q: a usage error wrote to stdout: %q", args, r.stdout)
		}
		// A protocol action's stdout is what docker reads: nothing, the
		// help that was asked for, one JSON answer, or (the protocol's
		// convention, exit 1 or 2) one error line.
		if !protocolAction(args) {
			return
		}
		out := r.stdout
		oneLine := strings.Count(out, "\n") == 1 && strings.HasSuffix(out, "\n")
		switch {
		case out == "" || strings.HasPrefix(out, "NAME:\n"):
		case r.code == 0 && (!oneLine || !json.Valid([]byte(out))):
			t.Fatalf("%q: stdout is not one JSON answer: %q", args, out)
		case r.code != 0 && !oneLine:
			t.Fatalf("%q: stdout is not one error line: %q", args, out)
		}
	})
}

// protocolAction reports whether args run get, store, erase or list: the
// first argument that is neither a global flag nor a global flag's value
// names one, and no version flag asks for something else. It reads the
// global flag table only to know which flags take a value.
func protocolAction(args []string) bool {
	takesValue := map[string]bool{}
	for _, f := range globalFlags {
		for _, n := range f.names {
			takesValue[n] = f.kind != boolFlag
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return i+1 < len(args) && isProtocolAction(args[i+1])
		}
		if len(a) < 2 || a[0] != '-' {
			return isProtocolAction(a)
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if name == "version" || name == "v" {
			return false
		}
		if takesValue[name] && !hasValue {
			i++
		}
	}
	return false
}

func isProtocolAction(cmd string) bool {
	switch cmd {
	case "get", "store", "erase", "list":
		return true
	}
	return false
}
