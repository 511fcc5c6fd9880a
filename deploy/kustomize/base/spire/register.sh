#!/bin/bash
# Registers the workloads listed in /etc/spire/registrations/*.txt with the SPIRE
# server, through the server's own CLI (the admin API is a Unix socket inside the server pod, so
# the CLI runs there, via kubectl exec). Idempotent: every entry has a fixed entry ID and is
# created when missing and updated otherwise, so the Job can be re-run after editing the list.
#
# Line format (whitespace-separated, # starts a comment):
#   ENTRY_ID  SPIFFE_ID  PARENT  SELECTORS  DNS_NAMES
#   PARENT     "node" for a node alias (an entry that names a group of agents), else the parent's SPIFFE ID
#   SELECTORS  comma-separated type:value selectors (k8s:ns:demo,k8s:sa:backend)
#   DNS_NAMES  comma-separated; the first becomes the certificate's CN (PostgreSQL maps it in
#              pg_ident.conf, and verify-full clients check the SAN); "-" for none
set -euo pipefail

namespace=${SPIRE_NAMESPACE:?SPIRE_NAMESPACE must name the SPIRE server namespace}
pod=${SPIRE_SERVER_POD:-spire-server-0}
socket=/tmp/spire-server/private/api.sock
lists=(/etc/spire/registrations/*.txt)

server() {
  kubectl exec -n "$namespace" "$pod" -c spire-server -- /opt/spire/bin/spire-server "$@"
}

echo "waiting for $namespace/$pod to be ready"
kubectl wait -n "$namespace" --for=condition=Ready "pod/$pod" --timeout=600s

register() {
  local list=$1 id spiffe_id parent selectors dns extra trust_domain
  while read -r id spiffe_id parent selectors dns extra; do
    [[ -z ${id:-} || $id == \#* ]] && continue
    if [[ -z ${dns:-} || -n ${extra:-} ]]; then
      echo "$list: entry $id: expected 5 fields (ENTRY_ID SPIFFE_ID PARENT SELECTORS DNS_NAMES)" >&2
      exit 2
    fi
    trust_domain=${spiffe_id#spiffe://}
    trust_domain=${trust_domain%%/*}
    args=(-socketPath "$socket" -entryID "$id" -spiffeID "$spiffe_id")
    selector_args=()
    IFS=, read -ra items <<<"$selectors"
    for s in "${items[@]}"; do selector_args+=(-selector "$s"); done
    dns_args=()
    if [[ $dns != - ]]; then
      IFS=, read -ra items <<<"$dns"
      for n in "${items[@]}"; do dns_args+=(-dns "$n"); done
    fi
    if server entry show -socketPath "$socket" -entryID "$id" >/dev/null 2>&1; then
      # A node alias's parent is the server itself; `entry update` has no -node flag.
      [[ $parent == node ]] && parent="spiffe://$trust_domain/spire/server"
      echo "updating $id ($spiffe_id)"
      server entry update "${args[@]}" -parentID "$parent" "${selector_args[@]}" "${dns_args[@]}" >/dev/null
    else
      echo "creating $id ($spiffe_id)"
      if [[ $parent == node ]]; then
        server entry create "${args[@]}" -node "${selector_args[@]}" "${dns_args[@]}" >/dev/null
      else
        server entry create "${args[@]}" -parentID "$parent" "${selector_args[@]}" "${dns_args[@]}" >/dev/null
      fi
    fi
  done <"$list"
}

for list in "${lists[@]}"; do
  echo "registering the entries of $list"
  register "$list"
done

echo "registered; entries now:"
server entry show -socketPath "$socket"
