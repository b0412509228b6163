package helper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

func (a *app) doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check the identity, the token call and (with a repository) a pull; exit 0 only if healthy",
		ArgsUsage: "[registry[/repository]]",
		Description: "Reports which OCI identity is used and why, the OCI config file and profile, the cached token,\n" +
			"the instance metadata service, and makes a live token call. With a repository it lists the\n" +
			"repository's tags the way a pull authenticates, and turns a 403 into the IAM policy statement\n" +
			"to add. Without a registry, the region of your OCI CLI profile is used.",
		Action: a.doctor,
	}
}

// defaultRegistry is the registry of the user's configured region, for
// commands whose registry argument is optional.
func (a *app) defaultRegistry() (string, error) {
	getenv := a.env.Getenv
	name, source, err := ocir.ConfiguredRegion(getenv)
	if err != nil {
		return "", usagef("no registry given and %w; name one, e.g. iad.ocir.io", err)
	}
	table, err := registry.LoadTable(getenv, homeDir(getenv))
	if err != nil {
		return "", fmt.Errorf("region table: %w", err)
	}
	r, ok := table.Lookup(name)
	if !ok {
		return "", usagef("no registry given and region %q (from %s) is unknown; name a registry", name, source)
	}
	return r.Hosts()[0], nil
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

func (a *app) doctor(c *cli.Context) error {
	if c.NArg() > 1 {
		return usagef("doctor takes at most one argument: registry[/repository]")
	}
	p, err := a.setup()
	if err != nil {
		return err
	}
	arg := c.Args().First()
	if arg == "" {
		if arg, err = a.defaultRegistry(); err != nil {
			return err
		}
	}
	host, repo, err := parseTarget(arg)
	if err != nil {
		return usagef("%s: %w", arg, err)
	}
	reg, err := p.Registry(host)
	if err != nil {
		return usagef("%s is not an OCIR registry host: %w", host, err)
	}
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
		r.problem("identity", "%s", oneLine(err.Error()))
		return a.doctorResult(r)
	}
	identityOK := ex.IdentityErr == nil && ex.Auth != ""
	switch {
	case ex.IdentityErr != nil && errors.Is(ex.IdentityErr, ocir.ErrNoIdentity):
		r.problem("identity", "none configured: %s", oneLine(ex.IdentityErr.Error()))
		r.fix("create an API-key profile with `oci setup config`, or set OCI_CLI_AUTH; anonymous pulls of public repositories still work")
	case ex.IdentityErr != nil:
		r.problem("identity", "%s", oneLine(ex.IdentityErr.Error()))
	case ex.Auth == "":
		r.problem("identity", "the provider chose no identity")
	default:
		why := ex.Reason
		if why == "" {
			why = "(no reason given)"
		}
		r.line("identity", "%s: %s", ex.Auth, why)
	}
	if ex.ConfigFile != "" || ex.Profile != "" {
		r.line("OCI config", "%s, profile %s", orDash(ex.ConfigFile), orDash(ex.Profile))
	} else {
		r.line("OCI config", "not used (%s, profile %s)", ociConfigPath(a.env.Getenv), ociProfile(a.env.Getenv))
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
		r.line("metadata", "unreachable at %s (not needed for %s)", md.URL, orDash(ex.Auth))
	}

	if !identityOK {
		return a.doctorResult(r)
	}
	cred, err := p.Credential(ctx, host, ocir.WithForceRefresh())
	if err != nil {
		r.problem("token", "%s", oneLine(err.Error()))
		return a.doctorResult(r)
	}
	r.line("token", "ok, valid until %s (%s)", cred.ExpiresAt.Format(time.RFC3339), cred.ExpiresAt.Sub(now).Round(time.Second))

	if repo != "" {
		res := a.pullProbe(ctx, reg.Host, repo, cred)
		if res.ok {
			r.line("pull probe", "%s: %s", repo, res.detail)
		} else {
			r.problem("pull probe", "%s: %s", repo, res.detail)
			if res.denied {
				r.fix("add this IAM policy statement (in the tenancy or the repository's compartment):")
				fmt.Fprintf(r.out, "%-12s     %s\n", "", PolicyStatement(ex.Auth))
			}
			if res.hint != "" {
				r.fix("%s", res.hint)
			}
		}
	}
	return a.doctorResult(r)
}

func (a *app) doctorResult(r *report) error {
	if r.problems == 0 {
		r.line("result", "healthy")
		return nil
	}
	r.line("result", "unhealthy (%d problem%s)", r.problems, map[bool]string{true: "s"}[r.problems > 1])
	return exitCode(ExitFailure)
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
	}
	return "Allow group <your-group> to read repos in compartment <compartment>"
}

// probeResult is the outcome of the pull probe.
type probeResult struct {
	ok     bool
	denied bool // the registry refused: an IAM policy is missing
	detail string
	hint   string
}

// maxBody bounds what is read of a registry response.
const maxBody = 1 << 20

