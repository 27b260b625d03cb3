#!/usr/bin/env bash
# Build kubeconform (the bench's peer for `render --strict`) from Go modules into <out>/bin.
# Benchmarks only (`make peers`), never a test dependency. Idempotent: rebuilt only when the pinned
# version changes. GOMODCACHE/GOCACHE stay at Go's defaults, as tools/k8s/build.sh does.
# Usage: bash tools/peers/kubeconform.sh .cache/peers
set -euo pipefail

KUBECONFORM_VERSION=v0.7.0
OUT=${1:?usage: kubeconform.sh <out-dir>}
mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

command -v go >/dev/null || { echo "[peers] go not found on PATH" >&2; exit 2; }
if [[ -x "$OUT/bin/kubeconform" && "$(cat "$OUT/bin/.kubeconform.version" 2>/dev/null)" == "$KUBECONFORM_VERSION" ]]; then
  echo "[peers] kubeconform $KUBECONFORM_VERSION: up to date"
  exit 0
fi
GOBIN="$OUT/bin" nice -n 10 go install -trimpath -ldflags "-s -w" \
  "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
printf '%s\n' "$KUBECONFORM_VERSION" >"$OUT/bin/.kubeconform.version"
echo "[peers] kubeconform $KUBECONFORM_VERSION -> $OUT/bin/kubeconform"
