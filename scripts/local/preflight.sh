#!/usr/bin/env bash
# preflight.sh — check that this host can run the kafka-lab `local` target.
#
# Usage:
#   scripts/local/preflight.sh            # check only; exit 2 with a list of what is missing
#   scripts/local/preflight.sh --install  # apt-get install the missing Debian packages, then check
#
# The local target boots three systemd-nspawn containers from one debootstrap'ed
# rootfs shared through overlay mounts, joined by a bridge the lab owns. This
# script checks every host-side prerequisite of that recipe up front so that a
# `pulumi up` fails early with one clear message rather than half-way through.
set -euo pipefail

log() { printf '[preflight] %s\n' "$*" >&2; }
die() { printf '[preflight] ERROR: %s\n' "$*" >&2; exit 2; }

install=0
case "${1:-}" in
  "") ;;
  --install) install=1 ;;
  -h|--help) sed -n '2,12p' "$0" >&2; exit 0 ;;
  *) die "unknown argument '$1' (usage: $0 [--install])" ;;
esac

# --- Platform: containers and overlay mounts are Linux kernel features, and
# creating bridges, mounts and cgroups needs root.
[[ "$(uname -s)" == Linux ]] || die "the local target needs Linux (this is $(uname -s))"
[[ "$(id -u)" -eq 0 ]] || die "the local target needs root (run as root or via sudo)"

# --- Host tools, each with the Debian package that provides it.
declare -A pkg_of=(
  [systemd-nspawn]=systemd-container
  [debootstrap]=debootstrap
  [ip]=iproute2
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [nsenter]=util-linux
  [setsid]=util-linux
  [flock]=util-linux
  [chroot]=coreutils
  [truncate]=coreutils
  [losetup]=mount
  [mount]=mount
  [umount]=mount
  [mkfs.ext4]=e2fsprogs
  [sha256sum]=coreutils
  [timeout]=coreutils
  # externalSecurity sasl_ssl: the stack's CA and certificates (scripts/credentials.sh).
  [openssl]=openssl
  # npm run lab -- fault: network faults at the lab bridge.
  [nft]=nftables
)

# `npm run` puts node_modules/.bin first on PATH, where an npm package may have a command of a host tool's
# name (@vercel/nft installs `nft`): the host's tools are looked up without those directories.
host_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v '/node_modules/' | paste -sd: -)

missing_tools() {
  local t
  for t in "${!pkg_of[@]}"; do
    PATH="$host_path" command -v "$t" >/dev/null 2>&1 || echo "$t"
  done | sort
}

if (( install )); then
  # Two test files (or two labs) may set up at once: apt takes one at a time.
  exec 8>/run/kafka-lab-preflight.lock
  flock -w 900 8 || die "timed out waiting for another run's package install (lock /run/kafka-lab-preflight.lock)"
  mapfile -t miss < <(missing_tools)
  if (( ${#miss[@]} )); then
    command -v apt-get >/dev/null 2>&1 || die "missing tools (${miss[*]}) and no apt-get to install them"
    mapfile -t pkgs < <(for t in "${miss[@]}"; do echo "${pkg_of[$t]}"; done | sort -u)
    log "installing Debian packages: ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2 || die "apt-get install ${pkgs[*]} failed"
  else
    log "all host tools already present; nothing to install"
  fi
fi

problems=()

mapfile -t miss < <(missing_tools)
for t in "${miss[@]}"; do
  problems+=("missing tool '$t' (Debian package: ${pkg_of[$t]}; or run: $0 --install)")
done

# --- Kernel features.
# overlay: each machine is an overlay on the shared, read-only rootfs.
if ! grep -qw overlay /proc/filesystems; then
  modprobe overlay 2>/dev/null || true
  grep -qw overlay /proc/filesystems || problems+=("kernel has no overlay filesystem support")
fi
# bridge: the lab network is a Linux bridge; creating and deleting a throwaway
# one is the only reliable test (the module may be built in or loadable).
probe="kl-pf$$"
probe="${probe:0:15}"
if ip link add "$probe" type bridge 2>/dev/null; then
  ip link del "$probe" 2>/dev/null || true
else
  problems+=("cannot create a Linux bridge (kernel bridge support / CAP_NET_ADMIN)")
fi
# veth: --network-bridge gives each machine a veth pair.
if ip link add "${probe}a" type veth peer name "${probe}b" 2>/dev/null; then
  ip link del "${probe}a" 2>/dev/null || true
else
  problems+=("cannot create veth pairs (kernel veth support)")
fi
# cgroups: each machine is started from its own cgroup (see machine.sh).
[[ -d /sys/fs/cgroup ]] || problems+=("/sys/fs/cgroup is not mounted")

if (( ${#problems[@]} )); then
  for p in "${problems[@]}"; do log "  - $p"; done
  die "host is not ready for the local target (${#problems[@]} problem(s) above)"
fi
log "host OK: Linux, root, tools present, overlay/bridge/veth supported"
