package kubelet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/internal/metaduration"
)

// Response is the answer to one request, before it is encoded in the
// request's version.
type Response struct {
	// Registry is the auth key: the registry host exactly as it appears in
	// the requested image, so the kubelet's matcher finds it.
	Registry string
	// Username and Password are the credential for Registry.
	Username string
	Password string
	// CacheDuration is how long the kubelet may reuse the answer for every
	// image of Registry. Zero means "do not cache".
	CacheDuration time.Duration
}

// responseKind is the kind of every answer.
const responseKind = "CredentialProviderResponse"

// registryCacheKey is the cacheKeyType of every answer: an OCIR token is
// valid for every repository of its host.
const registryCacheKey = "Registry"

// The wire form of a response: the JSON of CredentialProviderResponse,
// identical in v1, v1beta1 and v1alpha1 (the tests compare it byte for byte
// with the published types' encoding).
type (
	response struct {
		typeMeta
		CacheKeyType  string                 `json:"cacheKeyType"`
		CacheDuration *metaduration.Duration `json:"cacheDuration,omitempty"`
		Auth          map[string]authConfig  `json:"auth,omitempty"`
	}
	authConfig struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
)

// EncodeResponse renders resp as the CredentialProviderResponse of
// apiVersion, followed by a newline. This is the only place the answer's
// shape is decided: cacheKeyType is always Registry (an OCIR token is valid
// for every repository of its host), the duration is a Go duration string.
func EncodeResponse(apiVersion string, resp Response) ([]byte, error) {
	if resp.Registry == "" || resp.Password == "" {
		// An empty auth map with a duration would be cached by the kubelet
		// as "no credentials"; refuse to produce one.
		return nil, fmt.Errorf("refusing to encode a response without credentials")
	}
	if !slices.Contains(PluginAPIVersions, apiVersion) {
		return nil, fmt.Errorf("unsupported apiVersion %q", apiVersion)
	}
	dur := metaduration.Duration(max(resp.CacheDuration, 0))
	obj := response{
		typeMeta:      typeMeta{Kind: responseKind, APIVersion: apiVersion},
		CacheKeyType:  registryCacheKey,
		CacheDuration: &dur,
		Auth:          map[string]authConfig{resp.Registry: {Username: resp.Username, Password: resp.Password}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Tokens are opaque; keep them byte-for-byte (no \u0026 escaping).
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return buf.Bytes(), nil
}
