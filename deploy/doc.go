// Package deploy holds what installs ocir-credential-provider on Kubernetes
// nodes: the node install script, the DaemonSet installer's manifests, an
// OKE node-pool cloud-init script and a kubeadm systemd drop-in. The files
// are embedded so the installer image builder (deploy/image) ships exactly
// what the tests in this directory check.
package deploy

import _ "embed"

// InstallScript is install.sh: installs or removes the plugin on a node.
//
//go:embed install.sh
var InstallScript []byte
