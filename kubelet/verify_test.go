package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
)

// fakeRegistry is a loopback TLS registry with OCIR's bearer flow: /v2/
// answers 401 with a challenge whose realm is on the registry's own host,
// the realm trades BEARER_TOKEN:<token> for a registry token, and
// repositories can be told to refuse pulls.
type fakeRegistry struct {
	srv            *httptest.Server
	token          string          // the OCIR token the realm accepts
	denyPull       map[string]bool // repo → tags/list answers 403 even with a valid token
	denyExchange   map[string]bool // repo → the realm answers 403
	public         map[string]bool // repo → anonymous 200
	realmOverride  string          // challenge realm, when set
	realmHits      atomic.Int32
	tagsHits       atomic.Int32
	sawBasicOnTags atomic.Bool
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	r := &fakeRegistry{token: "ocir-token", denyPull: map[string]bool{}, denyExchange: map[string]bool{}, public: map[string]bool{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *fakeRegistry) host() string { return strings.TrimPrefix(r.srv.URL, "https://") }

func (r *fakeRegistry) serve(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.URL.Path == "/20180419/docker/token":
		r.realmHits.Add(1)
		user, pass, ok := req.BasicAuth()
		if !ok || user != ocir.Username || pass != r.token {
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
			return
		}
		repo := strings.TrimSuffix(strings.TrimPrefix(req.URL.Query().Get("scope"), "repository:"), ":pull")
		if r.denyExchange[repo] {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"Anonymous users are only allowed read access on public repos"}]}`, http.StatusForbidden)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"token": "reg:" + repo, "expires_in": 300})
	case strings.HasPrefix(req.URL.Path, "/v2/") && strings.HasSuffix(req.URL.Path, "/tags/list"):
		r.tagsHits.Add(1)
		repo := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/v2/"), "/tags/list")
		if strings.HasPrefix(req.Header.Get("Authorization"), "Basic") {
			r.sawBasicOnTags.Store(true)
		}
		if r.public[repo] {
			fmt.Fprintf(w, `{"name":%q,"tags":["latest"]}`, repo)
			return
		}
		if req.Header.Get("Authorization") != "Bearer reg:"+repo {
			realm := "https://" + r.host() + "/20180419/docker/token"
			if r.realmOverride != "" {
				realm = r.realmOverride
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service=%q,scope="repository:%s:pull"`, realm, r.host(), repo))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		if r.denyPull[repo] {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`, http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, `{"name":%q,"tags":["latest"]}`, repo)
	default:
		http.NotFound(w, req)
	}
}

func TestVerifyPull(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.denyPull["ns/nopolicy"] = true
	reg.denyExchange["ns/noexchange"] = true
	reg.public["ns/public"] = true

	other := newFakeRegistry(t) // a foreign realm must never see the token

	for _, tc := range []struct {
		name       string
		repo       string
		realm      string
		token      string
		wantDur    time.Duration
		wantStderr string
	}{
		{name: "allowed repository keeps the full cache duration", repo: "ns/app", wantDur: 45 * time.Minute},
		{name: "403 on pull shortens the cache duration", repo: "ns/nopolicy", wantDur: DeniedCacheDuration, wantStderr: "not effective yet"},
		{name: "403 at the token exchange shortens the cache duration", repo: "ns/noexchange", wantDur: DeniedCacheDuration, wantStderr: "Anonymous users"},
		{name: "rejected token shortens the cache duration", repo: "ns/app", token: "wrong", wantDur: DeniedCacheDuration, wantStderr: "refused"},
		{name: "public repository needs no exchange", repo: "ns/public", wantDur: 45 * time.Minute},
		{name: "foreign realm is not followed", repo: "ns/app", realm: other.srv.URL + "/20180419/docker/token", wantDur: 45 * time.Minute},
		{name: "plain-HTTP realm is not followed", repo: "ns/app", realm: "http://" + reg.host() + "/20180419/docker/token", wantDur: 45 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.realmOverride = tc.realm
			tok := token(reg.host(), now0, time.Hour)
			tok.Secret = reg.token
			if tc.token != "" {
				tok.Secret = tc.token
			}
			image := reg.host() + "/" + tc.repo
			var stderr bytes.Buffer
			p := &Plugin{
				Source:     &fakeSource{t: t, want: image, cred: tok},
				VerifyPull: true,
				HTTPClient: reg.srv.Client(),
				Now:        func() time.Time { return now0 },
				Stderr:     &stderr,
			}
			var stdout countingWriter
			if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", image)), &stdout); err != nil {
				t.Fatal(err)
			}
			_, _, dur, auth := decodeResponse(t, stdout.String())
			if dur == nil || *dur != tc.wantDur {
				t.Errorf("cacheDuration %v, want %v", dur, tc.wantDur)
			}
			if auth[reg.host()][1] != tok.Secret {
				t.Errorf("auth %v lacks the token", auth)
			}
			if tc.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.wantStderr)
			}
			if strings.Contains(stderr.String(), tok.Secret) {
				t.Errorf("stderr leaks the token")
			}
		})
	}
	if other.realmHits.Load() != 0 {
		t.Errorf("a foreign realm received %d token exchanges", other.realmHits.Load())
	}
	if reg.sawBasicOnTags.Load() {
		t.Error("basic credentials were sent to tags/list on a bearer registry")
	}
}

func TestVerifyPullNeverCostsTheCredentials(t *testing.T) {
	// Unreachable registry: the probe fails, the answer stands.
	image := "127.0.0.1:1/ns/app"
	cred := token("127.0.0.1:1", now0, time.Hour)
	p := &Plugin{Source: &fakeSource{t: t, want: image, cred: cred}, VerifyPull: true, Now: func() time.Time { return now0 }}
	var stdout bytes.Buffer
	if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1beta1", image)), &stdout); err != nil {
		t.Fatal(err)
	}
	if _, _, dur, _ := decodeResponse(t, stdout.String()); dur == nil || *dur != 45*time.Minute {
		t.Errorf("cacheDuration %v", dur)
	}
}

func TestVerifyPullNeverExtendsAShortDuration(t *testing.T) {
	reg := newFakeRegistry(t)
	reg.denyPull["ns/app"] = true
	image := reg.host() + "/ns/app"
	cred := token(reg.host(), now0, 6*time.Minute) // 1m of cache left
	cred.Secret = reg.token
	p := &Plugin{Source: &fakeSource{t: t, want: image, cred: cred}, VerifyPull: true, HTTPClient: reg.srv.Client(), Now: func() time.Time { return now0 }}
	var stdout bytes.Buffer
	if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", image)), &stdout); err != nil {
		t.Fatal(err)
	}
	if _, _, dur, _ := decodeResponse(t, stdout.String()); dur == nil || *dur != time.Minute {
		t.Errorf("cacheDuration %v, want 1m", dur)
	}
}

func TestParseChallenge(t *testing.T) {
	for _, tc := range []struct {
		in     string
		scheme string
		params map[string]string
	}{
		{`Bearer realm="https://iad.ocir.io/20180419/docker/token",service="iad.ocir.io",scope="repository:a/b:pull"`,
			"bearer", map[string]string{"realm": "https://iad.ocir.io/20180419/docker/token", "service": "iad.ocir.io", "scope": "repository:a/b:pull"}},
		{`Basic realm="x"`, "basic", map[string]string{"realm": "x"}},
		{`Bearer realm="a,b", scope="repository:x:pull,push"`, "bearer", map[string]string{"realm": "a,b", "scope": "repository:x:pull,push"}},
		{`Bearer realm="q\"uote"`, "bearer", map[string]string{"realm": `q"uote`}},
		{`Bearer realm=unquoted,service=s`, "bearer", map[string]string{"realm": "unquoted", "service": "s"}},
		{``, "", map[string]string{}},
		{`Bearer realm="unterminated`, "bearer", map[string]string{"realm": "unterminated"}},
		{`Bearer =x`, "bearer", map[string]string{}},
	} {
		scheme, params := parseChallenge(tc.in)
		if scheme != tc.scheme || fmt.Sprint(params) != fmt.Sprint(tc.params) {
			t.Errorf("parseChallenge(%q) = %q %v, want %q %v", tc.in, scheme, params, tc.scheme, tc.params)
		}
	}
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ image, host, repo string }{
		{"iad.ocir.io/ns/app", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io/ns/app:1.0", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io/ns/app@sha256:abc", "iad.ocir.io", "ns/app"},
		{"localhost:5000/ns/app", "localhost:5000", "ns/app"},
		{"iad.ocir.io", "iad.ocir.io", ""},
	} {
		h, r := splitImage(tc.image)
		if h != tc.host || r != tc.repo {
			t.Errorf("splitImage(%q) = %q %q", tc.image, h, r)
		}
	}
}
