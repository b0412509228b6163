package kubelet

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
)

// probeBodyLimit bounds what is read from any registry answer.
const probeBodyLimit = 64 << 10

// pullResult is the outcome of a verify-pull probe. Only a denial changes
// the answer; every other outcome is reported and otherwise ignored, since
// the probe is advice and must never cost the node its credentials.
type pullResult struct {
	ok     bool   // the registry let the token list the repository's tags
	denied bool   // the registry refused the token (401/403)
	detail string // status and registry message, for humans
}

func (r pullResult) String() string {
	switch {
	case r.ok:
		return "allowed"
	case r.denied:
		return "denied: " + r.detail
	}
	return "inconclusive: " + r.detail
}

func defaultProbeClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	return &http.Client{
		Transport: tr,
		// A redirect would carry the probe somewhere the token was not
		// issued for; the probe only needs the first answer.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// verifyPull asks the registry, as a pulling client would, whether the token
// may read repo: GET /v2/<repo>/tags/list, and on a bearer challenge the
// standard exchange of the basic credentials at the challenge's realm. The
// credentials are only sent to a realm on the registry host itself.
func verifyPull(ctx context.Context, client *http.Client, host, repo, username, password string) pullResult {
	target := "https://" + host + "/v2/" + repo + "/tags/list?n=1"
	resp, body, err := probeGet(ctx, client, target, nil)
	if err != nil {
		return pullResult{detail: err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return pullResult{ok: true, detail: "public repository"}
	case http.StatusForbidden:
		return pullResult{denied: true, detail: statusDetail(resp, body)}
	case http.StatusUnauthorized:
	default:
		return pullResult{detail: statusDetail(resp, body)}
	}

	scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	var auth string
	switch scheme {
	case "basic":
		auth = basicAuth(username, password)
	case "bearer":
		token, res := exchange(ctx, client, host, repo, params, username, password)
		if token == "" {
			return res
		}
		auth = "Bearer " + token
	default:
		return pullResult{detail: fmt.Sprintf("unsupported challenge %q", scheme)}
	}

	resp, body, err = probeGet(ctx, client, target, http.Header{"Authorization": {auth}})
	if err != nil {
		return pullResult{detail: err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return pullResult{ok: true, detail: "allowed"}
	case http.StatusUnauthorized, http.StatusForbidden:
		return pullResult{denied: true, detail: statusDetail(resp, body)}
	}
	return pullResult{detail: statusDetail(resp, body)}
}

// exchange trades the basic credentials for a registry bearer token at the
// challenge's realm.
func exchange(ctx context.Context, client *http.Client, host, repo string, params map[string]string, username, password string) (string, pullResult) {
	realm, err := url.Parse(params["realm"])
	if err != nil || realm.Scheme != "https" || !strings.EqualFold(realm.Host, host) {
		// Never hand the token to a host it was not issued for.
		return "", pullResult{detail: fmt.Sprintf("challenge realm %q is not on %s; not following it", params["realm"], host)}
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

	resp, body, err := probeGet(ctx, client, realm.String(), http.Header{"Authorization": {basicAuth(username, password)}})
	if err != nil {
		return "", pullResult{detail: err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return "", pullResult{denied: true, detail: "token exchange: " + statusDetail(resp, body)}
	default:
		return "", pullResult{detail: "token exchange: " + statusDetail(resp, body)}
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return "", pullResult{detail: "token exchange: malformed answer"}
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	if tok.Token == "" {
		return "", pullResult{detail: "token exchange: answer without a token"}
	}
	return tok.Token, pullResult{}
}

func probeGet(ctx context.Context, client *http.Client, target string, h http.Header) (*http.Response, []byte, error) {
	// One probe must not eat the whole lookup budget: the credentials are
	// already in hand and worth more than the probe's verdict.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("probe: %w", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("probe %s: %w", redactURL(req.URL), unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
	if err != nil {
		return nil, nil, fmt.Errorf("probe %s: read answer: %w", redactURL(req.URL), err)
	}
	return resp, body, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.String()
}

// statusDetail is the status plus the registry's own error message, if it
// sent one in the distribution error format.
func statusDetail(resp *http.Response, body []byte) string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	detail := resp.Status
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		detail += ": " + strings.TrimSpace(e.Errors[0].Code+" "+e.Errors[0].Message)
	}
	return detail
}

func basicAuth(username, password string) string {
	r := http.Request{Header: http.Header{}}
	r.SetBasicAuth(username, password)
	return r.Header.Get("Authorization")
}

// parseChallenge parses a WWW-Authenticate value such as
// `Bearer realm="https://h/token",service="h",scope="repository:a/b:pull"`
// into its lower-case scheme and parameters. Only the first challenge is
// read; quoted values may contain commas and escaped quotes.
func parseChallenge(h string) (scheme string, params map[string]string) {
	params = map[string]string{}
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	scheme = strings.ToLower(scheme)
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return scheme, params
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return scheme, params
		}
		key := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var val string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			val = b.String()
			if i < len(rest) {
				i++
			}
			rest = rest[i:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			val, rest = rest[:end], rest[end:]
		}
		params[key] = val
	}
}
