package kubelet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
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
	ca, err := os.ReadFile(emu.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	proxy, err := url.Parse(emu.ProxyURL())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(proxy), TLSClientConfig: &tls.Config{RootCAs: pool}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithTransport(tr),
		remote.WithAuth(&authn.Basic{Username: username, Password: password}))
	if err != nil {
		t.Fatalf("pull %s with the kubelet's credentials: %v", ref, err)
	}
	if desc.Digest.String() != emu.SeedDigest() {
		t.Errorf("digest %s, want the seeded %s", desc.Digest, emu.SeedDigest())
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
			withDeadline(t, time.Minute, func() { user, pass, ok = lookup(image) })
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
	tokens := emu.CountHost("token", "syd.ocir.io")
	before := execs(t, p)

	user, pass, ok := lookup("syd.ocir.io/demotenancy/hello")
	if !ok || user != "BEARER_TOKEN" {
		t.Fatalf("first lookup: %v %q", ok, user)
	}
	if got := execs(t, p) - before; got != 1 {
		t.Fatalf("first lookup ran the plugin %d times, want 1", got)
	}
	// cacheKeyType Registry: every repository of the host is answered from
	// the kubelet's cache, without running the plugin again.
	for _, repo := range []string{"demotenancy/other", "public/hello", "demotenancy/team/app"} {
		_, pass2, ok := lookup("syd.ocir.io/" + repo)
		if !ok || pass2 != pass {
			t.Errorf("%s: found %v, same token %v", repo, ok, pass2 == pass)
		}
	}
	if got := execs(t, p) - before; got != 1 {
		t.Errorf("plugin ran %d times for four repositories, want 1", got)
	}
	if got := emu.CountHost("token", "syd.ocir.io") - tokens; got != 1 {
		t.Errorf("%d token requests, want 1", got)
	}
	pullable(t, "syd.ocir.io/demotenancy/hello", user, pass)
}

func TestV1beta1Config(t *testing.T) {
	before := execs(t, "ocir-v1beta1")
	user, pass, ok := lookup("phx.ocir.io/demotenancy/hello")
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
		before[p.name] = execs(t, p.name)
	}
	for _, image := range []string{
		"docker.io/library/nginx",
		"registry.k8s.io/pause",
		"iad.ocir.io.example.com/demotenancy/hello",
		"ocir.io/demotenancy/hello",
		"iad.ocir.io:5000/demotenancy/hello",
	} {
		if _, _, ok := lookup(image); ok {
			t.Errorf("%s: credentials found", image)
		}
	}
	for _, p := range providers {
		if got := execs(t, p.name); got != before[p.name] {
			t.Errorf("provider %s ran for a non-OCIR image", p.name)
		}
	}
}

func TestParallelColdCacheMakesOneTokenRequest(t *testing.T) {
	const p, n = "ocir-parallel", 16
	tokens := emu.CountHost("token", "fra.ocir.io")
	attempts := emu.CountHost("token-attempts", "fra.ocir.io")
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
				_, passwords[i], found[i] = lookup(fmt.Sprintf("fra.ocir.io/demotenancy/app-%02d", i))
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
	if got := emu.CountHost("token", "fra.ocir.io") - tokens; got != 1 {
		t.Errorf("%d token requests for %d parallel plugin runs, want exactly 1", got, n)
	}
	if got := emu.CountHost("token-attempts", "fra.ocir.io") - attempts; got != 1 {
		t.Errorf("%d signed token attempts, want 1", got)
	}
}

func TestVerifyPullStillAnswersWhenThePolicyIsMissing(t *testing.T) {
	emu.DenyRepo("demotenancy/nopolicy")
	user, pass, ok := lookup("lhr.ocir.io/demotenancy/nopolicy")
	if !ok || user != "BEARER_TOKEN" || pass == "" {
		t.Fatalf("no credentials with --verify-pull on a denied repository: %v", ok)
	}
	// The allowed repository on the same host is served from the kubelet's
	// cache: the shortened duration is still a cache duration.
	if _, pass2, ok := lookup("lhr.ocir.io/demotenancy/hello"); !ok || pass2 != pass {
		t.Errorf("second repository: found %v", ok)
	}
	if strings.Contains(pass, "\n") {
		t.Error("token has a newline")
	}
}