// pullProbe lists the repository's tags the way a client authenticates a
// pull: an anonymous request, the registry's bearer challenge, the
// BEARER_TOKEN login exchanged at the challenge's realm, and the request
// again with the registry token. The OCIR token is sent only to a realm on
// the registry's own host.
func (a *app) pullProbe(ctx context.Context, host, repo string, cred ocir.Credential) probeResult {
	client := a.probeClient(host)
	tagsURL := "https://" + host + "/v2/" + repo + "/tags/list"

	resp, body, err := get(ctx, client, tagsURL, "")
	if err != nil {
		return probeResult{detail: fmt.Sprintf("registry unreachable: %v", err)}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return probeResult{ok: true, detail: "ok, anonymous access (public repository) " + tagSummary(body)}
	case http.StatusUnauthorized:
	default:
		return statusResult(resp, body, "anonymous request")
	}
	scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	basic := "Basic " + basicAuth(safeUsername(cred.Username), cred.Secret)
	var authz string
	switch scheme {
	case "basic":
		authz = basic
	case "bearer":
		realm, err := url.Parse(params["realm"])
		if err != nil || realm.Scheme != "https" || realm.Host == "" {
			return probeResult{detail: fmt.Sprintf("registry sent an unusable token realm %q", params["realm"])}
		}
		if rh, err := registry.Host(realm.Host); err != nil || rh != host {
			return probeResult{detail: fmt.Sprintf("registry sent a token realm on another host (%s); not sending the OCIR token there", realm.Host),
				hint: "check HTTPS_PROXY and that " + host + " is really OCIR"}
		}
		q := realm.Query()
		if s := params["service"]; s != "" {
			q.Set("service", s)
		}
		scope := params["scope"]
		if scope == "" {
			scope = "repository:" + repo + ":pull"
		}
		q.Set("scope", scope)
		realm.RawQuery = q.Encode()
		tresp, tbody, err := get(ctx, client, realm.String(), basic)
		if err != nil {
			return probeResult{detail: fmt.Sprintf("token exchange failed: %v", err)}
		}
		if tresp.StatusCode != http.StatusOK {
			res := statusResult(tresp, tbody, "token exchange")
			res.denied = false
			if tresp.StatusCode == http.StatusUnauthorized || tresp.StatusCode == http.StatusForbidden {
				res.hint = "the OCIR token was rejected; run `" + ProgramName + " cache clear` and retry"
			}
			return res
		}
		var tok struct {
			Token       string `json:"token"`
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(tbody, &tok); err != nil || (tok.Token == "" && tok.AccessToken == "") {
			return probeResult{detail: "token exchange returned no token"}
		}
		t := tok.Token
		if t == "" {
			t = tok.AccessToken
		}
		authz = "Bearer " + t
	default:
		return probeResult{detail: fmt.Sprintf("registry sent an unsupported challenge %q", resp.Header.Get("WWW-Authenticate"))}
	}
	resp, body, err = get(ctx, client, tagsURL, authz)
	if err != nil {
		return probeResult{detail: fmt.Sprintf("registry unreachable: %v", err)}
	}
	if resp.StatusCode == http.StatusOK {
		return probeResult{ok: true, detail: "ok, pull allowed " + tagSummary(body)}
	}
	return statusResult(resp, body, "authenticated request")
}

// probeClient is the HTTP client of the pull probe: the configured one, or
// one that honours HTTPS_PROXY and SSL_CERT_FILE, is bounded by the lookup
// timeout, and never follows a redirect to another host with credentials.
func (a *app) probeClient(host string) *http.Client {
	if a.env.HTTPClient != nil {
		return a.env.HTTPClient
	}
	return &http.Client{
		Timeout:   a.settings.Timeout,
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if h, err := registry.Host(req.URL.Host); err != nil || h != host {
				return fmt.Errorf("refusing redirect to %s", req.URL.Host)
			}
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}

func get(ctx context.Context, client *http.Client, u, authz string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	req.Header.Set("User-Agent", ProgramName+"-doctor")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("read response: %w", err)
	}
	return resp, body, nil
}

func statusResult(resp *http.Response, body []byte, what string) probeResult {
	msg := registryMessage(body)
	res := probeResult{detail: fmt.Sprintf("%s answered %s%s", what, resp.Status, msg)}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		res.denied = true
	case http.StatusNotFound:
		res.hint = "check the repository name: OCIR paths are <tenancy-namespace>/<repository>"
	}
	if id := resp.Header.Get("Opc-Request-Id"); id != "" {
		res.detail += " (opc-request-id: " + id + ")"
	}
	return res
}

// registryMessage extracts the first error of a distribution-style error
// body, or a short snippet of the body.
func registryMessage(body []byte) string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		if len(e.Errors) > 0 {
			return fmt.Sprintf(": %s %s", e.Errors[0].Code, oneLine(e.Errors[0].Message))
		}
		if e.Code != "" || e.Message != "" {
			return fmt.Sprintf(": %s %s", e.Code, oneLine(e.Message))
		}
	}
	s := oneLine(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return ""
	}
	return ": " + s
}

func tagSummary(body []byte) string {
	var t struct {
		Tags []string `json:"tags"`
	}
	if json.Unmarshal(body, &t) != nil {
		return ""
	}
	if len(t.Tags) > 5 {
		return fmt.Sprintf("(tags: %s, … %d in all)", strings.Join(t.Tags[:5], ", "), len(t.Tags))
	}
	return fmt.Sprintf("(tags: %s)", strings.Join(t.Tags, ", "))
}

// parseChallenge parses a WWW-Authenticate header with one challenge:
// the lower-cased scheme and its auth-params.
func parseChallenge(h string) (string, map[string]string) {
	params := map[string]string{}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	s := rest
	for {
		s = strings.TrimLeft(s, " ,")
		if s == "" {
			break
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimLeft(v, " ")
		if strings.HasPrefix(v, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(v) && v[i] != '"'; i++ {
				if v[i] == '\\' && i+1 < len(v) {
					i++
				}
				b.WriteByte(v[i])
			}
			params[k] = b.String()
			if i < len(v) {
				i++
			}
			s = v[i:]
		} else {
			end := strings.IndexByte(v, ',')
			if end < 0 {
				end = len(v)
			}
			params[k] = strings.TrimSpace(v[:end])
			s = v[end:]
		}
	}
	return strings.ToLower(scheme), params
}
