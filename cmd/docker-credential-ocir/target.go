package main

import (
	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// target is what token and doctor share: at most one registry[/repository]
// argument (default: the profile's region), a provider, and the recognised
// registry.
type target struct {
	p    core
	host string
	repo string
	reg  registry.Registry
}

func (a *app) target(c *call, what string) (target, error) {
	if c.NArg() > 1 {
		return target{}, cmdline.Usagef("%s takes at most one argument: %s", c.cmd.name, what)
	}
	p, err := a.setup()
	if err != nil {
		return target{}, err
	}
	arg := c.First()
	if arg == "" {
		if arg, err = a.defaultRegistry(); err != nil {
			return target{}, err
		}
	}
	host, repo, err := registry.ParseImage(arg)
	if err != nil {
		return target{}, cmdline.Usagef("%s: %w", arg, err)
	}
	reg, err := p.Registry(host)
	if err != nil {
		return target{}, cmdline.UsageError{Err: err} // names the host and what OCIR hosts look like
	}
	return target{p: p, host: host, repo: repo, reg: reg}, nil
}
