// Package v1 is the wire form of kubelet.config.k8s.io/v1's
// CredentialProviderConfig: the fields, JSON names and Go type names of
// k8s.io/kubelet/config/v1, so that a decoding error names the field as
// the kubelet's own error does ("Go struct field
// CredentialProvider.providers.matchImages of type []string").
// providerconfig's TestWireStructsMatchThePublishedTypes holds it to the
// published package.
package v1

import "github.com/ocir-credential-helper/ocir-credential-helper/kubelet/internal/metaduration"

// CredentialProviderConfig is the config document; kind and apiVersion
// are read before it is decoded.
type CredentialProviderConfig struct {
	Kind       string               `json:"kind,omitempty"`
	APIVersion string               `json:"apiVersion,omitempty"`
	Providers  []CredentialProvider `json:"providers"`
}

// CredentialProvider is one exec plugin.
type CredentialProvider struct {
	Name                 string                         `json:"name"`
	MatchImages          []string                       `json:"matchImages"`
	DefaultCacheDuration *metaduration.Duration         `json:"defaultCacheDuration"`
	APIVersion           string                         `json:"apiVersion"`
	Args                 []string                       `json:"args,omitempty"`
	Env                  []ExecEnvVar                   `json:"env,omitempty"`
	TokenAttributes      *ServiceAccountTokenAttributes `json:"tokenAttributes,omitempty"`
}

// ExecEnvVar is one variable of the plugin's environment.
type ExecEnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ServiceAccountTokenAttributes asks the kubelet for the pod's service
// account token.
type ServiceAccountTokenAttributes struct {
	ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
	CacheType                            string   `json:"cacheType"`
	RequireServiceAccount                *bool    `json:"requireServiceAccount"`
	RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys,omitempty"`
	OptionalServiceAccountAnnotationKeys []string `json:"optionalServiceAccountAnnotationKeys,omitempty"`
}
