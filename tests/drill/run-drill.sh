#!/usr/bin/env bash
# The rotation drill: a legacy PostgreSQL client that loads its certificate once, next to two
# rotation-aware clients (reconnecting on the files Rotor keeps current, and a HikariCP pool),
# against a real PostgreSQL 15 whose server and client certificates are short-lived SPIRE SVIDs
# written by Rotor. Prints a timeline and a summary; writes timeline.csv, timeline.png and
# summary.txt. See tests/drill/README.md.
#
#   tests/drill/run-drill.sh [--ttl SECONDS] [--length SECONDS] [--interval SECONDS] [--out DIR]
#
# Defaults: --ttl 60 --length 300 --interval 10 --out tests/target/drill
# Needs: root (PostgreSQL and one Rotor writer run as the postgres OS user), Debian's
# postgresql-15, Go (SPIRE is built once by spire/build-spire.sh), Java 17, Maven.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
ttl=60
length=300
interval=10
out="$repo/tests/target/drill"

usage() {
  sed -n '8,9p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
  exit 2
}
whole_seconds() {
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "run-drill.sh: $1 \"$2\" is not a whole number of seconds" >&2; exit 2; }
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ttl) whole_seconds "$1" "${2:-}"; ttl="$2"; shift 2 ;;
    --length) whole_seconds "$1" "${2:-}"; length="$2"; shift 2 ;;
    --interval) whole_seconds "$1" "${2:-}"; interval="$2"; shift 2 ;;
    --out) [[ -n "${2:-}" ]] || usage; out="$(realpath -m "$2")"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run-drill.sh: unknown argument \"$1\"" >&2; usage ;;
  esac
done
if (( length % interval != 0 )); then
  echo "run-drill.sh: --length $length is not a multiple of --interval $interval" >&2; exit 2
fi
if (( length < ttl + 10 )); then
  echo "run-drill.sh: --length $length must exceed --ttl $ttl by at least 10 s, or the legacy" \
    "client's certificate never expires during the drill" >&2; exit 2
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "run-drill.sh: run as root (PostgreSQL and its Rotor writer run as the postgres OS user)" >&2
  exit 2
fi

# The drill is RotationDrillIT run longer: the same code the build checks, so it cannot rot.
# -Dtest=None skips the unit tests of every module on the way; the Rotor jar is built by -am.
cd "$repo"
mvn -B -pl tests -am verify \
  -Dit.test=RotationDrillIT \
  -Dtest=None -Dsurefire.failIfNoSpecifiedTests=false \
  -Drotor.drill.ttl="$ttl" -Drotor.drill.length="$length" -Drotor.drill.interval="$interval" \
  -Drotor.drill.out="$out"
echo
cat "$out/summary.txt"
