#!/usr/bin/env bash
# rootfs.sh — build (once, cached) the Debian bookworm root filesystem that
# every kafka-lab local machine boots from.
#
# Usage:
#   scripts/local/rootfs.sh          # prints the rootfs path as the last stdout line
#
# Environment:
#   KAFKA_LAB_CACHE            cache root (default /var/cache/kafka-lab)
#   KAFKA_LAB_MIRROR           Debian mirror (default: the host's apt config, else deb.debian.org)
#   KAFKA_LAB_SECURITY_MIRROR  Debian security mirror (same defaults)
#
# The result lives at $KAFKA_LAB_CACHE/rootfs/<hash>/ where <hash> covers the
# package list and this script's own text: edit either and the next run builds
# a fresh tree instead of reusing a stale one. The build happens in a temp dir
# that is renamed into place only at the very end, so a half-built tree is
# never handed out. Machines use the tree read-only, as an overlay lowerdir.
#
# The lab machines have no internet, so everything the project's provisioning
# step wants (Java, firewalld, python3 and pip, Prometheus, ...) is baked in here.
set -euo pipefail

log() { printf '[rootfs] %s\n' "$*" >&2; }
die() { printf '[rootfs] ERROR: %s\n' "$*" >&2; exit 1; }
# Never die silently under `set -e`: say which command failed.
trap 'log "ERROR: command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

SUITE=bookworm
# Installed by debootstrap itself: enough for a chroot with working apt + a bootable systemd.
BASE_PACKAGES=(systemd systemd-sysv dbus openssh-server iproute2 iputils-ping procps sudo ca-certificates)
# Installed afterwards with apt inside the chroot (needs /proc mounted, e.g. for openjdk).
# netbase: /etc/protocols + /etc/services; minbase lacks it and firewalld then
# dies at start with "INVALID_PROTOCOL: esp".
# prometheus, prometheus-node-exporter: the lab's metrics (provisioning turns them on where they belong).
# python3-pip: provisioning installs kafka-python (the current release, uploaded) with it.
PACKAGES=(netbase curl python3 python3-pip openjdk-17-jre-headless firewalld nftables netcat-openbsd less prometheus prometheus-node-exporter)

# kafka-python's wheel: the file and SHA-256 that src/downloads.ts pins (a test holds them equal), fetched
# here on the host (which trusts what the chroot may not) into the cache the deploying program uses too.
KAFKA_PYTHON_URL="https://files.pythonhosted.org/packages/41/ff/7b151e958d98cd6db252b1908f028e049744d26ec9373b1d01959e3bfb47/kafka_python-3.0.12-py3-none-any.whl"
KAFKA_PYTHON_SHA256="67add72052e3ad0c37ed9963ebe2b1696adc7f063c64eaf19862c21b69a64a18"

CACHE="${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"

[[ "$(id -u)" -eq 0 ]] || die "must run as root (debootstrap, chroot and mounts need it)"
command -v debootstrap >/dev/null || die "debootstrap missing: run scripts/local/preflight.sh --install"

# --- Recipe hash: package lists + suite + this script's content.
hash="$( { printf '%s\n' "$SUITE" "${BASE_PACKAGES[@]}" -- "${PACKAGES[@]}"; cat "$self"; } \
         | sha256sum | cut -c1-16)"
root_dir="$CACHE/rootfs"
final="$root_dir/$hash"
mkdir -p "$root_dir"

# One builder at a time: Pulumi may create several machines in parallel and
# each may call this script; the second waits and then finds the cache warm.
# The lock is taken on the cache directory itself (no lock file to leave).
exec 9<"$root_dir"
if ! flock -w 1800 9; then die "timed out waiting for another rootfs build (lock on $root_dir)"; fi

if [[ -d "$final" ]]; then
  log "cache hit: $final"
  printf '%s\n' "$final"
  exit 0
fi

