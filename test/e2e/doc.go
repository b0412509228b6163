// Package e2e proves docker-credential-ocir with the real clients that use
// it: the built binary is put on PATH, a docker config (or containers
// auth.json) gets credHelpers entries from its own configure-docker, and
// crane, skopeo, podman, buildah, the docker CLI and nerdctl pull from the
// real host names iad.ocir.io and ocir.us-ashburn-1.oci.oraclecloud.com,
// which the OCI emulator (package test/emulator) serves through its
// HTTPS proxy.
//
// Clients are found in $OCIR_E2E_BIN, then <repo>/.tmp/tools/bin (where
// `make tools`, i.e. install-clients.sh, puts crane, nerdctl and a docker
// CLI it had to install), then PATH. A missing client skips its test —
// `make test` lists the skips at the end — and with CI=true fails it.
package e2e
