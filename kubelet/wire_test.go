package kubelet

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	cpv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	cpv1alpha1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1alpha1"
	cpv1beta1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/jsonshape"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/internal/metaduration"
)

// The plugin's wire structs stand in for the published types of
// k8s.io/kubelet so that the binary does not link the API machinery. These
// tests hold them to those types: the same bytes out, the same verdict on
// every request in.

func TestWireVersionsAreThePublishedOnes(t *testing.T) {
	for _, v := range []string{cpv1.SchemeGroupVersion.String(), cpv1beta1.SchemeGroupVersion.String(), cpv1alpha1.SchemeGroupVersion.String()} {
		if !strings.HasPrefix(v, APIGroup+"/") || !slices.Contains(PluginAPIVersions, v) {
			t.Errorf("published version %s is not among PluginAPIVersions %v", v, PluginAPIVersions)
		}
	}
	if len(PluginAPIVersions) != 3 || APIVersionV1 != cpv1.SchemeGroupVersion.String() {
		t.Errorf("PluginAPIVersions %v, APIVersionV1 %s", PluginAPIVersions, APIVersionV1)
	}
	if registryCacheKey != string(cpv1.RegistryPluginCacheKeyType) {
		t.Errorf("cacheKeyType %q, published %q", registryCacheKey, cpv1.RegistryPluginCacheKeyType)
	}
}

// A field added to a published type must be noticed here: the wire
// structs would otherwise ignore it as unknown.
func TestWireStructsHaveThePublishedFields(t *testing.T) {
	same := map[reflect.Type]string{reflect.TypeFor[metav1.Duration](): "duration-string", reflect.TypeFor[metaduration.Duration](): "duration-string"}
	for _, tc := range []struct {
		name            string
		published, wire reflect.Type
	}{
		{"v1 request", reflect.TypeFor[cpv1.CredentialProviderRequest](), reflect.TypeFor[requestV1]()},
		{"v1beta1 request", reflect.TypeFor[cpv1beta1.CredentialProviderRequest](), reflect.TypeFor[requestV1beta1]()},
		{"v1alpha1 request", reflect.TypeFor[cpv1alpha1.CredentialProviderRequest](), reflect.TypeFor[requestV1beta1]()},
		{"v1 response", reflect.TypeFor[cpv1.CredentialProviderResponse](), reflect.TypeFor[response]()},
		{"v1beta1 response", reflect.TypeFor[cpv1beta1.CredentialProviderResponse](), reflect.TypeFor[response]()},
		{"v1alpha1 response", reflect.TypeFor[cpv1alpha1.CredentialProviderResponse](), reflect.TypeFor[response]()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, w := jsonshape.Of(tc.published, same), jsonshape.Of(tc.wire, same)
			if p != w {
				t.Errorf("wire struct\n%s\npublished type\n%s", w, p)
			}
			if !strings.Contains(p, "apiVersion,omitempty:string") {
				t.Errorf("shape %s has no apiVersion: the comparison sees nothing", p)
			}
		})
	}
}

