package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/helper"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

func (a *app) doctorCommand() *command {
	return &command{
		name:      "doctor",
		usage:     "check the identity, the token call and (with a repository) a pull; exit 0 only if healthy",
		argsUsage: "[registry[/repository]]",
		description: "Reports which OCI identity is used and why, the OCI config file and profile, the cached token,\n" +
			"the instance metadata service, and makes a live token call. With a repository it lists the\n" +
			"repository's tags the way a pull authenticates, and turns a 403 into the IAM policy statement\n" +
			"to add. Without a registry, the region of your OCI CLI profile is used.",
		action: a.doctor,
	}
}

// defaultRegistry is the registry of the user's configured region, for
// commands whose registry argument is optional.
func (a *app) defaultRegistry() (string, error) {
	l := a.lookupRegion("", "")
	if l.regionErr != nil {
		return "", cmdline.Usagef("no registry given and %w; name one, e.g. iad.ocir.io", l.regionErr)
	}
	if l.tableErr != nil {
		return "", fmt.Errorf("region table: %w", l.tableErr)
	}
	if !l.found {
		return "", cmdline.Usagef("no registry given and region %q (from %s) is unknown; name a registry", l.name, l.source)
	}
	return l.region.Hosts()[0], nil
}

// report collects doctor's findings.
type report struct {
	out      io.Writer
	problems int
}

func (r *report) line(key, format string, args ...any) {
	fmt.Fprintf(r.out, "%-12s %s\n", key+":", fmt.Sprintf(format, args...))
}

func (r *report) problem(key, format string, args ...any) {
	r.problems++
	r.line(key, "PROBLEM: "+format, args...)
}

func (r *report) fix(format string, args ...any) {
	fmt.Fprintf(r.out, "%-12s %s\n", "", "fix: "+fmt.Sprintf(format, args...))
}

func (a *app) doctor(c *call) error {
	t, err := a.target(c, "registry[/repository]")
	if err != nil {
		return err
	}
	p, host, repo, reg := t.p, t.host, t.repo, t.reg
	ctx := c.Context
	r := &report{out: a.env.Stdout}
	now := a.env.Now()

	switch {
	case reg.Form == registry.FormMirror:
		r.line("registry", "%s (mirror, tokens from %s)", reg.Host, reg.TokenURL())
	default:
		r.line("registry", "%s (region %s, realm %s)", reg.Host, reg.Region.ID, reg.Region.Realm)
	}

	ex, err := p.Explain(ctx, host)
	if err != nil {
		r.problem("identity", "%s", helper.OneLine(err.Error()))
		return a.doctorResult(r)
	}
	identityOK := ex.IdentityErr == nil && ex.Auth != ""
	switch {
	case ex.IdentityErr != nil && errors.Is(ex.IdentityErr, ocir.ErrNoIdentity):
		// The error's text ends in its hint: print the kind as the problem
		// and the hint once, as the fix.
		r.problem("identity", "%s", ocir.ErrNoIdentity)
		hint := "create an API-key profile with `oci setup config`, or set OCI_CLI_AUTH"
		var oe *ocir.Error
		if errors.As(ex.IdentityErr, &oe) && oe.Hint != "" {
			hint = oe.Hint
		}
		r.fix("%s; anonymous pulls of public repositories still work", hint)
	case ex.IdentityErr != nil:
		r.problem("identity", "%s", helper.OneLine(ex.IdentityErr.Error()))
	case ex.Auth == "":
		r.problem("identity", "the provider chose no identity")
	default:
		why := ex.Reason
		if why == "" {
			why = "(no reason given)"
		}
		r.line("identity", "%s: %s", ex.Auth, why)
	}
	federationReport(r, ex.Federation, now)
	if ex.ConfigFile != "" || ex.Profile != "" {
		r.line("OCI config", "%s, profile %s", orDash(ex.ConfigFile), orDash(ex.Profile))
	} else {
		path, profile := ocicli.Location(a.env.Getenv)
		r.line("OCI config", "not used (%s, profile %s)", path, profile)
	}
	if ex.Region != "" {
		r.line("region", "%s", ex.Region)
	}
	if ex.RuleMatched != "" {
		r.line("rule", "%s (from %s)", ex.RuleMatched, a.settings.ConfigPath)
	}
	switch {
	case !ex.CacheEnabled:
		r.line("cache", "off")
	case ex.Cached != nil:
		r.line("cache", "%s: token valid until %s (%s left)", orDash(ex.CacheDir), ex.Cached.ExpiresAt.Format(time.RFC3339), ex.Cached.ExpiresAt.Sub(now).Round(time.Second))
	default:
		r.line("cache", "%s: no valid cached token", orDash(ex.CacheDir))
	}
	md := ex.Metadata
	switch {
	case !md.Probed:
		r.line("metadata", "not probed (no sign of an OCI instance)")
	case md.Reachable:
		r.line("metadata", "reachable at %s (region %s)", md.URL, orDash(md.Region))
	case ex.Auth == ocir.AuthInstancePrincipal:
		r.problem("metadata", "unreachable at %s: %v", md.URL, md.Err)
		r.fix("instance principals need the instance metadata service; if a proxy is set, add 169.254.169.254 to NO_PROXY")
	default:
		r.line("metadata", "unreachable at %s (only instance principals need it)", md.URL)
	}

	if !identityOK {
		return a.doctorResult(r)
	}
	cred, err := p.Credential(ctx, host, ocir.WithForceRefresh())
	if err != nil {
		r.problem("token", "%s", helper.OneLine(err.Error()))
		return a.doctorResult(r)
	}
	r.line("token", "ok, valid until %s (%s)", cred.ExpiresAt.Format(time.RFC3339), cred.ExpiresAt.Sub(now).Round(time.Second))

	if repo != "" {
		pc := p.CheckPull(ctx, cred, repo)
		pullReport(r, repo, ex.Auth, pc)
		federationPolicyHint(r, ex.Federation, pc)
	}
	return a.doctorResult(r)
}

