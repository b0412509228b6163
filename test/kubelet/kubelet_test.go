package kubelet

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pullable proves a credential the kubelet got is one the registry takes:
// it fetches the seeded image's manifest with it, through the emulator's
// proxy, with the standard bearer exchange.
func pullable(t *testing.T, image, username, password string) {
	t.Helper()
	ref, err := name.ParseReference(image + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := h.Emulator.ClientTransport()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithTransport(tr),
		remote.WithAuth(&authn.Basic{Username: username, Password: password}))
	if err != nil {
		t.Fatalf("pull %s with the kubelet's credentials: %v", ref, err)
	}
	if desc.Digest.String() != h.Emulator.SeedDigest() {
		t.Errorf("digest %s, want the seeded %s", desc.Digest, h.Emulator.SeedDigest())
	}
}

func TestCredentialsForBothHostForms(t *testing.T) {
	for _, image := range []string{
		"iad.ocir.io/demotenancy/hello",
		"ocir.us-ashburn-1.oci.oraclecloud.com/demotenancy/hello",
	} {
		t.Run(image, func(t *testing.T) {
			var user, pass string
			var ok bool
			withDeadline(t, time.Minute, func() { user, pass, ok = Lookup(image) })
			if !ok {
				t.Fatalf("the kubelet found no credentials for %s", image)
			}
			if user != "BEARER_TOKEN" || pass == "" {
				t.Fatalf("credentials %q/%d bytes", user, len(pass))
			}
			pullable(t, image, user, pass)
		})
	}
}

func TestRegistryCachingAcrossRepositories(t *testing.T) {
	const p = "ocir-cache"
	tokens := h.Emulator.CountHost("token", "syd.ocir.io")
	before := execs(t, p)

	user, pass, ok := Lookup("syd.ocir.io/demotenancy/hello")
	if !ok || user != "BEARER_TOKEN" {
		t.Fatalf("first lookup: %v %q", ok, user)
	}
	if got := execs(t, p) - before; got != 1 {
		t.Fatalf("first lookup ran the plugin %d times, want 1", got)
	}
	// cacheKeyType Registry: every repository of the host is answered from
	// the kubelet's cache, without running the plugin again.
	for _, repo := range []string{"demotenancy/other", "public/hello", "demotenancy/team/app"} {
		_, pass2, ok := Lookup("syd.ocir.io/" + repo)
		if !ok || pass2 != pass {
			t.Errorf("%s: found %v, same token %v", repo, ok, pass2 == pass)
		}
	}
	if got := execs(t, p) - before; got != 1 {
		t.Errorf("plugin ran %d times for four repositories, want 1", got)
	}
	if got := h.Emulator.CountHost("token", "syd.ocir.io") - tokens; got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
	pullable(t, "syd.ocir.io/demotenancy/hello", user, pass)
}

func TestV1beta1Config(t *testing.T) {
	before := execs(t, "ocir-v1beta1")
	user, pass, ok := Lookup("phx.ocir.io/demotenancy/hello")
	if !ok {
		t.Fatal("no credentials through the v1beta1 provider")
	}
	if execs(t, "ocir-v1beta1")-before != 1 {
		t.Error("the v1beta1 provider did not run")
	}
	pullable(t, "phx.ocir.io/demotenancy/hello", user, pass)
}

func TestNonOCIRImageNotMatched(t *testing.T) {
	before := map[string]int{}
	for _, p := range providers {
		before[p.Name] = execs(t, p.Name)
	}
	for _, image := range []string{
		"docker.io/library/nginx",
		"registry.k8s.io/pause",
		"iad.ocir.io.example.com/demotenancy/hello",
		"ocir.io/demotenancy/hello",
		"iad.ocir.io:5000/demotenancy/hello",
	} {
		if _, _, ok := Lookup(image); ok {
			t.Errorf("%s: credentials found", image)
		}
	}
	for _, p := range providers {
		if got := execs(t, p.Name); got != before[p.Name] {
			t.Errorf("provider %s ran for a non-OCIR image", p.Name)
		}
	}
}

func TestParallelColdCacheMakesOneTokenRequest(t *testing.T) {
	const p, n = "ocir-parallel", 16
	tokens := h.Emulator.CountHost("token", "fra.ocir.io")
	attempts := h.Emulator.CountHost("token-attempts", "fra.ocir.io")
	before := execs(t, p)

	// Different repositories: the kubelet merges concurrent lookups only for
	// the same image, so this runs the plugin n times at once, as at node
	// boot.
	var wg sync.WaitGroup
	passwords := make([]string, n)
	found := make([]bool, n)
	withDeadline(t, 2*time.Minute, func() {
		for i := range n {
			wg.Go(func() {
				_, passwords[i], found[i] = Lookup(fmt.Sprintf("fra.ocir.io/demotenancy/app-%02d", i))
			})
		}
		wg.Wait()
	})
	for i := range n {
		if !found[i] || passwords[i] == "" {
			t.Errorf("lookup %d: no credentials", i)
		} else if passwords[i] != passwords[0] {
			t.Errorf("lookup %d got a different token", i)
		}
	}
	if got := execs(t, p) - before; got != n {
		t.Errorf("the kubelet ran the plugin %d times, want %d", got, n)
	}
	if got := h.Emulator.CountHost("token", "fra.ocir.io") - tokens; got != 1 {
		t.Errorf("%d token requests for %d parallel plugin runs, want exactly 1", got, n)
	}
	if got := h.Emulator.CountHost("token-attempts", "fra.ocir.io") - attempts; got != 1 {
		t.Errorf("%d signed token attempts, want 1", got)
	}
}

