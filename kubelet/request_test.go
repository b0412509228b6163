package kubelet

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecodeRequest(t *testing.T) {
	const v1 = "credentialprovider.kubelet.k8s.io/v1"
	for _, tc := range []struct {
		name    string
		in      string
		want    Request
		wantErr string
	}{
		{name: "v1", in: request(v1, "iad.ocir.io/ns/app"), want: Request{APIVersion: v1, Image: "iad.ocir.io/ns/app"}},
		{name: "v1beta1", in: request("credentialprovider.kubelet.k8s.io/v1beta1", "iad.ocir.io/ns/app"),
			want: Request{APIVersion: "credentialprovider.kubelet.k8s.io/v1beta1", Image: "iad.ocir.io/ns/app"}},
		{name: "v1alpha1", in: request("credentialprovider.kubelet.k8s.io/v1alpha1", "iad.ocir.io/ns/app"),
			want: Request{APIVersion: "credentialprovider.kubelet.k8s.io/v1alpha1", Image: "iad.ocir.io/ns/app"}},
		{name: "v1 with service-account token",
			in:   `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"iad.ocir.io/ns/app","serviceAccountToken":"jwt","serviceAccountAnnotations":{"a/b":"c"}}`,
			want: Request{APIVersion: v1, Image: "iad.ocir.io/ns/app", ServiceAccountToken: "jwt", ServiceAccountAnnotations: map[string]string{"a/b": "c"}}},
		{name: "trailing newline and spaces", in: " " + request(v1, "iad.ocir.io/ns/app") + "\n", want: Request{APIVersion: v1, Image: "iad.ocir.io/ns/app"}},
		// A newer kubelet may add fields to a version (KEP-4412 added two to
		// v1): they are ignored, not a reason to leave the pull without
		// credentials.
		{name: "unknown field", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y","tag":"1"}`,
			want: Request{APIVersion: v1, Image: "x/y"}},
		{name: "unknown fields of every JSON type, before and after the known ones",
			in:   `{"futureObject":{"a":[1,{"b":null}]},"kind":"CredentialProviderRequest","futureList":[],"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"iad.ocir.io/ns/app","futureNumber":1.5,"futureBool":true,"futureNull":null}`,
			want: Request{APIVersion: v1, Image: "iad.ocir.io/ns/app"}},
		{name: "unknown field next to a service-account token",
			in:   `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"iad.ocir.io/ns/app","serviceAccountToken":"jwt","serviceAccountUID":"u-1"}`,
			want: Request{APIVersion: v1, Image: "iad.ocir.io/ns/app", ServiceAccountToken: "jwt"}},
		{name: "service-account token in v1beta1 is an unknown field, ignored",
			in:   `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"iad.ocir.io/ns/app","serviceAccountToken":"jwt"}`,
			want: Request{APIVersion: "credentialprovider.kubelet.k8s.io/v1beta1", Image: "iad.ocir.io/ns/app"}},
		{name: "wrong-case image is not the image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","Image":"x/y"}`, wantErr: "image is empty"},
		{name: "wrong-case kind", in: `{"Kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y"}`, wantErr: "spelled exactly"},
		{name: "wrong-case apiVersion", in: `{"kind":"CredentialProviderRequest","ApiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y"}`, wantErr: "spelled exactly"},
		// The kubelet's decoder reads the type with encoding/json, where a
		// key in another case also sets kind or apiVersion (the last one
		// wins), and then wants the exactly-spelled field to agree.
		{name: "second kind key in another case names another kind", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","KIND":"X"}`, wantErr: `kind is "X"`},
		{name: "second apiVersion key in another case names another version", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","APIVERSION":"credentialprovider.kubelet.k8s.io/v1beta1"}`, wantErr: "spelled exactly"},
		{name: "second apiVersion key in another case of the wrong type", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","ApiVersion":1}`, wantErr: "invalid CredentialProviderRequest"},
		{name: "key in another case before the exact one is overridden by it", in: `{"KIND":"X","kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b"}`,
			want: Request{APIVersion: v1, Image: "a/b"}},
		{name: "duplicate field", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y","image":"z/w"}`, wantErr: "duplicate field"},
		{name: "duplicate field among unknown ones", in: `{"kind":"CredentialProviderRequest","new":1,"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y","newer":2,"image":"z/w"}`, wantErr: "duplicate field"},
		{name: "known field of the wrong type", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y","serviceAccountAnnotations":["a"]}`, wantErr: "invalid CredentialProviderRequest"},
		{name: "malformed JSON", in: `{"kind":"CredentialProviderRequest",`, wantErr: "invalid CredentialProviderRequest"},
		{name: "not an object", in: `"iad.ocir.io"`, wantErr: "invalid CredentialProviderRequest"},
		{name: "YAML", in: "kind: CredentialProviderRequest\napiVersion: credentialprovider.kubelet.k8s.io/v1\nimage: x/y\n", wantErr: "invalid CredentialProviderRequest"},
		{name: "empty", in: "", wantErr: "no CredentialProviderRequest"},
		{name: "blank", in: " \n\t", wantErr: "no CredentialProviderRequest"},
		{name: "wrong kind", in: `{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry"}`, wantErr: "kind is"},
		{name: "unknown apiVersion", in: request("credentialprovider.kubelet.k8s.io/v2", "x/y"), wantErr: "invalid CredentialProviderRequest"},
		{name: "other group", in: request("example.com/v1", "x/y"), wantErr: "invalid CredentialProviderRequest"},
		{name: "missing apiVersion", in: `{"kind":"CredentialProviderRequest","image":"x/y"}`, wantErr: "invalid CredentialProviderRequest"},
		{name: "missing kind", in: `{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y"}`, wantErr: "invalid CredentialProviderRequest"},
		{name: "missing image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}`, wantErr: "image is empty"},
		{name: "numeric image", in: `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":1}`, wantErr: "invalid CredentialProviderRequest"},
		{name: "two documents", in: request(v1, "a/b") + request(v1, "c/d"), wantErr: "invalid CredentialProviderRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeRequest([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.APIVersion != tc.want.APIVersion || got.Image != tc.want.Image || got.ServiceAccountToken != tc.want.ServiceAccountToken ||
				!maps.Equal(got.ServiceAccountAnnotations, tc.want.ServiceAccountAnnotations) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestReadRequestLimitsInput(t *testing.T) {
	ok := request("credentialprovider.kubelet.k8s.io/v1", "iad.ocir.io/ns/app")
	pad := MaxRequestSize - len(ok)
	if _, err := ReadRequest(strings.NewReader(ok + strings.Repeat(" ", pad))); err != nil {
		t.Errorf("request of exactly %d bytes: %v", MaxRequestSize, err)
	}
	if _, err := ReadRequest(strings.NewReader(ok + strings.Repeat(" ", pad+1))); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("request of %d bytes: %v", MaxRequestSize+1, err)
	}
	// An endless stdin is cut off, not read to exhaustion.
	if _, err := ReadRequest(io.MultiReader(strings.NewReader(ok), zeros{})); err == nil {
		t.Error("endless stdin accepted")
	}
	if _, err := ReadRequest(iotest.ErrReader(errors.New("boom"))); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("read error: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(request("credentialprovider.kubelet.k8s.io/v1", "iad.ocir.io/ns/app")))
	f.Add([]byte(request("credentialprovider.kubelet.k8s.io/v1beta1", "ocir.us-ashburn-1.oci.oraclecloud.com/ns/app")))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","serviceAccountToken":"t","serviceAccountAnnotations":{"k":"v"}}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","image":"c"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","fromTheFuture":{"x":[1,2]}}`))
	f.Add([]byte(`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"a/b","serviceAccountToken":"t"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(data)
		if err != nil {
			return
		}
		// A field this version does not know changes nothing: what a newer
		// kubelet adds is ignored.
		const extra = "fuzzUnknownField"
		if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' && !bytes.Contains(data, []byte(extra)) {
			more := append([]byte(`{"`+extra+`":{"a":[1,null]},`), trimmed[1:]...)
			again, err := DecodeRequest(more)
			if err != nil || again.APIVersion != req.APIVersion || again.Image != req.Image || again.ServiceAccountToken != req.ServiceAccountToken {
				t.Fatalf("accepted %q as %+v but with an unknown field: %+v, %v", data, req, again, err)
			}
		}
		if req.Image == "" || !slices.Contains(PluginAPIVersions, req.APIVersion) {
			t.Fatalf("accepted %q as %+v", data, req)
		}
		if req.ServiceAccountToken != "" && req.APIVersion != "credentialprovider.kubelet.k8s.io/v1" {
			t.Fatalf("service-account token outside v1: %q", data)
		}
		// Whatever was accepted can be answered in its own version.
		out, err := EncodeResponse(req.APIVersion, Response{Registry: "iad.ocir.io", Username: "BEARER_TOKEN", Password: "p"})
		if err != nil || !bytes.HasSuffix(out, []byte("\n")) {
			t.Fatalf("cannot answer %+v: %v", req, err)
		}
	})
}
