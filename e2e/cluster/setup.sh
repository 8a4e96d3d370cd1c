#!/usr/bin/env bash
# setup.sh BINDIR
#
# Puts into BINDIR (the Makefile passes ./bin) everything the cluster suite
# (e2e/clusterloop) and `digestpin demo --cluster` run, building only what
# is missing:
#
#   etcd, kube-apiserver, kube-controller-manager
#       built by build.sh from this directory's go.mod into
#       ~/.cache/digestpin/k8s-<version>/bin (about 7 minutes the first time);
#   argocd
#       Argo CD's one binary (ARGOCD_BINARY_NAME picks the component), built
#       from the argo-cd module e2e/go.mod requires, into
#       ~/.cache/digestpin/argocd-<version>-<go version>/ (about 3 minutes
#       the first time);
#   redis-server
#       Debian's package, installed with apt-get when missing (Argo CD's
#       cache). Without root, it says what to install instead;
#   argocd-crds
#       a link to the argo-cd module's manifests/crds;
#   digestpin, digestpin-verify, digestpin-cluster-demo
#       built from this checkout (`bin/digestpin demo --cluster` runs the
#       last, which starts all of the above).
#
# Each is linked or built into BINDIR; a second run takes seconds.
set -euo pipefail

bindir=${1:?usage: setup.sh BINDIR}
mkdir -p "$bindir"
bindir=$(cd "$bindir" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
e2e=$(cd "$here/.." && pwd)
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
cacheroot=${DIGESTPIN_CACHE:-$HOME/.cache/digestpin}

"$here/build.sh" "$bindir"

# Argo CD, keyed by its version and the Go toolchain's. It is built with
# the dependency versions e2e/go.mod selects; it runs as a process of its
# own, so a later change there needs no rebuild.
argo=$(cd "$e2e" && go list -m -f '{{.Version}}' github.com/argoproj/argo-cd/v2)
gover=$(go env GOVERSION)
argodir=$cacheroot/argocd-$argo-$gover
if [ ! -x "$argodir/argocd" ]; then
	mkdir -p "$argodir"
	exec 8>"$argodir/.lock"
	flock 8
	if [ ! -x "$argodir/argocd" ]; then
		echo "building argocd $argo into $argodir (about 3 minutes the first time)" >&2
		start=$(date +%s)
		tmp=$(mktemp "$argodir/.argocd.XXXXXX")
		trap 'rm -f "$tmp"' EXIT
		(cd "$e2e" && GOFLAGS=-mod=readonly go build -ldflags "-s -w" -o "$tmp" github.com/argoproj/argo-cd/v2/cmd)
		mv "$tmp" "$argodir/argocd"
		echo "built argocd in $(($(date +%s) - start))s" >&2
	fi
fi
ln -sfn "$argodir/argocd" "$bindir/argocd"

if ! command -v redis-server >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing redis-server (Argo CD's cache) with apt-get" >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
	else
		echo "setup.sh: the cluster suite needs redis-server; install it (Debian: apt-get install redis-server)" >&2
		exit 1
	fi
fi
ln -sfn "$(command -v redis-server)" "$bindir/redis-server"

argomod=$(cd "$e2e" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-cd/v2)
ln -sfn "$argomod/manifests/crds" "$bindir/argocd-crds"

root=$(cd "$e2e/.." && pwd)
(cd "$root" && go build -o "$bindir/digestpin" ./cmd/digestpin)
(cd "$root/cmd/digestpin-verify" && go build -o "$bindir/digestpin-verify" .)
(cd "$e2e" && go build -o "$bindir/digestpin-cluster-demo" ./cmd/clusterdemo)