// publishedResponse encodes a response with the published types, the way
// EncodeResponse encodes its own.
func publishedResponse(t *testing.T, apiVersion string, r Response) []byte {
	t.Helper()
	tm := metav1.TypeMeta{APIVersion: apiVersion, Kind: responseKind}
	dur := &metav1.Duration{Duration: max(r.CacheDuration, 0)}
	var obj any
	switch apiVersion {
	case cpv1.SchemeGroupVersion.String():
		obj = &cpv1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: cpv1.RegistryPluginCacheKeyType, CacheDuration: dur,
			Auth: map[string]cpv1.AuthConfig{r.Registry: {Username: r.Username, Password: r.Password}}}
	case cpv1beta1.SchemeGroupVersion.String():
		obj = &cpv1beta1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: cpv1beta1.RegistryPluginCacheKeyType, CacheDuration: dur,
			Auth: map[string]cpv1beta1.AuthConfig{r.Registry: {Username: r.Username, Password: r.Password}}}
	case cpv1alpha1.SchemeGroupVersion.String():
		obj = &cpv1alpha1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: cpv1alpha1.RegistryPluginCacheKeyType, CacheDuration: dur,
			Auth: map[string]cpv1alpha1.AuthConfig{r.Registry: {Username: r.Username, Password: r.Password}}}
	default:
		t.Fatalf("no published type for %s", apiVersion)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestResponseIsByteForByteThePublishedTypesEncoding(t *testing.T) {
	for _, v := range PluginAPIVersions {
		for _, r := range []Response{
			{Registry: "iad.ocir.io", Username: "BEARER_TOKEN", Password: "eyJ.a-b_c", CacheDuration: 44 * time.Minute},
			{Registry: "ocir.us-ashburn-1.oci.oraclecloud.com", Username: "BEARER_TOKEN", Password: `p&<>"\u0026'\`, CacheDuration: time.Hour + 30*time.Minute + 5*time.Second},
			{Registry: "iad.ocir.io:5000", Username: "u", Password: "p", CacheDuration: 0},
			{Registry: "iad.ocir.io", Username: "u", Password: "p", CacheDuration: -time.Second},
			{Registry: "iad.ocir.io", Username: "u", Password: "p\x00\x7f\u2028é", CacheDuration: 1500 * time.Millisecond},
		} {
			got, err := EncodeResponse(v, r)
			if err != nil {
				t.Fatal(err)
			}
			if want := publishedResponse(t, v, r); !bytes.Equal(got, want) {
				t.Errorf("%s %+v:\n got %s\nwant %s", v, r, got, want)
			}
		}
	}
}

// kubeletDecodeRequest is DecodeRequest as written on the published types
// with the kubelet's strict serializer (the plugin's implementation before
// the wire structs), the reference the fuzz target compares with.
func kubeletDecodeRequest(data []byte) (Request, bool) {
	if len(bytes.TrimSpace(data)) == 0 || len(data) > MaxRequestSize {
		return Request{}, false
	}
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{cpv1.AddToScheme, cpv1beta1.AddToScheme, cpv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	dec := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Strict: true})
	obj, gvk, err := dec.Decode(data, nil, nil)
	if err != nil {
		serr, ok := runtime.AsStrictDecodingError(err)
		if !ok || obj == nil {
			return Request{}, false
		}
		for _, e := range serr.Errors() {
			if !strings.HasPrefix(e.Error(), `unknown field "`) {
				return Request{}, false
			}
		}
	}
	if gvk == nil || gvk.Kind != requestKind {
		return Request{}, false
	}
	var req Request
	var kind, version string
	switch o := obj.(type) {
	case *cpv1.CredentialProviderRequest:
		kind, version = o.Kind, o.APIVersion
		req = Request{Image: o.Image, ServiceAccountToken: o.ServiceAccountToken, ServiceAccountAnnotations: o.ServiceAccountAnnotations}
	case *cpv1beta1.CredentialProviderRequest:
		kind, version = o.Kind, o.APIVersion
		req = Request{Image: o.Image}
	case *cpv1alpha1.CredentialProviderRequest:
		kind, version = o.Kind, o.APIVersion
		req = Request{Image: o.Image}
	default:
		return Request{}, false
	}
	req.APIVersion = gvk.GroupVersion().String()
	if kind != requestKind || version != req.APIVersion || req.Image == "" {
		return Request{}, false
	}
	return req, true
}

func FuzzDecodeRequestAgreesWithThePublishedTypes(f *testing.F) {
	for _, s := range []string{
		request(APIVersionV1, "iad.ocir.io/ns/app"),
		request(apiVersionV1beta1, "iad.ocir.io/ns/app"),
		request(apiVersionV1alpha1, "iad.ocir.io/ns/app"),
		request(APIGroup+"/v2", "a/b"),
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","serviceAccountToken":"t","serviceAccountAnnotations":{"k":"v"}}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"a/b","serviceAccountToken":"t","serviceAccountAnnotations":1}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","image":"c"}`,
		`{"kind":"CredentialProviderRequest","kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b"}`,
		`{"Kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"x/y"}`,
		`{"kind":"CredentialProviderRequest","APIVERSION":"credentialprovider.kubelet.k8s.io/v1","image":"x/y"}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","Image":"x/y"}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","fromTheFuture":{"x":[1,2]}}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":null}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b","serviceAccountAnnotations":null}`,
		`{"kind":1,"apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b"}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b"} `,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"a/b"}{}`,
		`{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"\ud800"}`,
		`[]`, `null`, `{}`, `"x"`, "kind: CredentialProviderRequest\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantOK := kubeletDecodeRequest(data)
		got, err := DecodeRequest(data)
		if (err == nil) != wantOK {
			t.Fatalf("%q: DecodeRequest err = %v, the published types' decoder accepts: %v", data, err, wantOK)
		}
		if err == nil && (got.APIVersion != want.APIVersion || got.Image != want.Image || got.ServiceAccountToken != want.ServiceAccountToken ||
			!maps.Equal(got.ServiceAccountAnnotations, want.ServiceAccountAnnotations)) {
			t.Fatalf("%q: got %+v, the published types give %+v", data, got, want)
		}
	})
}
