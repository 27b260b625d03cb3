#!/usr/bin/env bash
# Build helm (the bench's `helm template` peer) from Go modules into <out>/bin/helm, at
# HELM_VERSION of tools/k8s/versions.env. No downloaded binary: `go install` of the pinned module
# version, with Go's module and build caches. Idempotent: rebuilt only when the version changes.
# Usage: bash tools/peers/helm.sh .cache/peers
set -euo pipefail

OUT=${1:?usage: helm.sh <out-dir>}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../k8s/versions.env
source "$HERE/../k8s/versions.env"
mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
V=$HELM_VERSION
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
log() { printf '[peers] %s\n' "$*"; }
command -v go >/dev/null || { log "go not found on PATH"; exit 2; }

if [[ -x "$OUT/bin/helm" && "$(cat "$OUT/bin/.helm.version" 2>/dev/null)" == "$V" ]]; then
  log "helm $V: up to date"
  exit 0
fi
start=$SECONDS
GOBIN="$OUT/bin" nice -n 10 go install -p "${PEERS_BUILD_JOBS:-2}" -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$V" "helm.sh/helm/v3/cmd/helm@$V"
printf '%s\n' "$V" >"$OUT/bin/.helm.version"
log "helm $V built in $((SECONDS - start))s"
