package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	cpv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	cpv1alpha1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1alpha1"
	cpv1beta1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

var now0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func request(apiVersion, image string) string {
	return fmt.Sprintf(`{"kind":"CredentialProviderRequest","apiVersion":%q,"image":%q}`, apiVersion, image)
}

// decodeResponse decodes stdout the way the kubelet does: strictly, with
// the published types, and insists on exactly one JSON document.
func decodeResponse(t *testing.T, out string) (apiVersion string, cacheKeyType string, dur *time.Duration, auth map[string][2]string) {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{cpv1.AddToScheme, cpv1beta1.AddToScheme, cpv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	dec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Strict: true})
	obj, gvk, err := dec.Decode([]byte(out), nil, nil)
	if err != nil {
		t.Fatalf("kubelet-style strict decode of %q: %v", out, err)
	}
	if gvk.Kind != "CredentialProviderResponse" {
		t.Fatalf("kind %q", gvk.Kind)
	}
	if strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("response is not one line: %q", out)
	}
	auth = map[string][2]string{}
	switch o := obj.(type) {
	case *cpv1.CredentialProviderResponse:
		for k, v := range o.Auth {
			auth[k] = [2]string{v.Username, v.Password}
		}
		cacheKeyType = string(o.CacheKeyType)
		if o.CacheDuration != nil {
			dur = &o.CacheDuration.Duration
		}
	case *cpv1beta1.CredentialProviderResponse:
		for k, v := range o.Auth {
			auth[k] = [2]string{v.Username, v.Password}
		}
		cacheKeyType = string(o.CacheKeyType)
		if o.CacheDuration != nil {
			dur = &o.CacheDuration.Duration
		}
	case *cpv1alpha1.CredentialProviderResponse:
		for k, v := range o.Auth {
			auth[k] = [2]string{v.Username, v.Password}
		}
		cacheKeyType = string(o.CacheKeyType)
		if o.CacheDuration != nil {
			dur = &o.CacheDuration.Duration
		}
	default:
		t.Fatalf("unexpected %T", obj)
	}
	return gvk.GroupVersion().String(), cacheKeyType, dur, auth
}

func TestRunAnswersEveryAPIVersionInKind(t *testing.T) {
	for _, v := range []string{"credentialprovider.kubelet.k8s.io/v1", "credentialprovider.kubelet.k8s.io/v1beta1", "credentialprovider.kubelet.k8s.io/v1alpha1"} {
		t.Run(v, func(t *testing.T) {
			src := &fakeSource{t: t, want: "iad.ocir.io/demotenancy/hello", cred: token("iad.ocir.io", now0, time.Hour)}
			p := &Plugin{Source: src, Now: func() time.Time { return now0 }}
			var stdout countingWriter
			if err := p.Run(context.Background(), strings.NewReader(request(v, "iad.ocir.io/demotenancy/hello")), &stdout); err != nil {
				t.Fatal(err)
			}
			if stdout.writes != 1 {
				t.Errorf("stdout written %d times, want once", stdout.writes)
			}
			if !strings.Contains(stdout.String(), `"cacheDuration":"45m0s"`) {
				t.Errorf("cacheDuration is not the Go duration string 45m0s: %s", stdout.String())
			}
			gotV, keyType, dur, auth := decodeResponse(t, stdout.String())
			if gotV != v {
				t.Errorf("apiVersion %q, want the request's %q", gotV, v)
			}
			if keyType != "Registry" {
				t.Errorf("cacheKeyType %q, want Registry", keyType)
			}
			if dur == nil || *dur != 45*time.Minute {
				t.Errorf("cacheDuration %v, want 45m", dur)
			}
			want := map[string][2]string{"iad.ocir.io": {"BEARER_TOKEN", "tok-iad.ocir.io"}}
			if fmt.Sprint(auth) != fmt.Sprint(want) {
				t.Errorf("auth %v, want %v", auth, want)
			}
		})
	}
}

