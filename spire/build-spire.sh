#!/usr/bin/env bash
# Builds spire-server and spire-agent from the github.com/spiffe/spire Go module and caches them.
# Idempotent: a second run with the binaries present does nothing.
#   SPIRE_VERSION  (default v1.13.3)
#   SPIRE_BIN_DIR  (default ~/.cache/rotor/spire-$SPIRE_VERSION/bin)
# Prints the bin directory on its last line.
set -euo pipefail
version="${SPIRE_VERSION:-v1.13.3}"
bin_dir="${SPIRE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor/spire-${version}/bin}"

if [[ -x "$bin_dir/spire-server" && -x "$bin_dir/spire-agent" ]]; then
  echo "$bin_dir"
  exit 0
fi
command -v go >/dev/null || { echo "build-spire.sh: go is not on PATH (install Go >= 1.24)" >&2; exit 1; }

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$bin_dir"
(
  cd "$scratch"
  go mod init rotor.local/spire-build >/dev/null 2>&1
  # SPIRE is a program, not a library: the proxy serves it by module version to `go get -tool`.
  go get -tool "github.com/spiffe/spire/cmd/spire-server@${version}" >&2
  go get -tool "github.com/spiffe/spire/cmd/spire-agent@${version}" >&2
  GOBIN="$bin_dir" go install github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent >&2
)
"$bin_dir/spire-server" --version >&2 2>&1 || true
echo "$bin_dir"
