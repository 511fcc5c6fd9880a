#!/usr/bin/env bash
# Runs a single-machine SPIRE (server + agent) for trying Rotor by hand, from spire/local/*.conf.
#   spire/run-local.sh [DIR]
# DIR (default: a new /tmp/rotor-spire-XXXX) receives data, sockets and logs; keep it short, the
# agent socket path must stay under ~100 characters. Registers the current UID as
# spiffe://example.org/workload/uid-<uid> (x509-SVID TTL ${SVID_TTL:-60} s), prints how to reach the
# agent, then stays in the foreground; Ctrl-C stops both processes.
# Environment: SERVER_PORT (default: a free port), LOG_LEVEL (INFO), SVID_TTL (60).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin_dir="$("$here/build-spire.sh" | tail -n 1)"

dir="${1:-$(mktemp -d /tmp/rotor-spire-XXXX)}"
mkdir -p "$dir/server" "$dir/agent"
dir="$(cd "$dir" && pwd)"

free_port() {
  command -v python3 >/dev/null || { echo 8081; return; }
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

export DATA_DIR="$dir"
export SERVER_PORT="${SERVER_PORT:-$(free_port)}"
export SERVER_SOCKET="$dir/server.sock"
export AGENT_SOCKET="$dir/agent.sock"
export LOG_LEVEL="${LOG_LEVEL:-INFO}"
svid_ttl="${SVID_TTL:-60}"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS WHAT COMMAND...: retries COMMAND once a second, fails naming WHAT.
wait_for() {
  local seconds="$1" what="$2"; shift 2
  for ((i = 0; i < seconds; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "run-local.sh: $what not ready after ${seconds}s; see the logs in $dir" >&2
  exit 1
}

"$bin_dir/spire-server" run -expandEnv -config "$here/local/server.conf" >"$dir/server.log" 2>&1 &
pids+=("$!")
wait_for 30 "spire-server (healthcheck on $SERVER_SOCKET)" \
  "$bin_dir/spire-server" healthcheck -socketPath "$SERVER_SOCKET"

"$bin_dir/spire-server" bundle show -socketPath "$SERVER_SOCKET" -format pem >"$dir/bootstrap-bundle.pem"
token="$("$bin_dir/spire-server" token generate -socketPath "$SERVER_SOCKET" -ttl 600 | sed -n 's/^Token: //p')"
[[ -n "$token" ]] || { echo "run-local.sh: spire-server token generate printed no token" >&2; exit 1; }

"$bin_dir/spire-agent" run -expandEnv -config "$here/local/agent.conf" -joinToken "$token" >"$dir/agent.log" 2>&1 &
pids+=("$!")
wait_for 30 "spire-agent (healthcheck on $AGENT_SOCKET)" \
  "$bin_dir/spire-agent" healthcheck -socketPath "$AGENT_SOCKET"

uid="$(id -u)"
"$bin_dir/spire-server" entry create -socketPath "$SERVER_SOCKET" \
  -parentID "spiffe://example.org/spire/agent/join_token/$token" \
  -spiffeID "spiffe://example.org/workload/uid-$uid" \
  -selector "unix:uid:$uid" -x509SVIDTTL "$svid_ttl" >"$dir/entry.txt"

cat <<INFO
SPIRE is running in $dir (logs: server.log, agent.log).
  Workload API / SDS socket: unix://$AGENT_SOCKET
  Server API socket:         $SERVER_SOCKET
  Registered:                spiffe://example.org/workload/uid-$uid for unix:uid:$uid (TTL ${svid_ttl}s)
Try:
  $bin_dir/spire-agent api fetch x509 -socketPath $AGENT_SOCKET
  java -jar sds-server/target/rotor.jar serve --workload-api unix://$AGENT_SOCKET --sds-socket $dir/sds.sock --allowed-uid $uid
Ctrl-C stops both.
INFO
wait -n "${pids[@]}"
echo "run-local.sh: a SPIRE process exited; see the logs in $dir" >&2
exit 1
