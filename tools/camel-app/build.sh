#!/usr/bin/env bash
# Build the Camel Main test runtime (examples/camel-app) with Maven into OUT (default .cache/camel-app):
#   OUT/lib/*.jar (ours included)  OUT/jolokia-agent.jar  OUT/bin/camel-app  OUT/.stamp
# Idempotent. Maven's own cache (~/.m2) makes re-runs offline: we try offline first and only go to
# the registry when something is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-${root}/.cache/camel-app}"
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"
project="${root}/examples/camel-app"

command -v java >/dev/null || { echo "camel-app: java (17+) is required" >&2; exit 2; }
command -v mvn >/dev/null || { echo "camel-app: mvn is required" >&2; exit 2; }

echo "camel-app: building the Camel Main runtime with Maven into ${out} (first time: a few minutes)" >&2
cd "${project}"
if ! nice -n 10 mvn -B -q -o package; then
  echo "camel-app: offline build incomplete, resolving from the registry" >&2
  nice -n 10 mvn -B -q package
fi

# Replace the runtime as a whole so jars of an older Camel version never linger on the classpath.
staging="$(mktemp -d "${out}/.staging.XXXXXX")"
trap 'rm -rf "${staging}"' EXIT
mkdir -p "${staging}/bin"
cp -R target/lib "${staging}/lib"
cp target/camelops-camel-app-*.jar "${staging}/lib/"  # our own classes (the tracer drain)
cp target/agent/jolokia-agent.jar "${staging}/jolokia-agent.jar"
cp bin/camel-app "${staging}/bin/camel-app"
chmod +x "${staging}/bin/camel-app"
rm -rf "${out}/lib" "${out}/bin" "${out}/jolokia-agent.jar"
mv "${staging}/lib" "${staging}/bin" "${staging}/jolokia-agent.jar" "${out}/"
touch "${out}/.stamp"
echo "camel-app: ready in ${out}"
