#!/usr/bin/env bash
# Runs every benchmark scenario (bench/README.md) and writes bench/results/DATE-HOST.{json,md,*.png}.
#   bench/run.sh [--smoke] [--only fanout,memory,footprint,filewriter,policy,micro,profile] [--rounds R]
# Builds rotor.jar and the harness (mvn package, tests skipped), SPIRE (spire/build-spire.sh, via the
# SPIRE fixture) and spiffe-helper (bench/build-spiffe-helper.sh) first. Takes about 45 minutes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want_files=20000
if (( $(ulimit -n) < want_files )); then
  ulimit -n "$want_files" 2>/dev/null || echo "run.sh: open files limit is $(ulimit -n); 10,000 streams need about 12,000" >&2
fi
mvn -q -B -pl bench -am package -DskipTests
bash spire/build-spire.sh >/dev/null
helper="$(bash bench/build-spiffe-helper.sh | tail -n 1)"
cp="$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")"
exec java -Xmx1g -Drotor.repo.root="$root" -cp "$cp" dev.rotor.bench.BenchMain \
  --rotor-jar "$root/sds-server/target/rotor.jar" --spiffe-helper "$helper" "$@"
