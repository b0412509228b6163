// Package kubelet is the kubelet CredentialProvider front end of the ocir
// token provider: it reads one CredentialProviderRequest, asks the core for
// an OCIR token and answers with one CredentialProviderResponse.
//
// The kubelet execs the plugin fresh for every lookup, gives it one minute,
// discards its stderr on success and decodes stdout strictly. Everything in
// this package is shaped by that: stdout is written once, in full, only after
// every decision has been made, and every failure is an error the caller
// turns into a reason on stderr and exit status 1.
//
// The tooling around the plugin's CredentialProviderConfig (generate,
// validate) is package kubelet/providerconfig; the command line is
// cmd/ocir-credential-provider.
package kubelet
