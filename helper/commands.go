package helper

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
	"github.com/urfave/cli/v2"
)

func (a *app) tokenCommand() *cli.Command {
	return &cli.Command{
		Name:      "token",
		Usage:     "print the OCIR bearer token alone (user name BEARER_TOKEN), e.g. for crictl --creds",
		ArgsUsage: "[registry]",
		Description: "Prints only the token on stdout; the user name that goes with it is BEARER_TOKEN.\n" +
			"Without a registry, the region of your OCI profile (or OCI_CLI_REGION) names it. For crictl:\n\n" +
			"   crictl pull --creds \"BEARER_TOKEN:$(" + ProgramName + " token iad.ocir.io)\" iad.ocir.io/<namespace>/<repo>:<tag>",
		Action: a.token,
	}
}

// target is what token and doctor share: at most one registry[/repository]
// argument (default: the profile's region), a provider, and the recognised
// registry.
type target struct {
	p    Provider
	host string
	repo string
	reg  registry.Registry
}

func (a *app) target(c *cli.Context, what string) (target, error) {
	if c.NArg() > 1 {
		return target{}, usagef("%s takes at most one argument: %s", c.Command.Name, what)
	}
	p, err := a.setup()
	if err != nil {
		return target{}, err
	}
	arg := c.Args().First()
	if arg == "" {
		if arg, err = a.defaultRegistry(); err != nil {
			return target{}, err
		}
	}
	host, repo, err := registry.ParseImage(arg)
	if err != nil {
		return target{}, usagef("%s: %w", arg, err)
	}
	reg, err := p.Registry(host)
	if err != nil {
		return target{}, usageError{err} // names the host and what OCIR hosts look like
	}
	return target{p: p, host: host, repo: repo, reg: reg}, nil
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

func (a *app) cacheCommand() *cli.Command {
	return &cli.Command{
		Name:  "cache",
		Usage: "inspect or clear the token cache",
		// Without a known subcommand, cache is a usage error (exit 2), not
		// help on stdout with exit 0.
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("cache needs a subcommand: clear or list")
			}
			return usagef("cache: unknown subcommand %q (want clear or list)", c.Args().First())
		},
		Subcommands: []*cli.Command{
			{Name: "clear", Usage: "remove every cached token", Action: a.cacheClear},
			{Name: "list", Usage: "list cached tokens (not the tokens themselves)", Action: a.cacheList},
		},
	}
}

func (a *app) cacheClear(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("cache clear takes no arguments")
	}
	p, err := a.setup()
	if err != nil {
		return err
	}
	if err := p.Clear(); err != nil {
		return fmt.Errorf("clear the token cache: %w", err)
	}
	where := "memory only"
	if a.settings.Cache && a.settings.CacheDir != "" {
		where = a.settings.CacheDir
	}
	fmt.Fprintf(a.env.Stdout, "cleared the token cache (%s)\n", where)
	return nil
}

func (a *app) cacheList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("cache list takes no arguments")
	}
	p, err := a.setup()
	if err != nil {
		return err
	}
	entries, err := p.List()
	if err != nil {
		return fmt.Errorf("read the token cache: %w", err)
	}
	now := a.env.Now()
	tw := tabwriter.NewWriter(a.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REGISTRY\tIDENTITY\tEXPIRES\tLEFT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Registry, orDash(e.Identity), e.ExpiresAt.Format(time.RFC3339), e.ExpiresAt.Sub(now).Round(time.Second))
	}
	return tw.Flush()
}
