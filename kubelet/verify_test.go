package kubelet

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// The registry probe itself is pullcheck.Check, tested in ocir/pullcheck
// (TestCheckPull) and end to end in test/kubelet; here only the plugin's
// decision on its verdict.

func TestVerifyPull(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pull       pullcheck.Result
		wantDur    time.Duration
		wantStderr string
	}{
		{name: "allowed keeps the full cache duration",
			pull: pullcheck.Result{Allowed: true, Status: 200, Detail: "pull allowed", Tags: 1}, wantDur: 45 * time.Minute},
		{name: "public repository keeps the full cache duration",
			pull: pullcheck.Result{Allowed: true, Anonymous: true, Status: 200, Detail: "public repository"}, wantDur: 45 * time.Minute},
		{name: "403 shortens the cache duration",
			pull:    pullcheck.Result{Denied: true, Status: 403, Detail: "authenticated request: 403 Forbidden: DENIED requested access to the resource is denied"},
			wantDur: DeniedCacheDuration, wantStderr: "requested access to the resource is denied"},
		{name: "401 shortens the cache duration",
			pull:    pullcheck.Result{Denied: true, Status: 401, Detail: "token exchange: 401 Unauthorized: UNAUTHORIZED bad credentials"},
			wantDur: DeniedCacheDuration, wantStderr: "not effective yet"},
		{name: "unreachable registry leaves the answer unchanged",
			pull: pullcheck.Result{Detail: "registry unreachable: connection refused"}, wantDur: 45 * time.Minute},
		{name: "server error leaves the answer unchanged",
			pull: pullcheck.Result{Status: 500, Detail: "anonymous request: 500 Internal Server Error"}, wantDur: 45 * time.Minute},
		{name: "foreign realm leaves the answer unchanged",
			pull: pullcheck.Result{Detail: "token realm evil.example is not on iad.ocir.io; not sending the OCIR token there"}, wantDur: 45 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			image := "iad.ocir.io/ns/app"
			tok := token("iad.ocir.io", now0, time.Hour)
			src := &fakeSource{t: t, want: image, cred: tok, pull: &tc.pull}
			var stderr bytes.Buffer
			p := &Plugin{Source: src, VerifyPull: true, Now: func() time.Time { return now0 }, Stderr: &stderr}
			var stdout countingWriter
			if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", image)), &stdout); err != nil {
				t.Fatal(err)
			}
			_, _, dur, auth := decodeResponse(t, stdout.String())
			if dur == nil || *dur != tc.wantDur {
				t.Errorf("cacheDuration %v, want %v", dur, tc.wantDur)
			}
			if auth["iad.ocir.io"][1] != tok.Secret {
				t.Errorf("auth %v lacks the token", auth)
			}
			if len(src.checked) != 1 || src.checked[0].repo != "ns/app" || src.checked[0].cred != tok {
				t.Errorf("CheckPull calls %+v, want one for ns/app with the issued credential", src.checked)
			}
			if tc.wantStderr == "" && stderr.Len() > 0 {
				t.Errorf("unexpected stderr %q", stderr.String())
			}
			if tc.wantStderr != "" {
				for _, want := range []string{tc.wantStderr, "refused to let this token pull ns/app", "cacheDuration 2m0s"} {
					if !strings.Contains(stderr.String(), want) {
						t.Errorf("stderr %q does not say %q", stderr.String(), want)
					}
				}
			}
			if strings.Contains(stderr.String(), tok.Secret) {
				t.Errorf("stderr leaks the token")
			}
		})
	}
}

func TestVerifyPullChecksTheCanonicalRegistry(t *testing.T) {
	// The auth key stays the host as written; the check goes to the
	// canonical host, also when the source left Registry empty.
	for _, registry := range []string{"iad.ocir.io", ""} {
		image := "IAD.ocir.io:443/ns/deep/app:1.0"
		cred := token("iad.ocir.io", now0, time.Hour)
		cred.Registry, cred.Username = registry, ""
		src := &fakeSource{t: t, want: image, cred: cred, pull: &pullcheck.Result{Allowed: true}}
		p := &Plugin{Source: src, VerifyPull: true, Now: func() time.Time { return now0 }}
		var stdout bytes.Buffer
		if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", image)), &stdout); err != nil {
			t.Fatal(err)
		}
		if len(src.checked) != 1 {
			t.Fatalf("CheckPull calls %+v", src.checked)
		}
		if c := src.checked[0]; c.repo != "ns/deep/app" || c.cred.Registry != "iad.ocir.io" || c.cred.Username != ocir.Username || c.cred.Secret != cred.Secret {
			t.Errorf("Registry %q: CheckPull(%+v, %q)", registry, c.cred, c.repo)
		}
		if _, _, _, auth := decodeResponse(t, stdout.String()); auth["IAD.ocir.io:443"][1] != cred.Secret {
			t.Errorf("auth %v", auth)
		}
	}
}

func TestVerifyPullOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		image  string
		verify bool
	}{
		{"flag off", "iad.ocir.io/ns/app", false},
		{"no repository", "iad.ocir.io", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &fakeSource{t: t, want: tc.image, cred: token("iad.ocir.io", now0, time.Hour)} // pull nil: CheckPull fails the test
			p := &Plugin{Source: src, VerifyPull: tc.verify, Now: func() time.Time { return now0 }}
			var stdout bytes.Buffer
			if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", tc.image)), &stdout); err != nil {
				t.Fatal(err)
			}
			if _, _, dur, _ := decodeResponse(t, stdout.String()); dur == nil || *dur != 45*time.Minute {
				t.Errorf("cacheDuration %v", dur)
			}
		})
	}
}

func TestVerifyPullNeverExtendsAShortDuration(t *testing.T) {
	image := "iad.ocir.io/ns/app"
	cred := token("iad.ocir.io", now0.Add(-14*time.Minute), 20*time.Minute) // 6m left, 5m margin: 1m of cache
	src := &fakeSource{t: t, want: image, cred: cred, pull: &pullcheck.Result{Denied: true, Status: 403, Detail: "denied"}}
	p := &Plugin{Source: src, VerifyPull: true, Now: func() time.Time { return now0 }}
	var stdout bytes.Buffer
	if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", image)), &stdout); err != nil {
		t.Fatal(err)
	}
	if _, _, dur, _ := decodeResponse(t, stdout.String()); dur == nil || *dur != time.Minute {
		t.Errorf("cacheDuration %v, want 1m", dur)
	}
}
