#!/usr/bin/env bash
# Builds spiffe-helper from its Go module for the benchmark only (never committed), the way
# spire/build-spire.sh builds SPIRE: `go get -tool` in a scratch module, then `go install`.
# Idempotent. Prints the binary's path on its last line.
#   SPIFFE_HELPER_VERSION (default v0.11.0)
set -euo pipefail
version="${SPIFFE_HELPER_VERSION:-v0.11.0}"
bin_dir="${XDG_CACHE_HOME:-$HOME/.cache}/rotor/spiffe-helper-${version}/bin"
if [[ -x "$bin_dir/spiffe-helper" ]]; then
  echo "$bin_dir/spiffe-helper"
  exit 0
fi
command -v go >/dev/null || { echo "build-spiffe-helper.sh: go is not on PATH" >&2; exit 1; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$bin_dir"
(
  cd "$scratch"
  go mod init rotor.local/spiffe-helper-build >/dev/null 2>&1
  go get -tool "github.com/spiffe/spiffe-helper/cmd/spiffe-helper@${version}" >&2
  GOBIN="$bin_dir" go install github.com/spiffe/spiffe-helper/cmd/spiffe-helper >&2
)
echo "$bin_dir/spiffe-helper"
