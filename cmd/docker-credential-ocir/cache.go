package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
)

func (a *app) cacheCommand() *command {
	return &command{
		name:  "cache",
		usage: "inspect or clear the token cache",
		// Without a known subcommand, cache is a usage error (exit 2), not
		// help on stdout with exit 0.
		action: func(c *call) error {
			if c.NArg() == 0 {
				return cmdline.Usagef("cache needs a subcommand: clear or list")
			}
			return cmdline.Usagef("cache: unknown subcommand %q (want clear or list)", c.First())
		},
		subcommands: []*command{
			{name: "clear", usage: "remove every cached token", action: a.cacheClear},
			{name: "list", usage: "list cached tokens (not the tokens themselves)", action: a.cacheList},
		},
	}
}

func (a *app) cacheClear(c *call) error {
	if c.NArg() > 0 {
		return cmdline.Usagef("cache clear takes no arguments")
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

func (a *app) cacheList(c *call) error {
	if c.NArg() > 0 {
		return cmdline.Usagef("cache list takes no arguments")
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
