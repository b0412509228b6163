#!/bin/sh
# run.sh — prove ocir-credential-provider against the kubelet's own plugin
# runner, once per pinned kubelet release: go.mod (the newest release) and
# go.1.34.mod (1.34.x, the first release with directory configs and
# service-account token mode on by default).
#
#   test/kubelet/run.sh            both releases
#   test/kubelet/run.sh go.1.34.mod  one of them
#
# OCIR_PROVIDER_BIN may name an already built plugin binary; otherwise it is
# built once here and shared by both runs. The first build of
# k8s.io/kubernetes takes minutes; Go's build cache makes later runs fast.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

if [ -z "${OCIR_PROVIDER_BIN:-}" ]; then
	echo "== building ocir-credential-provider"
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$tmp/ocir-credential-provider" ./cmd/ocir-credential-provider)
	OCIR_PROVIDER_BIN=$tmp/ocir-credential-provider
fi
export OCIR_PROVIDER_BIN

if [ "$#" -eq 0 ]; then
	set -- go.mod go.1.34.mod
fi

cd "$here"
for modfile in "$@"; do
	version=$(sed -n 's/^[[:space:]]*k8s\.io\/kubernetes \(v[0-9][0-9.]*\)$/\1/p' "$modfile")
	if [ -z "$version" ]; then
		echo "run.sh: $modfile does not require k8s.io/kubernetes" >&2
		exit 1
	fi
	echo "== kubelet $version ($modfile)"
	start=$(date +%s)
	# -mod=mod: the root module (replaced by ../..) may have gained
	# dependencies since go.sum was last tidied; record them instead of
	# failing on a missing checksum.
	go test -count=1 -timeout 15m -mod=mod -modfile="$modfile" ./...
	echo "== kubelet $version passed in $(($(date +%s) - start))s"
done
