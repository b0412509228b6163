// Package v1alpha1 is the wire form of kubelet.config.k8s.io/v1alpha1's
// CredentialProviderConfig: the fields, JSON names and Go type names of
// k8s.io/kubelet/config/v1alpha1, so that a decoding error names the field as
// the kubelet's own error does. It is v1 without tokenAttributes, and a
// package of its own because the type's package name is part of some of
// those errors ("of type []v1alpha1.CredentialProvider"). providerconfig's
// TestWireStructsMatchThePublishedTypes holds it to the published package.
package v1alpha1

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
	Name                 string                 `json:"name"`
	MatchImages          []string               `json:"matchImages"`
	DefaultCacheDuration *metaduration.Duration `json:"defaultCacheDuration"`
	APIVersion           string                 `json:"apiVersion"`
	Args                 []string               `json:"args,omitempty"`
	Env                  []ExecEnvVar           `json:"env,omitempty"`
}

// ExecEnvVar is one variable of the plugin's environment.
type ExecEnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}
