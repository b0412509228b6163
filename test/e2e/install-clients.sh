#!/bin/sh
# Installs the real clients the end-to-end suite (test/e2e) drives.
#
#   test/e2e/install-clients.sh [BIN_DIR]
#
# - Debian packages: skopeo, podman, buildah, containerd (and the docker CLI
#   from docker.io if no docker command exists). Only missing commands are
#   installed; apt-get update runs only when something is missing.
# - crane at the go-containerregistry version pinned in go.mod, and nerdctl
#   v1.7.7 (the last line buildable from the Go module proxy), built with
#   the Go toolchain into BIN_DIR (default: <repo>/.tmp/e2e-bin, where the
#   tests look first; OCIR_E2E_BIN overrides both). Rebuilt only when the
#   binary there does not report the pinned version.
#
# Idempotent; needs root for apt-get (skipped with a warning otherwise).
set -eu

NERDCTL_VERSION=v1.7.7

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=${1:-${OCIR_E2E_BIN:-$repo/.tmp/e2e-bin}}
mkdir -p "$bin_dir"
bin_dir=$(cd "$bin_dir" && pwd)

log() { printf 'install-clients: %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------
missing=""
for pair in skopeo:skopeo podman:podman buildah:buildah containerd:containerd docker:docker.io; do
	cmd=${pair%%:*}
	pkg=${pair#*:}
	if ! command -v "$cmd" >/dev/null 2>&1; then
		missing="$missing $pkg"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		log "not root: cannot install$missing"
	else
		log "installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086 # word splitting of the package list is intended
		apt-get install -y -qq $missing >/dev/null
	fi
else
	log "skopeo, podman, buildah, containerd and docker are installed"
fi

# --- Go-built clients -------------------------------------------------------
command -v go >/dev/null 2>&1 || { log "go is required to build crane and nerdctl"; exit 1; }

crane_version=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/google/go-containerregistry)
if "$bin_dir/crane" version 2>/dev/null | grep -qx -e "$crane_version" -e "${crane_version#v}"; then
	log "crane $crane_version already in $bin_dir"
else
	log "building crane $crane_version"
	if ! GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "github.com/google/go-containerregistry/cmd/crane@$crane_version"; then
		# go install module@version is refused for some modules; a scratch
		# module with the same pin builds the same code.
		scratch=$(mktemp -d)
		trap 'rm -rf "$scratch"' EXIT
		(
			cd "$scratch"
			go mod init scratch/crane >/dev/null 2>&1
			printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/google/go-containerregistry/cmd/crane"\n' >tools.go
			go mod edit -require="github.com/google/go-containerregistry@$crane_version"
			go mod tidy
			go build -trimpath -o "$bin_dir/crane" github.com/google/go-containerregistry/cmd/crane
		)
	fi
fi

if "$bin_dir/nerdctl" --version 2>/dev/null | grep -q "version ${NERDCTL_VERSION#v}\$"; then
	log "nerdctl $NERDCTL_VERSION already in $bin_dir"
else
	log "building nerdctl $NERDCTL_VERSION (takes a few minutes the first time)"
	# go install refuses nerdctl (the proxy does not list its versions), so
	# it is built from a scratch module requiring exactly that version.
	scratch_n=$(mktemp -d)
	(
		cd "$scratch_n"
		go mod init scratch/nerdctl >/dev/null 2>&1
		printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/containerd/nerdctl/cmd/nerdctl"\n' >tools.go
		go mod edit -require="github.com/containerd/nerdctl@$NERDCTL_VERSION"
		go mod tidy
		go build -trimpath -o "$bin_dir/nerdctl" github.com/containerd/nerdctl/cmd/nerdctl
	)
	rm -rf "$scratch_n"
fi

log "clients ready; crane and nerdctl in $bin_dir"
