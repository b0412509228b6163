#!/bin/sh
# Installs the real clients the end-to-end suite (test/e2e) drives.
#
#   test/e2e/install-clients.sh [BIN_DIR]
#
# - Debian packages: skopeo, podman, buildah, containerd — only those whose
#   command is missing (nothing present is upgraded), through .ci/apt-ensure:
#   root, or sudo, or one line saying what to install; the services they
#   ship are left disabled and stopped.
# - The docker CLI, if no docker command exists: only the CLI, taken out of
#   Debian's docker.io package into BIN_DIR (Debian 12 has no separate
#   docker-cli package; docker.io would also install and start dockerd,
#   containerd and runc, which the tests never use).
# - crane at the go-containerregistry version pinned in go.mod, and nerdctl
#   v1.7.7 (the last line buildable from the Go module proxy), built with
#   the Go toolchain into BIN_DIR. Rebuilt only when the binary there does
#   not report the pinned version.
#
# BIN_DIR defaults to <repo>/.tmp/tools/bin (what `make tools` uses, and
# where the tests look first; OCIR_E2E_BIN overrides both).
#
# Idempotent.
set -eu

NERDCTL_VERSION=v1.7.7

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin_dir=${1:-${OCIR_E2E_BIN:-$repo/.tmp/tools/bin}}
mkdir -p "$bin_dir"
bin_dir=$(cd "$bin_dir" && pwd)

log() { printf 'install-clients: %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------
"$repo/.ci/apt-ensure" skopeo:skopeo podman:podman buildah:buildah containerd:containerd

# --- docker CLI ------------------------------------------------------------
if PATH="$bin_dir:$PATH" command -v docker >/dev/null 2>&1; then
	log "docker CLI: $(PATH="$bin_dir:$PATH" command -v docker)"
else
	log "docker CLI: extracting /usr/bin/docker from Debian's docker.io package into $bin_dir"
	scratch_d=$(mktemp -d)
	if ! apt-cache show docker.io >/dev/null 2>&1; then
		if [ "$(id -u)" -eq 0 ]; then
			apt-get update -qq
		elif command -v sudo >/dev/null 2>&1; then
			sudo apt-get update -qq
		else
			log "no package lists and not root; as root run: apt-get update"
			exit 1
		fi
	fi
	sandbox=
	[ "$(id -u)" -ne 0 ] || sandbox="-o APT::Sandbox::User=root" # root: no _apt user needed for a download
	# shellcheck disable=SC2086 # empty or one option
	(cd "$scratch_d" && apt-get download -qq $sandbox docker.io)
	dpkg-deb --fsys-tarfile "$scratch_d"/docker.io_*.deb | tar -x -C "$scratch_d" ./usr/bin/docker
	install -m 0755 "$scratch_d/usr/bin/docker" "$bin_dir/docker"
	rm -rf "$scratch_d"
	log "docker CLI $("$bin_dir/docker" --version)"
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

log "clients ready in $bin_dir"
