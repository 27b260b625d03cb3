#!/usr/bin/env bash
# Build the test-only Camel oracle (examples/camel-oracle) with Maven into OUT (default
# .cache/camel-oracle):  OUT/lib/*.jar  OUT/camel-oracle.jar  OUT/.stamp
# Idempotent. Maven's own cache (~/.m2) makes re-runs offline: offline first, the registry only
# when something is missing. Never touches examples/camel-app.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-${root}/.cache/camel-oracle}"
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"
project="${root}/examples/camel-oracle"

command -v java >/dev/null || { echo "camel-oracle: java (17+) is required" >&2; exit 2; }
command -v mvn >/dev/null || { echo "camel-oracle: mvn is required" >&2; exit 2; }

cd "${project}"
if ! nice -n 10 mvn -B -q -o package 2>/dev/null; then
  echo "camel-oracle: offline build incomplete, resolving from the registry" >&2
  nice -n 10 mvn -B -q package
fi

staging="$(mktemp -d "${out}/.staging.XXXXXX")"
trap 'rm -rf "${staging}"' EXIT
cp -R target/lib "${staging}/lib"
cp target/camel-oracle.jar "${staging}/camel-oracle.jar"
rm -rf "${out}/lib" "${out}/camel-oracle.jar"
mv "${staging}/lib" "${staging}/camel-oracle.jar" "${out}/"
touch "${out}/.stamp"
echo "camel-oracle: ready in ${out}"