func TestVerifyPullShortensTheCacheWhenThePolicyIsMissing(t *testing.T) {
	h.Emulator.DenyRepo("demotenancy/nopolicy")
	user, pass, ok := Lookup("lhr.ocir.io/demotenancy/nopolicy")
	if !ok || user != "BEARER_TOKEN" || pass == "" {
		t.Fatalf("no credentials with --verify-pull on a denied repository: %v", ok)
	}
	responses, err := h.Responses("ocir-verify")
	if err != nil || len(responses) != 1 {
		t.Fatalf("responses %q, %v", responses, err)
	}
	if !strings.Contains(responses[0], `"cacheDuration":"2m0s"`) {
		t.Errorf("response to a denied pull: %s", redact(responses[0], pass))
	}
	// Within those two minutes the kubelet's cache answers for the host.
	if _, pass2, ok := Lookup("lhr.ocir.io/demotenancy/hello"); !ok || pass2 != pass {
		t.Errorf("second repository: found %v", ok)
	}
	if n := execs(t, "ocir-verify"); n != 1 {
		t.Errorf("plugin ran %d times, want 1", n)
	}
}

func TestResponsesCacheForTheTokenLifeMinusTheMargin(t *testing.T) {
	if _, _, ok := Lookup("iad.ocir.io/demotenancy/hello"); !ok {
		t.Fatal("no credentials")
	}
	responses, err := h.Responses("ocir-credential-provider")
	if err != nil || len(responses) == 0 {
		t.Fatalf("responses: %v", err)
	}
	for _, r := range responses {
		if !strings.Contains(r, `"cacheDuration":"45m0s"`) || !strings.Contains(r, `"cacheKeyType":"Registry"`) {
			t.Errorf("response %s", redact(r, ""))
		}
	}
}

// redact hides tokens in failure messages.
func redact(s, token string) string {
	if i := strings.Index(s, `"password":"`); i >= 0 {
		s = s[:i] + `"password":"<redacted>"}}}`
	}
	if token != "" {
		s = strings.ReplaceAll(s, token, "<token>")
	}
	return s
}

// TestServiceAccountMode is KEP-4412 end to end: the kubelet requests a
// token for the pod's service account, hands it to the plugin, and the
// plugin pulls with that workload's OKE identity; pods whose service
// account is not annotated get the node's credentials only.
func TestServiceAccountMode(t *testing.T) {
	const image = "ams.ocir.io/demotenancy/hello"
	issuedFor := func(password string) string {
		for _, tok := range h.Emulator.IssuedTokens() {
			if tok.Token == password {
				return tok.Kind + " " + tok.Principal
			}
		}
		return "unknown"
	}

	var creds []Credential
	withDeadline(t, time.Minute, func() { creds = LookupAs("team-a", "app", image) })
	if len(creds) != 2 {
		t.Fatalf("annotated service account: %d credentials, want the workload's and the node's", len(creds))
	}
	if got := issuedFor(creds[0].Password); !strings.HasPrefix(got, "oke_workload_identity ") || !strings.Contains(got, "team-a") {
		t.Errorf("first credential issued to %q, want team-a's workload identity", got)
	}
	if got := issuedFor(creds[1].Password); strings.HasPrefix(got, "oke_workload_identity") {
		t.Errorf("second credential issued to %q, want the node's identity", got)
	}
	if execs(t, "ocir-sa-workload") != 1 {
		t.Error("the service-account provider did not run once")
	}
	responses, _ := h.Responses("ocir-sa-workload")
	if len(responses) != 1 || !strings.Contains(responses[0], `"cacheKeyType":"Registry"`) {
		t.Errorf("responses %d", len(responses))
	}
	pullable(t, image, creds[0].Username, creds[0].Password)

	// Same service account, another repository: the kubelet's cache
	// (per service account, cacheType ServiceAccount) answers.
	if again := LookupAs("team-a", "app", "ams.ocir.io/demotenancy/other"); len(again) != 2 || again[0].Password != creds[0].Password {
		t.Errorf("second repository for team-a/app: %d credentials", len(again))
	}
	if execs(t, "ocir-sa-workload") != 1 {
		t.Error("the kubelet ran the plugin again for the same service account")
	}

	// Not annotated: the service-account entry is skipped silently.
	plain := LookupAs("team-b", "plain", image)
	if len(plain) != 1 || strings.HasPrefix(issuedFor(plain[0].Password), "oke_workload_identity") {
		t.Errorf("unannotated service account: %d credentials", len(plain))
	}
	if execs(t, "ocir-sa-workload") != 1 {
		t.Error("the service-account provider ran for an unannotated service account")
	}
}
