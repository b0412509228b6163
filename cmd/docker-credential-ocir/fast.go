package main

import (
	"bytes"
	"io"
	"log/slog"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// serveCached answers `get` from the token cache before anything else is
// set up: no command line parsing, no signal handler, no network. docker
// build runs the helper once per credHelpers entry, so this is the path
// users wait for most often.
//
// It only answers when args are exactly [program, "get"], the settings and
// config file are valid, no log file is configured and a fresh token is
// cached; the answer is then produced by the same Helper.Serve as the full
// path, so it is byte for byte what run would print. In every other case
// it writes nothing and returns done == false and the stdin to hand to run
// (what it read, followed by the rest).
func serveCached(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, version, commit string) (done bool, rest io.Reader) {
	if len(args) != 2 || args[1] != credentials.ActionGet {
		return false, stdin
	}
	in, err := io.ReadAll(io.LimitReader(stdin, helper.MaxInput))
	rest = io.MultiReader(bytes.NewReader(in), stdin)
	if err != nil {
		return false, rest
	}
	s, err := config.FromEnv(getenv)
	if err != nil || s.LogFile != "" {
		return false, rest
	}
	onErr, err := helper.ParseOnError(getenv("OCIR_ON_ERROR"))
	if err != nil {
		return false, rest
	}
	cfg, err := config.Load(s.ConfigPath, s.ConfigExplicit)
	if err != nil {
		return false, rest
	}
	// Diagnostics are held back until the answer is certain, so that a
	// miss, which run then handles from the start, logs nothing twice.
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: s.LogLevel}))
	log.Debug("start", "command", credentials.ActionGet, "version", version, "commit", commit)
	p, err := cmdline.Program{Name: helper.ProgramName, Version: version}.NewProvider(s, cfg, log, getenv)
	if err != nil {
		return false, rest
	}
	var out bytes.Buffer
	h := helper.New(cmdline.CacheOnly{Checker: pullcheck.Checker{Provider: p}}, helper.WithOnError(onErr), helper.WithLogger(log))
	if h.Serve(credentials.ActionGet, bytes.NewReader(in), &out) != helper.ExitOK {
		return false, rest
	}
	_, _ = stderr.Write(logs.Bytes())
	_, _ = stdout.Write(out.Bytes())
	return true, nil
}