# --- Mirrors: reuse what this host's apt uses (deb822 *.sources or one-line lists).
host_uri_for_suite() { # $1 = suite name, prints the first matching URI
  local want="$1"
  # deb822 stanzas
  awk -v want="$want" '
    BEGIN { RS=""; FS="\n" }
    {
      uris=""; suites=""
      for (i=1;i<=NF;i++) {
        if ($i ~ /^URIs:/)   { uris=$i;   sub(/^URIs:[ \t]*/, "", uris) }
        if ($i ~ /^Suites:/) { suites=$i; sub(/^Suites:[ \t]*/, "", suites) }
      }
      n=split(suites, s, /[ \t]+/)
      for (j=1;j<=n;j++) if (s[j]==want && uris!="") { split(uris, u, /[ \t]+/); print u[1]; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1
  # one-line format: deb [opts] URI SUITE COMPONENTS...
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
    | sed -E 's/\[[^]]*\]//' \
    | awk -v want="$want" '$1=="deb" && $3==want { print $2; exit }'
  return 0 # absent files are normal; the caller falls back to deb.debian.org
}
MIRROR="${KAFKA_LAB_MIRROR:-$(host_uri_for_suite "$SUITE" | head -n1)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SEC_MIRROR="${KAFKA_LAB_SECURITY_MIRROR:-$(host_uri_for_suite "$SUITE-security" | head -n1)}"
SEC_MIRROR="${SEC_MIRROR:-http://deb.debian.org/debian-security}"
log "mirror: $MIRROR (security: $SEC_MIRROR)"

# --- Build dir + cleanup that never leaves host mounts behind.
# Leftovers of an earlier, killed build are removed first (safe: we hold the lock).
build="$root_dir/.build-$hash.$$"

umount_under() { # unmount everything mounted at or below $1, deepest first
  local base="$1" m
  # /proc/mounts escapes spaces as \040; our paths have none.
  awk -v b="$base" '$2==b || index($2, b"/")==1 { print $2 }' /proc/mounts | sort -r \
    | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"
      done
}
remove_tree() { # unmount, then delete without ever crossing into another filesystem
  local d="$1"
  [[ -e "$d" ]] || return 0
  umount_under "$d"
  if awk -v b="$d" 'index($2, b"/")==1 || $2==b { found=1 } END { exit !found }' /proc/mounts; then
    die "refusing to delete $d: something is still mounted below it"
  fi
  rm -rf --one-file-system "$d"
}
for old in "$root_dir"/.build-*; do
  [[ -e "$old" ]] || continue
  log "removing leftover of an interrupted build: $old"
  remove_tree "$old"
done

cleanup() {
  local rc=$?
  umount_under "$build"
  if (( rc != 0 )); then
    log "build failed (exit $rc); removing $build"
    remove_tree "$build" || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$SECONDS
mkdir -p "$build"

# --- Stage 1: debootstrap the minimal system.
log "debootstrap $SUITE (minbase + ${BASE_PACKAGES[*]}) into $build"
debootstrap --variant=minbase --include="$(IFS=,; echo "${BASE_PACKAGES[*]}")" \
  "$SUITE" "$build" "$MIRROR" >&2 || die "debootstrap failed"
log "debootstrap done in $((SECONDS - t0)) s"

# --- Stage 2: apt inside a chroot, with /proc, /sys and /dev mounted for
# maintainer scripts (openjdk's postinst needs /proc). Unmounted right after.
cat >"$build/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SEC_MIRROR $SUITE-security main
SRC
# No service may start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$build/usr/sbin/policy-rc.d"
chmod 0755 "$build/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$build/etc/resolv.conf" 2>/dev/null || true

mount -t proc proc "$build/proc"
mount -t sysfs sysfs "$build/sys"
mount --bind /dev "$build/dev"

in_chroot() { chroot "$build" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                DEBIAN_FRONTEND=noninteractive LC_ALL=C HOME=/root "$@"; }

log "apt-get install ${PACKAGES[*]}"
in_chroot apt-get update -qq >&2 || die "apt-get update in chroot failed"
in_chroot apt-get -y -qq -o Dpkg::Use-Pty=0 dist-upgrade >&2 || die "apt-get dist-upgrade in chroot failed"
in_chroot apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends "${PACKAGES[@]}" >&2 \
  || die "apt-get install in chroot failed"
in_chroot java -version >/dev/null 2>&1 || die "java does not run inside the rootfs"
in_chroot python3 -m pip --version >/dev/null || die "pip does not run inside the rootfs"
# kafka-python for the example clients and the lag exporter, as provisioning would install it from the
# uploaded wheel (src/downloads.ts pins the same release and SHA-256): in the image, so that a deploy skips it.
wheel="$CACHE/downloads/${KAFKA_PYTHON_URL##*/}"
if ! printf '%s  %s\n' "$KAFKA_PYTHON_SHA256" "$wheel" | sha256sum -c --status 2>/dev/null; then
  mkdir -p "$CACHE/downloads"
  curl -fsSL --retry 3 --max-time 300 -o "$wheel.part" "$KAFKA_PYTHON_URL" || die "cannot fetch $KAFKA_PYTHON_URL"
  printf '%s  %s\n' "$KAFKA_PYTHON_SHA256" "$wheel.part" | sha256sum -c --status || { rm -f "$wheel.part"; die "SHA-256 of $KAFKA_PYTHON_URL does not match $KAFKA_PYTHON_SHA256"; }
  mv -f "$wheel.part" "$wheel"
fi
cp "$wheel" "$build/tmp/"
in_chroot python3 -m pip install --quiet --no-index --no-deps --break-system-packages "/tmp/${wheel##*/}" >&2 \
  || die "pip could not install ${wheel##*/} inside the rootfs"
rm -f "$build/tmp/${wheel##*/}"
in_chroot python3 -c 'import kafka' || die "python3 cannot import kafka inside the rootfs"
in_chroot getent protocols esp >/dev/null || die "/etc/protocols lacks esp (firewalld would not start)"

# --- Stage 3: configuration shared by all machines.
log "configuring users and services"
# The SSH user, like a cloud image's default user: no password ('*' = no
# password login, but not "locked", so key login via PAM still works).
in_chroot useradd --create-home --shell /bin/bash --groups sudo debian
in_chroot usermod -p '*' debian
printf 'debian ALL=(ALL) NOPASSWD:ALL\n' >"$build/etc/sudoers.d/90-debian"
chmod 0440 "$build/etc/sudoers.d/90-debian"
in_chroot visudo -cq || die "sudoers check failed"
install -d -m 0700 -o 1000 -g 1000 "$build/home/debian/.ssh" # uid/gid of the first user
[[ "$(in_chroot id -u debian)" == 1000 ]] || die "unexpected uid for user debian"

# Networking by systemd-networkd (machine.sh writes the per-machine file), sshd on.
in_chroot systemctl enable systemd-networkd.service ssh.service >&2
# firewalld is installed but left off: provisioning decides when to enable it
# (and which ports to open), as on a cloud image without it.
in_chroot systemctl disable firewalld.service >&2 2>/dev/null || true
# Prometheus runs on the monitoring host alone, under the lab's own unit. node_exporter stays enabled, as
# Debian's package leaves it: every machine runs it from boot.
in_chroot systemctl disable prometheus.service >&2 2>/dev/null || true
# No console login prompt: machines run with a read-only console.
in_chroot systemctl mask console-getty.service >&2 2>/dev/null || true

# Per-machine identity must not be baked in: machine.sh creates fresh ones.
rm -f "$build"/etc/ssh/ssh_host_*
: >"$build/etc/machine-id"
rm -f "$build/var/lib/dbus/machine-id"
printf 'localhost\n' >"$build/etc/hostname"
rm -f "$build/etc/resolv.conf" "$build/usr/sbin/policy-rc.d"
in_chroot apt-get clean

umount_under "$build"
# Recipe marker, handy when looking at the cache by hand.
printf 'suite=%s\nbase=%s\npackages=%s\nbuilt=%s\n' "$SUITE" "${BASE_PACKAGES[*]}" "${PACKAGES[*]}" \
  "$(date -u +%FT%TZ)" >"$build/.kafka-lab-rootfs"

mv -T "$build" "$final"
trap - EXIT
log "built $final in $((SECONDS - t0)) s ($(du -sh --one-file-system "$final" | cut -f1))"

# Older recipes' trees are dead weight; drop those no machine overlay uses
# (a mounted machine keeps its lowerdir until it is recreated).
for old in "$root_dir"/*; do
  [[ -d "$old" && "$old" != "$final" ]] || continue
  if grep -q "lowerdir=${old}[,:]" /proc/mounts; then
    log "keeping older rootfs $old: a machine still uses it"
  else
    log "removing older rootfs $old"
    remove_tree "$old"
  fi
done
printf '%s\n' "$final"
