// Package providerconfig is the tooling around the kubelet's
// CredentialProviderConfig (--image-credential-provider-config) that must
// agree with the kubelet: generating a config for this plugin
// (GenerateConfig) and validating one with the kubelet's own rules
// (ValidateConfigPath). The plugin runtime itself (request → answer) is
// package kubelet; nothing here runs at lookup time.
package providerconfig
