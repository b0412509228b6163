package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

func (a *app) protocolCommand(action, usage string) *command {
	return &command{
		name:     action,
		usage:    usage,
		category: "credential helper protocol (run by container tools)",
		action:   func(c *call) error { return a.protocol(c, action) },
	}
}

// protocol runs get/store/erase/list. What a run can fail on — the
// settings, the config file, the lookup — goes to stdout in Serve's
// convention, because that is where clients look for the reason. A
// mistake on the command line is reported on stderr like every other
// command's: clients run exactly `docker-credential-ocir <action>`, so only
// a person typing can make one, and stdout stays empty for them.
func (a *app) protocol(c *call, action string) error {
	stdout := a.env.Stdout
	if a.flagErr != nil {
		return a.flagErr
	}
	if c.NArg() > 0 {
		return cmdline.Usagef("%s takes no arguments%s", action, protocolInput[action])
	}
	p, err := a.setup()
	if err != nil {
		return a.protocolSetupFailed(action, err)
	}
	h := helper.New(p, helper.WithContext(c.Context), helper.WithOnError(a.onError), helper.WithStderr(a.env.Stderr), helper.WithLogger(a.log), helper.WithClock(a.env.Now))
	if code := h.Serve(action, a.env.Stdin, stdout); code != helper.ExitOK {
		return cmdline.ExitCode(code)
	}
	return nil
}

// protocolInput says, for a usage message, what each action reads from
// stdin instead of arguments.
var protocolInput = map[string]string{
	credentials.ActionGet:   " (the server URL is read from stdin)",
	credentials.ActionErase: " (the server URL is read from stdin)",
	credentials.ActionStore: " (the credentials JSON is read from stdin)",
	credentials.ActionList:  "",
}

// protocolSetupFailed answers a protocol action when the settings
// (OCIR_* variables, global flags, the config file) are unusable. Only get
// really needs them; the other actions must not break the client over them.
func (a *app) protocolSetupFailed(action string, err error) error {
	stderr := a.env.Stderr
	msg := fmt.Sprintf("%s: %s", helper.ProgramName, helper.OneLine(err.Error()))
	switch action {
	case credentials.ActionList:
		// list never fails: an unusable setup simply lists nothing.
		a.log.Warn("list: listing nothing", "err", err)
		fmt.Fprintln(a.env.Stdout, "{}")
		return nil
	case credentials.ActionErase:
		// Nothing was stored, so `docker logout` has nothing to fail
		// over; the cached token, if any, stays.
		fmt.Fprintf(stderr, "%s; the cached token was not dropped\n", msg)
		return nil
	case credentials.ActionStore:
		// `docker login` to an OCIR host must never break: recognise the
		// host without the settings (the compiled-in region table) and
		// accept the login, telling the user what will fail later.
		if host, ok := storeHostIsOCIR(a.env.Stdin); ok {
			fmt.Fprintf(stderr, "%s; accepting the login to %s anyway (nothing is stored), but getting a token will fail until this is fixed\n", msg, host)
			return nil
		}
	}
	// The same line on stderr: the docker CLI hides a failing helper's
	// stdout, so stderr is the only place its user can see why.
	fmt.Fprintln(a.env.Stdout, msg)
	fmt.Fprintln(stderr, msg)
	if errors.As(err, new(cmdline.UsageError)) {
		return cmdline.ExitCode(cmdline.ExitUsage)
	}
	return cmdline.ExitCode(cmdline.ExitFailure)
}

// storeHostIsOCIR reads the credentials a store action receives and
// reports whether their server URL names a host of the compiled-in region
// table. Anything unreadable is not.
func storeHostIsOCIR(stdin io.Reader) (string, bool) {
	var c credentials.Credentials
	if err := json.NewDecoder(io.LimitReader(stdin, helper.MaxInput)).Decode(&c); err != nil {
		return "", false
	}
	host, err := registry.Host(c.ServerURL)
	if err != nil {
		return "", false
	}
	reg, ok := registry.DefaultTable().Recognize(host)
	return reg.Host, ok
}
