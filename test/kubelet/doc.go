// Package kubelet proves ocir-credential-provider against the kubelet's own
// credential-provider plugin runner (k8s.io/kubernetes/pkg/credentialprovider/plugin):
// the same config reading and validation, exec, strict response decoding,
// caching and keyring matching the kubelet uses, with no cluster.
//
// It is a separate module because k8s.io/kubernetes can only be required with
// a replace line per staging module (see genmod.sh). go.mod pins the newest
// release; go.1.34.mod, used with -modfile, pins 1.34.x. run.sh runs both.
package kubelet
