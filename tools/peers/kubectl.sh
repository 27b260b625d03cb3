#!/usr/bin/env bash
# Build kubectl (the bench's server-side-apply peer) from Go modules into <out>/bin/kubectl, at
# K8S_VERSION of tools/k8s/versions.env: the same wrapper-module mechanism as tools/k8s/build.sh
# (k8s.io/kubernetes' staging modules pinned to their published v0.X.Y). No downloaded binary.
# Idempotent: rebuilt only when the pinned version changes. Usage: bash tools/peers/kubectl.sh .cache/peers
set -euo pipefail

OUT=${1:?usage: kubectl.sh <out-dir>}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../k8s/versions.env
source "$HERE/../k8s/versions.env"
mkdir -p "$OUT/bin" "$OUT/src"
OUT=$(cd "$OUT" && pwd)
V=$K8S_VERSION
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
log() { printf '[peers] %s\n' "$*"; }
command -v go >/dev/null || { log "go not found on PATH"; exit 2; }

if [[ -x "$OUT/bin/kubectl" && "$(cat "$OUT/bin/.kubectl.version" 2>/dev/null)" == "$V" ]]; then
  log "kubectl $V: up to date"
  exit 0
fi
dir=$OUT/src/kubectl
rm -rf "$dir" && mkdir -p "$dir"
(cd "$dir" && go mod init camelops.local/peers/kubectl 2>/dev/null)
gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$V" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')
staging=v0.${V#v1.}
args=()
for m in $(sed -n 's|^\s*\(k8s.io/[^ ]*\) => ./staging/src/k8s.io/.*|\1|p' "$gomod"); do
  args+=("-replace=$m=$m@$staging")
done
(cd "$dir" && go mod edit "${args[@]}" && go get "k8s.io/kubernetes/cmd/kubectl@$V" >/dev/null 2>&1) \
  || { log "go get k8s.io/kubernetes/cmd/kubectl@$V failed"; exit 1; }
minor=${V#v1.}; minor=${minor%%.*}
vpkg=k8s.io/component-base/version
ld="-s -w -X $vpkg.gitVersion=$V -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor"
ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$V -X $vpkg.gitTreeState=clean"
start=$SECONDS
(cd "$dir" && nice -n 10 go build -p "${PEERS_BUILD_JOBS:-2}" -trimpath -ldflags "$ld" \
  -o "$OUT/bin/kubectl" k8s.io/kubernetes/cmd/kubectl)
printf '%s\n' "$V" >"$OUT/bin/.kubectl.version"
log "kubectl $V built in $((SECONDS - start))s"