// pullReport turns the registry's verdict on a pull into doctor's lines: a
// refusal into the IAM policy statement to add, a rejected OCIR token into
// the advice to clear the cache.
func pullReport(r *report, repo, auth string, pc pullcheck.Result) {
	switch {
	case pc.Allowed && pc.Anonymous:
		r.line("pull probe", "%s: ok, anonymous access (public repository, %s)", repo, tagCount(pc.Tags))
		return
	case pc.Allowed:
		r.line("pull probe", "%s: ok, pull allowed (%s)", repo, tagCount(pc.Tags))
		return
	}
	r.problem("pull probe", "%s: %s", repo, helper.OneLine(pc.Detail))
	if pc.Denied {
		r.fix("add this IAM policy statement (in the tenancy or the repository's compartment):")
		fmt.Fprintf(r.out, "%-12s     %s\n", "", PolicyStatement(auth))
	}
	switch pc.Status {
	case http.StatusUnauthorized:
		r.fix("the OCIR token was rejected; run `%s cache clear` and retry", helper.ProgramName)
	case http.StatusNotFound:
		r.fix("check the repository name: OCIR paths are <tenancy-namespace>/<repository>")
	}
}

func tagCount(n int) string {
	if n == 1 {
		return "1 tag"
	}
	return fmt.Sprintf("%d tags", n)
}

func (a *app) doctorResult(r *report) error {
	if r.problems == 0 {
		r.line("result", "healthy")
		return nil
	}
	r.line("result", "unhealthy (%d problem%s)", r.problems, map[bool]string{true: "s"}[r.problems > 1])
	return cmdline.ExitCode(cmdline.ExitFailure)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// PolicyStatement is the IAM statement that lets the identity type pull:
// users are granted through a group, instances and functions through a
// dynamic group, OKE workloads by their service account.
func PolicyStatement(auth string) string {
	switch auth {
	case ocir.AuthInstancePrincipal, ocir.AuthResourcePrincipal:
		return "Allow dynamic-group <your-dynamic-group> to read repos in compartment <compartment>"
	case ocir.AuthOKEWorkload:
		return "Allow any-user to read repos in compartment <compartment> where all {request.principal.type = 'workload', request.principal.namespace = '<namespace>', request.principal.service_account = '<service-account>'}"
	case ocir.AuthWorkloadIdentityFederation:
		// The session's principal is the service user the identity
		// propagation trust maps the federated subject to.
		return "Allow group <group-of-the-trust's-service-user> to read repos in compartment <compartment>"
	}
	return "Allow group <your-group> to read repos in compartment <compartment>"
}
