#!/bin/bash
# OKE node pool initialization script (cloud-init user data): installs
# ocir-credential-provider, then runs OKE's own node bootstrap with the two
# kubelet flags added, so the node pulls from OCIR with its instance
# principal from its first pod on.
#
# Paste it as the node pool's initialization script (Console: node pool,
# advanced options; Terraform: node_metadata.user_data, base64-encoded)
# after setting the four values below from the release you use: its
# download URL and the sha256 of each binary, as listed in its SHA256SUMS.
# The download is refused unless the checksum matches.
#
# The node's instances must be in a dynamic group allowed to read the
# repositories (docs/kubernetes.md, "IAM").
set -euo pipefail

: "${RELEASE_URL:=https://downloads.example/ocir-credential-provider/v0.0.0}"
: "${SHA256_AMD64:=0000000000000000000000000000000000000000000000000000000000000000}"
: "${SHA256_ARM64:=0000000000000000000000000000000000000000000000000000000000000000}"
# Extra `ocir-credential-provider config` flags, e.g. "--realm oc1,oc4 --verify-pull".
: "${CONFIG_FLAGS:=}"
# no: only install; something else runs OKE's bootstrap with the two flags
# (Karpenter Provider for OCI's preBootstrapInitScript, see docs/kubernetes.md).
: "${OKE_BOOTSTRAP:=yes}"

: "${BIN_DIR:=/usr/local/lib/ocir-credential-provider}"
: "${CONFIG_FILE:=/etc/kubernetes/ocir-credential-provider.yaml}"
# OKE's bootstrap script, from the instance metadata service.
: "${OKE_INIT_URL:=http://169.254.169.254/opc/v2/instance/metadata/oke_init_script}"
: "${OKE_INIT_SCRIPT:=/var/run/oke-init.sh}"

log() { echo "ocir-credential-provider cloud-init: $*"; }

case "$(uname -m)" in
x86_64 | amd64) arch=amd64 sum=$SHA256_AMD64 ;;
aarch64 | arm64) arch=arm64 sum=$SHA256_ARM64 ;;
*)
	echo "ocir-credential-provider cloud-init: unsupported machine $(uname -m)" >&2
	exit 1
	;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

log "downloading ocir-credential-provider-linux-$arch"
curl --fail --silent --show-error --location --retry 5 --retry-connrefused \
	--output "$tmp/ocir-credential-provider" "$RELEASE_URL/ocir-credential-provider-linux-$arch"
echo "$sum  $tmp/ocir-credential-provider" | sha256sum --check --strict --quiet
chmod 0755 "$tmp/ocir-credential-provider"

# The kubelet exits at start on an invalid config: check before installing.
# shellcheck disable=SC2086 # CONFIG_FLAGS is a list of flags
"$tmp/ocir-credential-provider" config $CONFIG_FLAGS >"$tmp/config.yaml"
# Service-account mode configs name the provider twice: one binary, the
# other names are links.
names=$("$tmp/ocir-credential-provider" validate-config --names "$tmp/config.yaml")
for n in $names; do
	[ "$n" = ocir-credential-provider ] || ln -sfn ocir-credential-provider "$tmp/$n"
done
"$tmp/ocir-credential-provider" validate-config --bin-dir "$tmp" "$tmp/config.yaml"

install -D -m 0755 "$tmp/ocir-credential-provider" "$BIN_DIR/ocir-credential-provider"
for n in $names; do
	[ "$n" = ocir-credential-provider ] || ln -sfn ocir-credential-provider "$BIN_DIR/$n"
done
install -D -m 0644 "$tmp/config.yaml" "$CONFIG_FILE"
log "installed $("$BIN_DIR/ocir-credential-provider" --version)"

if [ "$OKE_BOOTSTRAP" = no ]; then
	log "installed; the kubelet needs --image-credential-provider-config=$CONFIG_FILE --image-credential-provider-bin-dir=$BIN_DIR"
	exit 0
fi

log "running OKE's node bootstrap with the credential provider flags"
curl --fail --silent --show-error --location --retry 5 -H "Authorization: Bearer Oracle" "$OKE_INIT_URL" |
	base64 --decode >"$OKE_INIT_SCRIPT"
bash "$OKE_INIT_SCRIPT" --kubelet-extra-args \
	"--image-credential-provider-config=$CONFIG_FILE --image-credential-provider-bin-dir=$BIN_DIR"
