#!/usr/bin/env bash
# build.sh [LINKDIR]
#
# Builds the Kubernetes control plane the cluster tests run on -- etcd,
# kube-apiserver and kube-controller-manager -- from the Go module proxy,
# with the versions this directory's go.mod pins, into a cache keyed by the
# Kubernetes version:
#
#     ${DIGESTPIN_CACHE:-$HOME/.cache/digestpin}/k8s-<version>/bin
#
# A binary already in the cache is not rebuilt: a cold build took about 7
# minutes on 2 idle cores (kube-apiserver alone about 5, peaking at 2.4 GB;
# three times that when other builds share the cores), a warm run takes
# well under a second. Binaries are built into a temporary
# directory and renamed into place, under a lock, so an interrupted or
# concurrent build never leaves a half-written binary behind.
#
# With LINKDIR, the three binaries are then symlinked into it (the Makefile
# passes ./bin).
set -euo pipefail

link=
if [ $# -gt 0 ]; then
	mkdir -p "$1"
	link=$(cd "$1" && pwd)
fi
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export GOFLAGS=-mod=readonly

k8s=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$k8s" | cut -d. -f2)
major=$(echo "$k8s" | cut -d. -f1 | tr -d v)
cache=${DIGESTPIN_CACHE:-$HOME/.cache/digestpin}/k8s-$k8s/bin
mkdir -p "$cache"

# Clients parse the server's version; an unstamped build reports v0.0.0.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$k8s"

declare -A pkg=(
	[etcd]=go.etcd.io/etcd/server/v3
	[kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
	[kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
)
names=(etcd kube-apiserver kube-controller-manager)

missing() {
	local n
	for n in "${names[@]}"; do [ -x "$cache/$n" ] || echo "$n"; done
}

if [ -n "$(missing)" ]; then
	exec 9>"$cache/.lock"
	flock 9 # another build of the same version finishes first
	todo=$(missing)
	if [ -n "$todo" ]; then
		tmp=$(mktemp -d "$cache/.build.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		for n in $todo; do
			echo "building $n $([ "$n" = etcd ] && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3 || echo "$k8s") into $cache (the first build of kube-apiserver takes about 5 minutes on 2 idle cores)" >&2
			start=$(date +%s)
			go build -o "$tmp/$n" -ldflags="$ldflags" "${pkg[$n]}"
			mv "$tmp/$n" "$cache/$n"
			echo "built $n in $(($(date +%s) - start))s" >&2
		done
	fi
fi

if [ -n "$link" ]; then
	for n in "${names[@]}"; do ln -sfn "$cache/$n" "$link/$n"; done
fi