func TestRunKeysAuthByTheHostAsWrittenInTheImage(t *testing.T) {
	for _, tc := range []struct{ image, key, canonical string }{
		{"ocir.us-ashburn-1.oci.oraclecloud.com/ns/app", "ocir.us-ashburn-1.oci.oraclecloud.com", "ocir.us-ashburn-1.oci.oraclecloud.com"},
		{"IAD.ocir.io/ns/app", "IAD.ocir.io", "iad.ocir.io"},
		{"iad.ocir.io:443/ns/app", "iad.ocir.io:443", "iad.ocir.io"},
		{"iad.ocir.io/ns/deep/path/app", "iad.ocir.io", "iad.ocir.io"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			src := &fakeSource{t: t, want: tc.image, cred: token(tc.canonical, now0, time.Hour)}
			p := &Plugin{Source: src, Now: func() time.Time { return now0 }}
			var stdout bytes.Buffer
			if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", tc.image)), &stdout); err != nil {
				t.Fatal(err)
			}
			_, _, _, auth := decodeResponse(t, stdout.String())
			if _, ok := auth[tc.key]; !ok || len(auth) != 1 {
				t.Errorf("auth keys %v, want exactly %q", auth, tc.key)
			}
		})
	}
}

// TestRunAnswersARequestWithFieldsFromANewerKubelet: a kubelet newer than
// this plugin may send fields it does not know (KEP-4412 added two to v1);
// the pull must still get credentials.
func TestRunAnswersARequestWithFieldsFromANewerKubelet(t *testing.T) {
	src := &fakeSource{t: t, want: "iad.ocir.io/ns/app", cred: token("iad.ocir.io", now0, time.Hour)}
	p := &Plugin{Source: src, Now: func() time.Time { return now0 }}
	var stdout bytes.Buffer
	in := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"iad.ocir.io/ns/app","podUID":"u-1","futureOptions":{"a":[true]}}`
	if err := p.Run(context.Background(), strings.NewReader(in), &stdout); err != nil {
		t.Fatal(err)
	}
	if _, _, _, auth := decodeResponse(t, stdout.String()); auth["iad.ocir.io"][1] != "tok-iad.ocir.io" {
		t.Errorf("auth %v", auth)
	}
}

func TestRunFailsWithEmptyStdout(t *testing.T) {
	v1 := "credentialprovider.kubelet.k8s.io/v1"
	for _, tc := range []struct {
		name    string
		stdin   string
		src     *fakeSource
		wantErr string
		kind    error
	}{
		{name: "malformed JSON", stdin: `{"kind":`, src: &fakeSource{}, wantErr: "invalid CredentialProviderRequest"},
		{name: "empty stdin", stdin: "", src: &fakeSource{}, wantErr: "no CredentialProviderRequest"},
		{name: "duplicate field", stdin: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"iad.ocir.io/a/b","image":"iad.ocir.io/c/d"}`, src: &fakeSource{}, wantErr: "duplicate field"},
		{name: "oversize input", stdin: request(v1, "iad.ocir.io/"+strings.Repeat("a", MaxRequestSize)), src: &fakeSource{}, wantErr: "larger than"},
		{name: "non-OCIR image", stdin: request(v1, "docker.io/library/nginx"),
			src: &fakeSource{want: "docker.io/library/nginx", err: &ocir.Error{Kind: ocir.ErrNotOCIRHost, Registry: "docker.io"}}, wantErr: "image docker.io/library/nginx: not an OCIR registry host for docker.io", kind: ocir.ErrNotOCIRHost},
		{name: "control characters in the image are escaped", stdin: `{"kind":"CredentialProviderRequest","apiVersion":"` + v1 + `","image":"docker.io/x\n\u001b[31mX"}`,
			src:     &fakeSource{want: "docker.io/x\n\x1b[31mX", err: &ocir.Error{Kind: ocir.ErrNotOCIRHost, Registry: "docker.io"}},
			wantErr: `image "docker.io/x\n\x1b[31mX": not an OCIR registry host`, kind: ocir.ErrNotOCIRHost},
		{name: "a host with what a URL parser cuts off", stdin: request(v1, "iad.ocir.io?x/ns/app"), src: &fakeSource{},
			wantErr: `iad.ocir.io?x is not a registry host name`, kind: ocir.ErrNotOCIRHost},
		{name: "a host with a fragment", stdin: request(v1, "iad.ocir.io#/ns/app"), src: &fakeSource{},
			wantErr: `iad.ocir.io# is not a registry host name`, kind: ocir.ErrNotOCIRHost},
		{name: "no identity", stdin: request(v1, "iad.ocir.io/ns/app"),
			src: &fakeSource{want: "iad.ocir.io/ns/app", err: &ocir.Error{Kind: ocir.ErrNoIdentity, Registry: "iad.ocir.io"}}, wantErr: "provider config's env", kind: ocir.ErrNoIdentity},
		{name: "identity broken", stdin: request(v1, "iad.ocir.io/ns/app"),
			src: &fakeSource{want: "iad.ocir.io/ns/app", err: &ocir.Error{Kind: ocir.ErrIdentityBroken, Hint: "run oci session refresh"}}, wantErr: "oci session refresh", kind: ocir.ErrIdentityBroken},
		{name: "auth failure", stdin: request(v1, "iad.ocir.io/ns/app"),
			src: &fakeSource{want: "iad.ocir.io/ns/app", err: &ocir.Error{Kind: ocir.ErrAuth, RequestID: "req-1"}}, wantErr: "req-1", kind: ocir.ErrAuth},
		{name: "transient failure", stdin: request(v1, "iad.ocir.io/ns/app"),
			src: &fakeSource{want: "iad.ocir.io/ns/app", err: &ocir.Error{Kind: ocir.ErrTransient}}, kind: ocir.ErrTransient},
		{name: "expired token", stdin: request(v1, "iad.ocir.io/ns/app"),
			src: &fakeSource{want: "iad.ocir.io/ns/app", cred: token("iad.ocir.io", now0, -time.Second)}, wantErr: "expired"},
		{name: "token for another host", stdin: request(v1, "iad.ocir.io/ns/app"),
			src: &fakeSource{want: "iad.ocir.io/ns/app", cred: token("phx.ocir.io", now0, time.Hour)}, wantErr: "not iad.ocir.io"},
		{name: "empty token", stdin: request(v1, "iad.ocir.io/ns/app"),
			src: &fakeSource{want: "iad.ocir.io/ns/app", cred: ocir.Credential{Registry: "iad.ocir.io", ExpiresAt: now0.Add(time.Hour)}}, wantErr: "empty token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.src.t = t
			var stdout, stderr countingWriter
			p := &Plugin{Source: tc.src, Now: func() time.Time { return now0 }, Stderr: &stderr}
			err := p.Run(context.Background(), strings.NewReader(tc.stdin), &stdout)
			if err == nil {
				t.Fatal("Run succeeded, want an error")
			}
			if stdout.writes != 0 {
				t.Errorf("stdout written on failure: %q", stdout.String())
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
			if tc.kind != nil && !errors.Is(err, tc.kind) {
				t.Errorf("error %v does not match %v", err, tc.kind)
			}
			if strings.Contains(err.Error(), "tok-") {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestRunHandsTheServiceAccountTokenToTheCore(t *testing.T) {
	var gotToken string
	var gotAnn map[string]string
	withToken := func(jwt string, ann map[string]string) ocir.RequestOption {
		gotToken, gotAnn = jwt, ann
		return ocir.WithServiceAccountToken(jwt, ann)
	}

	src := &fakeSource{t: t, want: "iad.ocir.io/ns/app", cred: token("iad.ocir.io", now0, time.Hour)}
	p := &Plugin{Source: src, Now: func() time.Time { return now0 }, withServiceAccountToken: withToken}
	in := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"iad.ocir.io/ns/app",` +
		`"serviceAccountToken":"sa.jwt.sig","serviceAccountAnnotations":{"oci.oraclecloud.com/ocir-pull":"true"}}`
	var stdout bytes.Buffer
	if err := p.Run(context.Background(), strings.NewReader(in), &stdout); err != nil {
		t.Fatal(err)
	}
	if gotToken != "sa.jwt.sig" || gotAnn["oci.oraclecloud.com/ocir-pull"] != "true" {
		t.Errorf("core got token %q annotations %v", gotToken, gotAnn)
	}
	if len(src.optsLen) != 1 || src.optsLen[0] != 1 {
		t.Errorf("request options per call %v, want one option", src.optsLen)
	}
	if strings.Contains(stdout.String(), "sa.jwt.sig") {
		t.Error("the service-account token is echoed in the response")
	}

	// Without a token the process's own identity is used: no option.
	src2 := &fakeSource{t: t, want: "iad.ocir.io/ns/app", cred: token("iad.ocir.io", now0, time.Hour)}
	p.Source = src2
	if err := p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", "iad.ocir.io/ns/app")), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if src2.optsLen[0] != 0 {
		t.Errorf("options without a service-account token: %d", src2.optsLen[0])
	}
}

func TestRunBoundsTheLookupWithTheTimeout(t *testing.T) {
	for _, tc := range []struct {
		timeout, want time.Duration
	}{
		{0, MaxTimeout},
		{5 * time.Second, 5 * time.Second},
		{2 * time.Minute, MaxTimeout},
	} {
		var got time.Duration
		src := sourceFunc(func(ctx context.Context, _ string, _ ...ocir.RequestOption) (ocir.Credential, error) {
			d, _ := ctx.Deadline()
			got = time.Until(d)
			return ocir.Credential{}, ocir.ErrTransient
		})
		p := &Plugin{Source: src, Timeout: tc.timeout}
		_ = p.Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", "iad.ocir.io/a/b")), &bytes.Buffer{})
		if got > tc.want || got < tc.want-5*time.Second {
			t.Errorf("timeout %v: deadline in %v, want about %v", tc.timeout, got, tc.want)
		}
	}
}

type sourceFunc func(ctx context.Context, serverURL string, opts ...ocir.RequestOption) (ocir.Credential, error)

func (f sourceFunc) Credential(ctx context.Context, serverURL string, opts ...ocir.RequestOption) (ocir.Credential, error) {
	return f(ctx, serverURL, opts...)
}

func (f sourceFunc) CheckPull(context.Context, ocir.Credential, string) pullcheck.Result {
	return pullcheck.Result{Detail: "sourceFunc does not check pulls"}
}

func TestRunTurnsAPanicIntoAnErrorWithEmptyStdout(t *testing.T) {
	src := sourceFunc(func(context.Context, string, ...ocir.RequestOption) (ocir.Credential, error) { panic("boom") })
	var stdout countingWriter
	err := (&Plugin{Source: src}).Run(context.Background(), strings.NewReader(request("credentialprovider.kubelet.k8s.io/v1", "iad.ocir.io/a/b")), &stdout)
	if err == nil || !strings.Contains(err.Error(), "boom") || stdout.writes != 0 {
		t.Errorf("err %v, stdout %q", err, stdout.String())
	}
}

func TestCacheDuration(t *testing.T) {
	for _, tc := range []struct {
		name string
		age  time.Duration // how long ago the token was issued; <0: IssuedAt unknown (zero)
		life time.Duration // the token's lifetime, from issue to expiry
		want string
	}{
		{"fresh 1h token", 0, time.Hour, "45m0s"},
		{"1h token issued 300ms ago", 300 * time.Millisecond, time.Hour, "45m0s"},
		{"1h token 30 min old", 30 * time.Minute, time.Hour, "15m0s"},
		{"1h token 50 min old", 50 * time.Minute, time.Hour, "0s"},
		{"fresh 20m token", 0, 20 * time.Minute, "15m0s"},
		{"fresh 60s token (no expires_in): margin capped at half the lifetime", 0, time.Minute, "30s"},
		{"60s token 40s old", 40 * time.Second, time.Minute, "0s"},
		{"expired", 2 * time.Hour, time.Hour, "0s"},
		{"expiring now", time.Hour, time.Hour, "0s"},
		{"zero IssuedAt: 1h left", -1, time.Hour, "45m0s"},
		{"zero IssuedAt: 10m left", -1, 10 * time.Minute, "5m0s"},
		{"zero IssuedAt: 60s left", -1, time.Minute, "30s"},
		{"zero IssuedAt: expired", -1, -time.Minute, "0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var issued time.Time
			expires := now0.Add(tc.life)
			if tc.age >= 0 {
				issued = now0.Add(-tc.age)
				expires = issued.Add(tc.life)
			}
			got := CacheDuration(now0, issued, expires)
			if got.String() != tc.want {
				t.Errorf("CacheDuration = %s, want %s", got, tc.want)
			}
			if got < 0 || got%time.Second != 0 {
				t.Errorf("CacheDuration = %v: negative or not whole seconds", got)
			}
		})
	}
}

func TestEncodeResponseRefusesEmptyCredentials(t *testing.T) {
	if _, err := EncodeResponse("credentialprovider.kubelet.k8s.io/v1", Response{Registry: "iad.ocir.io", CacheDuration: time.Hour}); err == nil {
		t.Error("encoded a response without a password")
	}
	if _, err := EncodeResponse("credentialprovider.kubelet.k8s.io/v2", Response{Registry: "a", Password: "b"}); err == nil {
		t.Error("encoded an unknown apiVersion")
	}
	out, err := EncodeResponse("credentialprovider.kubelet.k8s.io/v1", Response{Registry: "iad.ocir.io", Username: "BEARER_TOKEN", Password: "a&b<c>", CacheDuration: -time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	if m["cacheDuration"] != "0s" || !bytes.Contains(out, []byte("a&b<c>")) {
		t.Errorf("got %s", out)
	}
}
