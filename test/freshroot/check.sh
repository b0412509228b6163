#!/bin/sh
# check.sh ROOT A|B — the "fresh machine" check: run the README's two
# commands in a Debian 12 root that has only the base system, apt and Go.
#
#   A (network: Debian's packages and the Go module proxy): install git and
#     make, run `make demo`, run .ci/run's install steps, fetch every module
#     (so B can run offline);
#   B (no network at all): `.ci/run` whole, then list what it left outside
#     the checkout, then `make demo` again.
#
# Make ROOT once, as root, with Debian's debootstrap and the same mirror
# your apt sources name:
#   debootstrap --variant=minbase bookworm ROOT <mirror>
#   cp -a /usr/local/go ROOT/usr/local/
#   cp /usr/local/share/ca-certificates/* ROOT/usr/local/share/ca-certificates/ # a site proxy's CA, if any
#   git clone . ROOT/root/src
# then `test/freshroot/check.sh ROOT A && test/freshroot/check.sh ROOT B`.
#
# ROOT is bind-mounted onto itself, as a container's root is a mount point
# (the rootful podman/skopeo/buildah tests need that to keep their state in
# a private mount namespace); nothing is mounted outside this script's own
# private mount namespace.
set -eu
R=$(cd "$1" && pwd) phase=$2
inner=/root/phase-$phase.sh
case $phase in
A) cat >"$R$inner" <<'IN'
set -eux
cd /root/src
update-ca-certificates >/dev/null 2>&1 || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends make git ca-certificates >/dev/null
make demo
sed "/^make test$/d" .ci/run > .ci/run-install-only
bash .ci/run-install-only; rm .ci/run-install-only
go mod download
(cd test/kubelet && go mod download && go mod download -modfile=go.1.34.mod \
  && go list -mod=mod -deps -test ./... >/dev/null && go list -mod=mod -modfile=go.1.34.mod -deps -test ./... >/dev/null)
(cd tools/release && go mod download && go list -deps -test ./... >/dev/null)
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version
go list -deps -test ./... >/dev/null
IN
;;
B) cat >"$R$inner" <<'IN'
set -eu
cd /root/src
git log --oneline -1
time bash .ci/run
echo "== left outside the checkout by .ci/run:"
ls -d /var/lib/containers /run/containers 2>&1 || true
ls /etc/systemd/system/*.wants/ 2>&1 || true
git status --short
time make demo
IN
;;
*) echo "usage: $0 ROOT A|B" >&2; exit 2 ;;
esac
net= goenv=
if [ "$phase" = B ]; then
	net=-n
	goenv="GOPROXY=file:///root/go/pkg/mod/cache/download GOSUMDB=off GOTOOLCHAIN=local"
fi
exec unshare -m $net sh -c '
set -e
R=$1 inner=$2 net=$3 goenv=$4
[ -n "$net" ] && ip link set lo up
mount --make-rprivate /
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t tmpfs -o mode=1777 shm "$R/dev/shm"
mount -t tmpfs -o mode=0755 run "$R/run"
exec chroot "$R" /usr/bin/env -i HOME=/root TERM=dumb CI=true $goenv \
	PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash "$inner"
' check "$R" "$inner" "$net" "$goenv"
