package kubelet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	sjson "sigs.k8s.io/json"
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
	// ServiceAccountToken is the pod's service-account token; only v1
	// requests carry it, and only when the provider config has
	// tokenAttributes (KEP-4412).
	ServiceAccountToken string
	// ServiceAccountAnnotations are the annotations of the pod's service
	// account that the provider config asks for (v1, KEP-4412).
	ServiceAccountAnnotations map[string]string
}

// The credential provider API: group credentialprovider.kubelet.k8s.io,
// versions v1, v1beta1 and v1alpha1 (k8s.io/kubelet/pkg/apis/credentialprovider).
const (
	// APIGroup is the API group of requests and responses.
	APIGroup = "credentialprovider.kubelet.k8s.io"
	// APIVersionV1 is the only version with service-account tokens.
	APIVersionV1       = APIGroup + "/v1"
	apiVersionV1beta1  = APIGroup + "/v1beta1"
	apiVersionV1alpha1 = APIGroup + "/v1alpha1"
)

// requestKind is the only kind the plugin accepts on stdin.
const requestKind = "CredentialProviderRequest"

// PluginAPIVersions are the CredentialProviderRequest versions the plugin
// answers, and so the ones a provider config may name in its apiVersion.
var PluginAPIVersions = []string{APIVersionV1, apiVersionV1alpha1, apiVersionV1beta1}

// The wire forms of a request. They are the JSON of the published types in
// k8s.io/kubelet/pkg/apis/credentialprovider, field for field (the tests
// hold them to those types), decoded here without linking the Kubernetes
// API machinery: the kubelet execs the plugin for every pull, and the ~80
// packages behind those types cost more at each start than answering from
// the cache does.
type (
	typeMeta struct {
		Kind       string `json:"kind,omitempty"`
		APIVersion string `json:"apiVersion,omitempty"`
	}
	requestV1 struct {
		typeMeta
		Image                     string            `json:"image"`
		ServiceAccountToken       string            `json:"serviceAccountToken,omitempty"`
		ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
	}
	// requestV1beta1 is also the v1alpha1 request: both have only an image.
	requestV1beta1 struct {
		typeMeta
		Image string `json:"image"`
	}
)

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
// or v1alpha1, as strictly as the kubelet's own decoder would (the same
// sigs.k8s.io/json decoding: field names are case-sensitive, a field given
// twice is an error).
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
	// The kubelet's decoder picks the type from kind and apiVersion read
	// with encoding/json, where a key in any letter case sets the field
	// and the last one wins, and then fills the object case-sensitively.
	// Both readings must name the same type, spelled exactly.
	var loose typeMeta
	if err := json.Unmarshal(data, &loose); err != nil {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: %w", err)
	}
	if loose.Kind != requestKind {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: kind is %q, want %q", loose.Kind, requestKind)
	}
	if !slices.Contains(PluginAPIVersions, loose.APIVersion) {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: apiVersion %q is not one of %s", loose.APIVersion, strings.Join(sortedVersions(), ", "))
	}
	var exact typeMeta
	var req Request
	var err error
	if loose.APIVersion == APIVersionV1 {
		var w requestV1
		err = decodeStrict(data, &w)
		exact, req = w.typeMeta, Request{Image: w.Image, ServiceAccountToken: w.ServiceAccountToken, ServiceAccountAnnotations: w.ServiceAccountAnnotations}
	} else { // v1beta1 and v1alpha1 requests have only an image
		var w requestV1beta1
		err = decodeStrict(data, &w)
		exact, req = w.typeMeta, Request{Image: w.Image}
	}
	if err != nil {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: %w", err)
	}
	if exact != loose {
		return Request{}, fmt.Errorf("invalid CredentialProviderRequest: want the fields \"kind\": %q and \"apiVersion\": %q, spelled exactly (a key in another letter case sets them too)", requestKind, loose.APIVersion)
	}
	req.APIVersion = loose.APIVersion
	if req.Image == "" {
		return Request{}, errors.New("invalid CredentialProviderRequest: image is empty")
	}
	return req, nil
}

// decodeStrict decodes one request version. Unknown fields are tolerated
// (see DecodeRequest), a duplicate field is not.
func decodeStrict(data []byte, v any) error {
	strict, err := sjson.UnmarshalStrict(data, v, sjson.DisallowDuplicateFields)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return strict[0]
	}
	return nil
}

func sortedVersions() []string {
	v := slices.Clone(PluginAPIVersions)
	slices.Sort(v)
	return v
}
