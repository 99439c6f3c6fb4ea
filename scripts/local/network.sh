#!/usr/bin/env bash
# network.sh — create or remove the lab's own bridge for the local machines.
#
# Usage:
#   scripts/local/network.sh up   <bridge> <bridge-address/prefix>   # e.g. up kl-br0 10.77.0.1/24
#   scripts/local/network.sh down <bridge> [<bridge-address/prefix>]
#
# Each machine joins the bridge through a veth pair (nspawn --network-bridge).
# The host's own address on the bridge lets the host (and so Pulumi/Ansible
# over SSH) reach the machines. No NAT and no forwarding: the machines talk to
# the host and to each other only, never beyond.
# Both directions are idempotent: `up` on an existing bridge fixes its address
# and state, `down` on a missing bridge does nothing.
set -euo pipefail

log() { printf '[network] %s\n' "$*" >&2; }
die() { printf '[network] ERROR: %s\n' "$*" >&2; exit 1; }
usage() { die "usage: $0 up|down <bridge> <bridge-address/prefix>"; }
trap 'log "ERROR: command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

(( $# >= 2 )) || usage
action="$1" bridge="$2" addr="${3:-}"
[[ "$(id -u)" -eq 0 ]] || die "must run as root"
# Linux interface names: at most 15 characters, no '/' or whitespace.
[[ "$bridge" =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "invalid bridge name '$bridge' (max 15 chars, [A-Za-z0-9_.-])"

# Marker in the link's alias: `down` only deletes a bridge that `up` created,
# never some other bridge that happens to carry the same name.
MARK="kafka-lab"

exists() { ip link show dev "$bridge" >/dev/null 2>&1; }
ours()   { [[ "$(cat "/sys/class/net/$bridge/ifalias" 2>/dev/null)" == "$MARK" ]]; }

case "$action" in
  up)
    [[ "$addr" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || die "need an IPv4 address/prefix, e.g. 10.77.0.1/24 (got '$addr')"
    if exists; then
      [[ -d "/sys/class/net/$bridge/bridge" ]] || die "'$bridge' exists but is not a bridge"
      ours || die "bridge '$bridge' exists but was not created by kafka-lab; pick another name"
      log "bridge $bridge already exists"
    else
      log "creating bridge $bridge"
      ip link add name "$bridge" type bridge
      ip link set dev "$bridge" alias "$MARK"
    fi
    # No IPv6 on the lab bridge: avoids router/neighbour discovery chatter.
    sysctl -qw "net.ipv6.conf.$bridge.disable_ipv6=1" 2>/dev/null || true
    # `replace` is idempotent: adds the address or leaves it as is. Any other
    # IPv4 address (from an earlier `up` with another address) is dropped so
    # the bridge ends up with exactly the one asked for.
    ip addr replace "$addr" dev "$bridge"
    ip -4 -o addr show dev "$bridge" | awk '{ print $4 }' | while read -r a; do
      [[ "$a" == "$addr" ]] || { log "removing stale address $a"; ip addr del "$a" dev "$bridge"; }
    done
    ip link set dev "$bridge" up
    log "bridge $bridge up with $addr"
    ;;
  down)
    if ! exists; then
      log "bridge $bridge absent; nothing to do"
      exit 0
    fi
    ours || die "bridge '$bridge' was not created by kafka-lab; not removing it"
    # Machines still attached keep their veth ends; warn, then delete anyway
    # (their veths then just lose the bridge; machine.sh down removes them).
    attached="$(find "/sys/class/net/$bridge/brif" -mindepth 1 -maxdepth 1 -printf '%f ' 2>/dev/null || true)"
    [[ -z "$attached" ]] || log "warning: interfaces still attached to $bridge: $attached"
    ip link del dev "$bridge"
    log "bridge $bridge removed"
    ;;
  *) usage ;;
esac
