package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
)

func (a *app) tokenCommand() *cli.Command {
	return &cli.Command{
		Name:      "token",
		Usage:     "print the OCIR bearer token alone (user name BEARER_TOKEN), e.g. for crictl --creds",
		ArgsUsage: "[registry]",
		Description: "Prints only the token on stdout; the user name that goes with it is BEARER_TOKEN.\n" +
			"Without a registry, the region of your OCI profile (or OCI_CLI_REGION) names it. For crictl:\n\n" +
			"   crictl pull --creds \"BEARER_TOKEN:$(" + helper.ProgramName + " token iad.ocir.io)\" iad.ocir.io/<namespace>/<repo>:<tag>",
		Action: a.token,
	}
}

func (a *app) token(c *cli.Context) error {
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
