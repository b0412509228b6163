package main

import (
	"errors"
	"fmt"

	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
)

func (a *app) tokenCommand() *command {
	return &command{
		name:      "token",
		usage:     "print the OCIR bearer token alone (user name BEARER_TOKEN), e.g. for crictl --creds",
		argsUsage: "[registry]",
		description: "Prints only the token on stdout; the user name that goes with it is BEARER_TOKEN.\n" +
			"Without a registry, the region of your OCI profile (or OCI_CLI_REGION) names it. For crictl:\n\n" +
			"   crictl pull --creds \"BEARER_TOKEN:$(" + helper.ProgramName + " token iad.ocir.io)\" iad.ocir.io/<namespace>/<repo>:<tag>",
		action: a.token,
	}
}

func (a *app) token(c *call) error {
	t, err := a.target(c, "the registry")
	if err != nil {
		return err
	}
	cred, err := t.p.Credential(c.Context, t.host)
	if err != nil {
		return err
	}
	if cred.Secret == "" {
		return errors.New("the token provider returned an empty token")
	}
	fmt.Fprintln(a.env.Stdout, cred.Secret)
	return nil
}
