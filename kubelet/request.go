package kubelet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	cpv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	cpv1alpha1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1alpha1"
	cpv1beta1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"
)

// MaxRequestSize bounds what is read from stdin. A real request is a few
// hundred bytes (a few KiB with a service-account token); anything near this
// size is not from the kubelet.
const MaxRequestSize = 1 << 20

// Request is a CredentialProviderRequest of any supported version.
type Request struct {
	// APIVersion is echoed in the response; the kubelet rejects any other.
	APIVersion string
	// Image is the image being pulled, without tag or digest.
	Image string
	// ServiceAccountToken and ServiceAccountAnnotations are only sent in
	// v1 when the provider config has tokenAttributes (KEP-4412).
	ServiceAccountToken       string
	ServiceAccountAnnotations map[string]string
}

// requestKind is the only kind the plugin accepts on stdin.
const requestKind = "CredentialProviderRequest"

// PluginAPIVersions are the CredentialProviderRequest versions the plugin
// answers, and so the ones a provider config may name in its apiVersion.
var PluginAPIVersions = []string{
	cpv1.SchemeGroupVersion.String(),
	cpv1alpha1.SchemeGroupVersion.String(),
	cpv1beta1.SchemeGroupVersion.String(),
}

// requestScheme knows the three request versions and nothing else, so an
// unknown apiVersion or kind fails in the decoder with the decoder's message.
var requestScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{cpv1.AddToScheme, cpv1beta1.AddToScheme, cpv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			// Registration of compiled-in types cannot fail at run time;
			// reaching this is a programming error caught by every test.
			panic(fmt.Sprintf("register credential provider types: %v", err))
		}
	}
	return s
}()

// requestDecoder is the strict JSON serializer the kubelet decodes plugin
// responses with. It reports unknown and duplicate fields as strict errors
// alongside a fully decoded object; DecodeRequest tolerates the unknown ones
// (see there) and rejects everything else. YAML is not accepted.
var requestDecoder = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, requestScheme, requestScheme,
	kjson.SerializerOptions{Strict: true})

// ReadRequest reads and decodes one request from r. Input larger than
// MaxRequestSize is rejected without being decoded.
func ReadRequest(r io.Reader) (Request, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRequestSize+1))
	if err != nil {
		return Request{}, fmt.Errorf("read request from stdin: %w", err)
	}
	if len(data) > MaxRequestSize {
		return Request{}, fmt.Errorf("request on stdin is larger than %d bytes", MaxRequestSize)
	}
	return DecodeRequest(data)
}

// errEmptyRequest is returned for empty stdin, the usual result of running
// the binary by hand without a request.
var errEmptyRequest = errors.New("no CredentialProviderRequest on stdin (this binary is run by the kubelet; see --help)")

// DecodeRequest decodes a CredentialProviderRequest of version v1, v1beta1
// or v1alpha1.
//
// Unknown fields are ignored: a newer kubelet may add fields to a request
// version, as KEP-4412 added serviceAccountToken and
// serviceAccountAnnotations to v1, and an older plugin must keep answering
// it. Everything else is strict: the input must be one JSON object with
// exactly-spelled kind and apiVersion naming a known request version, a
// string image that is not empty, known fields of the right type, and no
// field given twice.
func DecodeRequest(data []byte) (Request, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Request{}, errEmptyRequest
	}
	if len(data) > MaxRequestSize {
		return Request{}, fmt.Errorf("request is larger than %d bytes", MaxRequestSize)
	}
	obj, gvk, err := requestDecoder.Decode(data, nil, nil)
	if err != nil {
		if serr, ok := runtime.AsStrictDecodingError(err); ok && obj != nil {
			err = nil
			for _, e := range serr.Errors() {
				if !isUnknownField(e) {
					err = e
					break
				}
			}
		}
		if err != nil {
			return Request{}, fmt.Errorf("invalid CredentialProviderRequest: %w", err)
		}
	}
	if gvk == nil || gvk.Kind != requestKind {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: kind is %q, want %q", kindOf(gvk), requestKind)
	}
	// The version was found case-insensitively (encoding/json); the typed
	// object holds what was spelled exactly.
	var req Request
	var tm typeMeta
	switch o := obj.(type) {
	case *cpv1.CredentialProviderRequest:
		tm = typeMeta{o.Kind, o.APIVersion}
		req = Request{Image: o.Image, ServiceAccountToken: o.ServiceAccountToken, ServiceAccountAnnotations: o.ServiceAccountAnnotations}
	case *cpv1beta1.CredentialProviderRequest:
		tm = typeMeta{o.Kind, o.APIVersion}
		req = Request{Image: o.Image}
	case *cpv1alpha1.CredentialProviderRequest:
		tm = typeMeta{o.Kind, o.APIVersion}
		req = Request{Image: o.Image}
	default:
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: unexpected type %T", obj)
	}
	req.APIVersion = gvk.GroupVersion().String()
	if tm.kind != requestKind || tm.apiVersion != req.APIVersion {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: want the fields \"kind\": %q and \"apiVersion\": %q, spelled exactly", requestKind, req.APIVersion)
	}
	if req.Image == "" {
		return Request{}, errors.New("invalid CredentialProviderRequest: image is empty")
	}
	return req, nil
}

// typeMeta is the kind and apiVersion as decoded into the typed
// object, that is, spelled exactly.
type typeMeta struct{ kind, apiVersion string }

// isUnknownField tells a strict-decoding error about a field the request
// type does not have (tolerated) from the others, such as a duplicate field
// (rejected). sigs.k8s.io/json does not export the error's type; its message
// is `unknown field "NAME"`, and TestDecodeRequest pins that.
func isUnknownField(err error) bool {
	return strings.HasPrefix(err.Error(), `unknown field "`)
}

func kindOf(gvk *schema.GroupVersionKind) string {
	if gvk == nil {
		return ""
	}
	return gvk.Kind
}
