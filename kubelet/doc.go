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
// Because the plugin starts once per pull, requests and responses go through
// small wire structs decoded with sigs.k8s.io/json (what the kubelet's own
// strict serializer uses underneath), not through the published
// k8s.io/kubelet types: those link the Kubernetes API machinery, about 80
// packages whose initialisers would run at every exec. The tests hold the
// wire structs to the published types byte for byte, and a fuzz target
// holds DecodeRequest to the kubelet's serializer verdict for verdict.
//
// The tooling around the plugin's CredentialProviderConfig (generate,
// validate) is package kubelet/providerconfig; the command line is
// cmd/ocir-credential-provider.
package kubelet
