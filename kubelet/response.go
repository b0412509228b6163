package kubelet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cpv1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	cpv1alpha1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1alpha1"
	cpv1beta1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"
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
	if resp.CacheDuration < 0 {
		resp.CacheDuration = 0
	}
	tm := metav1.TypeMeta{APIVersion: apiVersion, Kind: responseKind}
	dur := &metav1.Duration{Duration: resp.CacheDuration}
	var obj any
	switch apiVersion {
	case cpv1.SchemeGroupVersion.String():
		obj = &cpv1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: cpv1.RegistryPluginCacheKeyType, CacheDuration: dur,
			Auth: map[string]cpv1.AuthConfig{resp.Registry: {Username: resp.Username, Password: resp.Password}}}
	case cpv1beta1.SchemeGroupVersion.String():
		obj = &cpv1beta1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: cpv1beta1.RegistryPluginCacheKeyType, CacheDuration: dur,
			Auth: map[string]cpv1beta1.AuthConfig{resp.Registry: {Username: resp.Username, Password: resp.Password}}}
	case cpv1alpha1.SchemeGroupVersion.String():
		obj = &cpv1alpha1.CredentialProviderResponse{TypeMeta: tm, CacheKeyType: cpv1alpha1.RegistryPluginCacheKeyType, CacheDuration: dur,
			Auth: map[string]cpv1alpha1.AuthConfig{resp.Registry: {Username: resp.Username, Password: resp.Password}}}
	default:
		return nil, fmt.Errorf("unsupported apiVersion %q", apiVersion)
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
