#!/usr/bin/env bash
# Build the Kubernetes test control plane from Go modules into <out>/bin:
#   kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes), etcd, kwok.
# Release binaries cannot be downloaded here, so each binary comes from a small wrapper module:
# k8s.io/kubernetes replaces its staging modules with ./staging paths, which `go install` refuses,
# so the wrapper pins every staging module (generated from the module's own go.mod) to the
# published v0.X.Y of the same release. Idempotent: a binary is rebuilt only when its pinned
# version changes. GOMODCACHE/GOCACHE stay at Go's defaults so a fresh clone rebuilds from cache.
# Usage: bash tools/k8s/build.sh .cache/k8s
set -euo pipefail

OUT=${1:?usage: build.sh <out-dir>}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
mkdir -p "$OUT/bin" "$OUT/src"
OUT=$(cd "$OUT" && pwd)
BIN=$OUT/bin
JOBS=${K8S_BUILD_JOBS:-2}
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

log() { printf '[k8s-build] %s\n' "$*"; }
command -v go >/dev/null || { log "go not found on PATH (need Go >= 1.26)"; exit 2; }
log "go: $(go version); GOMODCACHE=$(go env GOMODCACHE) GOCACHE=$(go env GOCACHE); jobs=$JOBS"

# up_to_date NAME VERSION: the binary exists and was built from VERSION.
up_to_date() { [[ -x "$BIN/$1" && "$(cat "$BIN/.$1.version" 2>/dev/null)" == "$2" ]]; }
mark_built() { printf '%s\n' "$2" >"$BIN/.$1.version"; }

# new_module DIR: a fresh wrapper module (go.mod is regenerated on every build).
new_module() {
  rm -rf "$1" && mkdir -p "$1"
  (cd "$1" && go mod init camelops.local/k8s-testbed/"$(basename "$1")" 2>/dev/null)
}

# go_get DIR ARGS...: `go get` quietly, but show everything when it fails.
go_get() {
  local dir=$1 out
  shift
  if ! out=$(cd "$dir" && go get "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    log "go get $* failed"
    return 1
  fi
}

timed_build() { # timed_build DIR OUTPUT LDFLAGS PKG... (OUTPUT: a file, or the bin dir for several)
  local dir=$1 output=$2 ldflags=$3 start=$SECONDS
  shift 3
  (cd "$dir" && nice -n 10 go build -p "$JOBS" -trimpath -ldflags "$ldflags" -o "$output" "$@")
  log "built $* in $((SECONDS - start))s"
}

build_kubernetes() {
  local names=(kube-apiserver kube-controller-manager kube-scheduler) v=$K8S_VERSION need=0 n
  for n in "${names[@]}"; do up_to_date "$n" "$v" || need=1; done
  if [[ $need == 0 ]]; then log "kubernetes $v: up to date"; return; fi
  local dir=$OUT/src/kubernetes staging=v0.${v#v1.} minor
  minor=${v#v1.}; minor=${minor%%.*}
  new_module "$dir"
  local gomod
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
  # Every `k8s.io/X => ./staging/src/k8s.io/X` line becomes a pin to the published k8s.io/X@v0.N.P.
  local mods
  mods=$(sed -n 's|^\s*\(k8s.io/[^ ]*\) => ./staging/src/k8s.io/.*|\1|p' "$gomod")
  log "kubernetes $v: pinning $(wc -w <<<"$mods") staging modules to $staging"
  local args=() m
  for m in $mods; do args+=("-replace=$m=$m@$staging"); done
  (cd "$dir" && go mod edit "${args[@]}")
  go_get "$dir" "k8s.io/kubernetes/cmd/kube-apiserver@$v" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@$v" "k8s.io/kubernetes/cmd/kube-scheduler@$v"
  local vpkg=k8s.io/component-base/version
  local ld="-s -w -X $vpkg.gitVersion=$v -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
  ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$v -X $vpkg.gitTreeState=clean"
  timed_build "$dir" "$BIN/" "$ld" k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler
  for n in "${names[@]}"; do mark_built "$n" "$v"; done
}

build_etcd() {
  local v=$ETCD_VERSION
  if up_to_date etcd "$v"; then log "etcd $v: up to date"; return; fi
  local dir=$OUT/src/etcd
  new_module "$dir"
  # The server module's own replaces (../api, ../pkg) are ignored in a dependency: published ones are used.
  go_get "$dir" "go.etcd.io/etcd/server/v3@$v"
  timed_build "$dir" "$BIN/etcd" "-s -w" go.etcd.io/etcd/server/v3
  mark_built etcd "$v"
}

build_kwok() {
  local v=$KWOK_VERSION
  if up_to_date kwok "$v"; then log "kwok $v: up to date"; return; fi
  local dir=$OUT/src/kwok
  new_module "$dir"
  go_get "$dir" "sigs.k8s.io/kwok/cmd/kwok@$v"
  timed_build "$dir" "$BIN/kwok" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$v" sigs.k8s.io/kwok/cmd/kwok
  mark_built kwok "$v"
}

# kwok simulates nothing without Stage objects; take the "fast" node and pod stages that ship in
# the pinned kwok module (the same ones `kwokctl` installs) and join them into one config file.
kwok_stages() {
  local dir out=$OUT/kwok-stages.yaml f
  dir=$(cd "$OUT/src/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
  : >"$out.tmp"
  for f in node/fast/node-initialize.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml \
    pod/fast/pod-delete.yaml; do
    printf -- '---\n' >>"$out.tmp"
    cat "$dir/kustomize/stage/$f" >>"$out.tmp"
  done
  mv -f "$out.tmp" "$out"
  log "kwok stages: $out (from $dir)"
}

start=$SECONDS
build_etcd
build_kwok
kwok_stages
build_kubernetes
for n in etcd kwok kube-apiserver kube-controller-manager kube-scheduler; do
  log "$n: $("$BIN/$n" --version 2>/dev/null | head -1 || echo built) ($BIN/$n)"
done
touch "$BIN/.stamp"
log "done in $((SECONDS - start))s"
