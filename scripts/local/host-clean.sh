#!/usr/bin/env bash
# Checks that no trace of a local lab is left on this host: no lab bridge, no systemd-nspawn machine,
# no overlay or loop mount of the lab, no cgroup or state directory of its machines.
#
# Usage: scripts/local/host-clean.sh [BRIDGE] [MACHINE_PREFIX]    (defaults: kl-br0 kl-local)
# Only that lab's traces count: another lab (another stack, prefix and bridge) may run beside it.
# Exit 0 when clean; 1 with the list of leftovers otherwise.
set -euo pipefail
bridge=${1:-kl-br0}
prefix=${2:-kl-local}
left=()

ip link show "$bridge" >/dev/null 2>&1 && left+=("bridge $bridge")
pgrep -f "systemd-nspawn .*-M $prefix-" >/dev/null 2>&1 && left+=("systemd-nspawn processes: $(pgrep -f "systemd-nspawn .*-M $prefix-" | tr '\n' ' ')")
while read -r _ mnt fstype _; do
    case "$mnt" in
        /var/lib/kafka-lab/machines/"$prefix"-*) left+=("$fstype mount $mnt") ;;
    esac
done </proc/mounts
if command -v losetup >/dev/null; then
    while read -r dev file; do
        case "$file" in /var/lib/kafka-lab/machines/"$prefix"-*) left+=("loop device $dev ($file)") ;; esac
    done < <(losetup -n -O NAME,BACK-FILE 2>/dev/null || true)
fi
shopt -s nullglob
for d in /sys/fs/cgroup/*/kafka-lab/"$prefix"-* /sys/fs/cgroup/kafka-lab/"$prefix"-*; do
    [ -d "$d" ] && left+=("cgroup $d")
done
for d in /var/lib/kafka-lab/machines/"$prefix"-*; do left+=("machine directory $d"); done

if [ ${#left[@]} -gt 0 ]; then
    printf 'left on the host:\n' >&2
    printf '  %s\n' "${left[@]}" >&2
    exit 1
fi
echo "host is clean: no lab bridge, machine, mount, loop device or cgroup left" >&2
