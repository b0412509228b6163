// Package pullcheck asks a registry, as a pulling client would, whether
// an OCIR credential may read a repository: the check behind the docker
// helper's doctor and the kubelet plugin's --verify-pull. It is a front-end
// feature on top of the core (package ocir), which only issues tokens.
package pullcheck

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

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Result is the verdict of Check.
type Result struct {
	Allowed   bool   // the credential may read the repository
	Anonymous bool   // allowed without any credential: a public repository
	Denied    bool   // the registry refused the credential: IAM policy missing or not yet effective
	Status    int    // HTTP status of the last registry answer, 0 when none
	Detail    string // status and the registry's own message, for humans
	Tags      int    // number of tags listed, when allowed
}

// pullCheckTimeout bounds one check: the credential is already in hand and
// worth more than the check's verdict.
const pullCheckTimeout = 10 * time.Second

// Checker is an ocir.Provider that also checks pulls, over the Provider's
// own network settings (proxies, trust roots): what the front ends hand to
// their doctor and --verify-pull code.
type Checker struct{ *ocir.Provider }

// CheckPull is Check over p's HTTP client.
func (p Checker) CheckPull(ctx context.Context, cred ocir.Credential, repository string) Result {
	client, err := p.HTTPClient()
	if err != nil {
		return Result{Detail: err.Error()}
	}
	return Check(ctx, client, cred, repository)
}

// Check asks the registry, as a pulling client would, whether cred may
// read repository ("ns/repo"): GET /v2/<repo>/tags/list and, on a bearer
// challenge, the standard exchange of BEARER_TOKEN:<token> at the
// challenge's realm. The credential is only ever sent to the registry host
// itself: a realm elsewhere is reported, never followed. client must not
// follow redirects (an ocir.Provider's HTTPClient does not).
func Check(ctx context.Context, client *http.Client, cred ocir.Credential, repository string) Result {
	ctx, cancel := context.WithTimeout(ctx, pullCheckTimeout)
	defer cancel()
	host := cred.Registry
	target := "https://" + host + "/v2/" + repository + "/tags/list"
	resp, body, err := probeGet(ctx, client, target, "")
	if err != nil {
		return Result{Detail: "registry unreachable: " + err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return Result{Allowed: true, Anonymous: true, Status: 200, Detail: "public repository", Tags: countTags(body)}
	case http.StatusUnauthorized:
	default:
		return verdict(resp, body, "anonymous request")
	}
	basic := basicAuth(cred.Username, cred.Secret)
	authz := basic
	scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	switch scheme {
	case "basic":
	case "bearer":
		tok, res := exchange(ctx, client, host, repository, params, basic)
		if tok == "" {
			return res
		}
		authz = "Bearer " + tok
	default:
		return Result{Status: resp.StatusCode, Detail: fmt.Sprintf("unsupported challenge %q", resp.Header.Get("WWW-Authenticate"))}
	}
	resp, body, err = probeGet(ctx, client, target, authz)
	if err != nil {
		return Result{Detail: "registry unreachable: " + err.Error()}
	}
	if resp.StatusCode == http.StatusOK {
		return Result{Allowed: true, Status: 200, Detail: "pull allowed", Tags: countTags(body)}
	}
	return verdict(resp, body, "authenticated request")
}

// exchange trades the basic credential for a registry bearer token at the
// challenge's realm, which must be on the registry host.
func exchange(ctx context.Context, client *http.Client, host, repo string, params map[string]string, basic string) (string, Result) {
	realm, err := url.Parse(params["realm"])
	if err != nil || realm.Scheme != "https" || realm.Host == "" {
		return "", Result{Detail: fmt.Sprintf("registry sent an unusable token realm %q", params["realm"])}
	}
	if rh, err := registry.Host(realm.Host); err != nil || rh != host {
		return "", Result{Detail: fmt.Sprintf("token realm %s is not on %s; not sending the OCIR token there", realm.Host, host)}
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
	resp, body, err := probeGet(ctx, client, realm.String(), basic)
	if err != nil {
		return "", Result{Detail: "token exchange: " + err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return "", verdict(resp, body, "token exchange")
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", Result{Status: resp.StatusCode, Detail: "token exchange: malformed answer"}
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	if tok.Token == "" {
		return "", Result{Status: resp.StatusCode, Detail: "token exchange: answer without a token"}
	}
	return tok.Token, Result{}
}

func probeGet(ctx context.Context, client *http.Client, target, authz string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, err
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a scope; the cause is what matters
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp, body, err
}

// verdict turns a non-200 registry answer into a Result; 401 and 403
// mean the registry refused this credential.
func verdict(resp *http.Response, body []byte, what string) Result {
	detail := what + ": " + resp.Status
	var e struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		detail += ": " + strings.TrimSpace(e.Errors[0].Code+" "+e.Errors[0].Message)
	}
	denied := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden
	return Result{Denied: denied, Status: resp.StatusCode, Detail: detail}
}

func countTags(body []byte) int {
	var t struct {
		Tags []string `json:"tags"`
	}
	_ = json.Unmarshal(body, &t)
	return len(t.Tags)
}

func basicAuth(user, pass string) string {
	r := http.Request{Header: http.Header{}}
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// parseChallenge splits a WWW-Authenticate header into its lower-cased
// scheme and parameters (quoted values may contain commas).
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				params[k] = v[1:]
				break
			}
			params[k] = v[1 : end+1]
			rest = strings.TrimPrefix(strings.TrimSpace(v[end+2:]), ",")
		} else {
			val, after, _ := strings.Cut(v, ",")
			params[k] = strings.TrimSpace(val)
			rest = after
		}
		rest = strings.TrimSpace(rest)
	}
	return strings.ToLower(scheme), params
}
