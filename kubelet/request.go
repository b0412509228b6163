package kubelet

import (
	"bytes"
	"errors"
	"fmt"
	"io"

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

// requestDecoder is the same strict JSON serializer the kubelet decodes
// plugin responses with: unknown or duplicate fields and wrong-case names are
// errors, YAML is not accepted.
var requestDecoder = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, requestScheme, requestScheme,
	kjson.SerializerOptions{Strict: true})

// ReadRequest reads and strictly decodes one request from r. Input larger
// than MaxRequestSize is rejected without being decoded.
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

// DecodeRequest strictly decodes a CredentialProviderRequest of version v1,
// v1beta1 or v1alpha1.
func DecodeRequest(data []byte) (Request, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Request{}, errEmptyRequest
	}
	if len(data) > MaxRequestSize {
		return Request{}, fmt.Errorf("request is larger than %d bytes", MaxRequestSize)
	}
	// The strict serializer reports unknown fields as an error alongside a
	// fully decoded object; any error at all rejects the request.
	obj, gvk, err := requestDecoder.Decode(data, nil, nil)
	if err != nil {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: %w", err)
	}
	if gvk == nil || gvk.Kind != requestKind {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: kind is %q, want %q", kindOf(gvk), requestKind)
	}
	var req Request
	switch o := obj.(type) {
	case *cpv1.CredentialProviderRequest:
		req = Request{Image: o.Image, ServiceAccountToken: o.ServiceAccountToken, ServiceAccountAnnotations: o.ServiceAccountAnnotations}
	case *cpv1beta1.CredentialProviderRequest:
		req = Request{Image: o.Image}
	case *cpv1alpha1.CredentialProviderRequest:
		req = Request{Image: o.Image}
	default:
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: unexpected type %T", obj)
	}
	req.APIVersion = gvk.GroupVersion().String()
	if req.Image == "" {
		return Request{}, errors.New("invalid CredentialProviderRequest: image is empty")
	}
	return req, nil
}

func kindOf(gvk *schema.GroupVersionKind) string {
	if gvk == nil {
		return ""
	}
	return gvk.Kind
}
