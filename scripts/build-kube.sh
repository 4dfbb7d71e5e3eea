#!/usr/bin/env bash
# Prints the paths of kube-apiserver, etcd and kube-controller-manager (three lines, in that order), building them
# from the Go module proxy into a cache kept by version when they are not there yet, for test/kubeapi's real API
# server and controllers. The versions are those the wrapper modules in scripts/kube/ require (their go.mod and go.sum are committed, so the
# build is reproducible). The first time takes a while on two cores at nice 10: kube-apiserver about 20 minutes
# when little else runs, 67 measured on a machine shared with other builds and tests; etcd 3-5 more. Each binary
# is written under a temporary name and moved into place, so an interrupted build leaves no half binary.
# Recipe: /work/shared/reference/kube-apiserver-from-source.md (the staging replaces are in the wrapper go.mod).
set -euo pipefail
cd "$(dirname "$0")/kube"
cache=${TAPSTACK_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tapstack/tools}

# Only the committed go.mod/go.sum count: no go.work, no other GOFLAGS from the environment, no cgo (upstream builds
# both static too).
export GOWORK=off GOFLAGS="-mod=readonly -trimpath -buildvcs=false" CGO_ENABLED=0

# version DIR MODULE: the version of MODULE that the wrapper module in DIR requires.
version() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }

# build NAME DIR VERSION [go build flags...]: builds DIR's main package to $cache/NAME-VERSION/NAME unless there,
# and sets built to that path.
tmp=
trap 'if [[ -n "$tmp" ]]; then rm -rf "$tmp"; fi' EXIT
build() {
  local name=$1 src=$2 ver=$3
  shift 3
  local dir="$cache/$name-$ver"
  mkdir -p "$dir"
  # One build at a time per tool: a second run (make test's `make kube` while .ci/run's background build goes on)
  # waits for the first and then finds the binary.
  exec {lock}>"$dir/.lock"
  flock "$lock"
  if [[ ! -x "$dir/$name" ]]; then
    mkdir -p "$dir"
    tmp=$(mktemp -d "$dir/build.XXXXXX")
    echo "building $name $ver into $dir" >&2
    local start=$SECONDS
    (cd "$src" && go build "$@" -o "$tmp/$name" .) >&2
    mv "$tmp/$name" "$dir/$name"
    rm -rf "$tmp"
    tmp=
    echo "built $name $ver in $((SECONDS - start))s" >&2
  fi
  built="$dir/$name"
  exec {lock}>&-
}

kube=$(version kube-apiserver k8s.io/kubernetes)
etcd=$(version etcd go.etcd.io/etcd/server/v3)

# The version variables upstream's hack/lib/version.sh sets, so /version reports the release and not v0.0.0-master.
pkg=k8s.io/component-base/version
minor=${kube#v1.}
minor=${minor%%.*}
kube_ldflags="-s -w -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"

build kube-apiserver kube-apiserver "$kube" -ldflags "$kube_ldflags"
apiserver_path=$built
build etcd etcd "$etcd" -ldflags "-s -w"
etcd_path=$built
# kube-controller-manager shares most packages with kube-apiserver, so it builds in a fraction of the time after it.
kcm=$(version kube-controller-manager k8s.io/kubernetes)
build kube-controller-manager kube-controller-manager "$kcm" -ldflags "$kube_ldflags"
# Last, so that they are the last three lines even when stderr goes to the same log.
echo "$apiserver_path"
echo "$etcd_path"
echo "$built"
