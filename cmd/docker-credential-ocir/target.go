package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// repoComponent is one path component of a repository name, as the
// distribution spec defines it.
var repoComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// parseTarget splits "registry[/repository][:tag|@digest]" (with or
// without a scheme) into the canonical registry host and the repository.
// The tag or digest is dropped: the pull probe lists tags of the
// repository, which needs the same permission as a pull.
func parseTarget(arg string) (host, repo string, err error) {
	s := strings.TrimSpace(arg)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	hostPart, rest, _ := strings.Cut(s, "/")
	if host, err = registry.Host(hostPart); err != nil {
		return "", "", err
	}
	rest = strings.Trim(rest, "/")
	if rest == "v2" || strings.HasPrefix(rest, "v2/") {
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "v2"), "/")
	}
	if i := strings.Index(rest, "@"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i:], "/") {
		rest = rest[:i]
	}
	if rest == "" {
		return host, "", nil
	}
	if len(rest) > 255 {
		return "", "", fmt.Errorf("repository name longer than 255 characters")
	}
	for _, c := range strings.Split(rest, "/") {
		if !repoComponent.MatchString(c) {
			return "", "", fmt.Errorf("invalid repository name %q (lower-case letters, digits and . _ - separators)", rest)
		}
	}
	return host, rest, nil
}

// target is what token and doctor share: at most one registry[/repository]
// argument (default: the profile's region), a provider, and the recognised
// registry.
type target struct {
	p    core
	host string
	repo string
	reg  registry.Registry
}

func (a *app) target(c *cli.Context, what string) (target, error) {
	if c.NArg() > 1 {
		return target{}, cmdline.Usagef("%s takes at most one argument: %s", c.Command.Name, what)
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
	host, repo, err := parseTarget(arg)
	if err != nil {
		return target{}, cmdline.Usagef("%s: %w", arg, err)
	}
	reg, err := p.Registry(host)
	if err != nil {
		return target{}, cmdline.UsageError{Err: err} // names the host and what OCIR hosts look like
	}
	return target{p: p, host: host, repo: repo, reg: reg}, nil
}
