#!/usr/bin/env bash
# Measures the resident memory of one `rotor serve` sidecar serving one Envoy-like ADS client:
# the figure the Kubernetes manifests' memory request/limit for the rotor container come from
# (deploy/README.md, "Rotor's memory figure"). Usage, from the repository root:
#   deploy/measure/rss.sh "<JVM options>" [idle seconds, default 60]
# Needs sds-server/target/rotor.jar (mvn -q -B -pl sds-server -am package -DskipTests).
# Prints VmRSS/VmHWM of the Rotor process every 10 s while the client is connected.
set -euo pipefail
cd "$(dirname "$0")/../.."
jvm_opts=${1:?usage: rss.sh \"JVM options\" [idle seconds]}
idle=${2:-60}
jar=sds-server/target/rotor.jar
[[ -f $jar ]] || { echo "rss.sh: $jar missing; build it first" >&2; exit 1; }
dir=$(mktemp -d /tmp/rotor-k8s.XXXX)
trap 'kill $client_pid $rotor_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
client_pid=
# shellcheck disable=SC2086 # the JVM options are meant to split into words
java $jvm_opts -jar "$jar" serve --dev --trust-domain example.org \
  --spiffe-id spiffe://example.org/ns/demo/sa/backend --svid-ttl 2m \
  --policy deploy/policy/demo-policy.yaml --sds-socket "$dir/sds.sock" >"$dir/rotor.log" 2>&1 &
rotor_pid=$!
for _ in $(seq 1 100); do [[ -S $dir/sds.sock ]] && break; sleep 0.1; done
[[ -S $dir/sds.sock ]] || { echo "rss.sh: Rotor did not open $dir/sds.sock" >&2; tail -20 "$dir/rotor.log" >&2; exit 1; }
java -cp "$jar" deploy/measure/EnvoyLikeAdsClient.java "$dir/sds.sock" backend $((idle + 30)) >"$dir/client.log" 2>&1 &
client_pid=$!
echo "JVM options: $jvm_opts"
for ((t = 0; t <= idle; t += 10)); do
  sleep 10
  printf 't=%3ss  %s  %s\n' "$((t + 10))" "$(grep VmRSS /proc/$rotor_pid/status | tr -s ' \t' ' ')" \
    "$(grep VmHWM /proc/$rotor_pid/status | tr -s ' \t' ' ')"
done
echo "client saw: $(grep -c version= "$dir/client.log") responses; last: $(tail -n 1 "$dir/client.log")"
