#!/usr/bin/env bash
# machine.sh — create, boot, inspect and destroy one kafka-lab local machine
# (a systemd-nspawn container booted with systemd, reachable by SSH).
#
# Usage:
#   scripts/local/machine.sh up     <name> <address/prefix> <bridge> <ssh-public-key> [<data-size>]
#   scripts/local/machine.sh down   <name>
#   scripts/local/machine.sh kill   <name>              # pull the plug: SIGKILL to every process of the machine
#                                                       # (no shutdown); `up` with the same arguments boots it again
#   scripts/local/machine.sh status <name>              # prints "running <address>" or "stopped <address>|-"
#   scripts/local/machine.sh hostkey <name>             # prints its ed25519 SSH host key, read from its own disk
#   scripts/local/machine.sh exec   <name> <command...> # runs a command inside, as root (debug aid)
#
#   e.g. machine.sh up kl-broker 10.77.0.11/24 kl-br0 "ssh-ed25519 AAAA... lab" 2G
#
# Environment:
#   KAFKA_LAB_ROOTFS        rootfs to boot (default: the path rootfs.sh prints, building it if needed)
#   KAFKA_LAB_STATE         state root (default /var/lib/kafka-lab)
#   KAFKA_LAB_BOOT_TIMEOUT  seconds `up` waits for sshd (default 60)
#   KAFKA_LAB_KEEP_FAILED=1 keep a machine whose `up` failed, for debugging
#
# Layout of one machine, all under $KAFKA_LAB_STATE/machines/<name>/:
#   upper/ work/ merged/   overlay: lowerdir = shared read-only rootfs, upper = this machine's changes
#   config                 what `up` was asked for (read by the supervisor)
#   supervisor.log         output of the supervisor and of the machine's console
#   supervisor.pid, nspawn.pid
#   stopping               flag set by `down`: the supervisor must not restart the machine
#   data.img, data/        optional data volume (sparse ext4 image, loop-mounted,
#                          bind-mounted into the machine at /var/lib/kafka)
#
# Process model: `up` starts a small supervisor (this script, `__supervise`)
# fully detached (setsid, stdin /dev/null, output to the log) so it outlives the
# Pulumi command that ran `up`. The supervisor first moves itself into the
# machine's own cgroup (nspawn --keep-unit puts the machine's cgroups below the
# cgroup it starts from, so machines must not share one), then runs
# systemd-nspawn and restarts it when it exits 133 (a reboot inside the
# machine); any other exit ends the supervisor.
# This host has no systemd as PID 1, hence --register=no --keep-unit, and
# nsenter instead of machinectl.
set -euo pipefail

log() { printf '[machine %s] %s\n' "${name:-?}" "$*" >&2; }
die() { printf '[machine %s] ERROR: %s\n' "${name:-?}" "$*" >&2; exit 1; }
trap 'log "ERROR: command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
STATE="${KAFKA_LAB_STATE:-/var/lib/kafka-lab}"
MACHINES="$STATE/machines"
BOOT_TIMEOUT="${KAFKA_LAB_BOOT_TIMEOUT:-60}"
STOP_TIMEOUT=30          # seconds for a clean halt after SIGTERM, before SIGKILL
CG_GROUP="kafka-lab"     # our cgroups: <hierarchy>/kafka-lab/<name>
DEBIAN_UID=1000          # uid/gid of user `debian` in the rootfs (rootfs.sh checks it)

usage() {
  sed -n '5,13p' "$self" | sed 's/^# \{0,1\}//' >&2
  exit 1
}

# ---------------------------------------------------------------- helpers ---

# The cgroup hierarchies a machine must get its own cgroup in: the systemd one
# (name=systemd on v1/hybrid) and the unified v2 one, whichever exist.
cgroup_roots() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    echo /sys/fs/cgroup                          # pure cgroup v2
  else
    local h
    for h in systemd unified; do
      [[ -d /sys/fs/cgroup/$h ]] && echo "/sys/fs/cgroup/$h"
    done
  fi
  return 0
}

# All PIDs in the machine's cgroups (any depth), in every hierarchy.
# These are the truth about "is anything of this machine still running".
cgroup_pids() {
  local r
  for r in $(cgroup_roots); do
    [[ -d "$r/$CG_GROUP/$name" ]] || continue
    find "$r/$CG_GROUP/$name" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done | sort -un
}

# PID from a pidfile, only if that process is alive and has the expected name
# (a stale pidfile must never make us signal an unrelated process).
pid_of() { # $1 = pidfile, $2 = expected /proc/PID/comm
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
  echo "$pid"
}

# The supervisor runs as `bash machine.sh __supervise <name>`: check its
# command line, since its comm is just "bash".
supervisor_pid() {
  local pid
  pid="$(cat "$M/supervisor.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "__supervise $name \?$" || return 1
  echo "$pid"
}

is_running() { [[ -n "$(cgroup_pids)" ]]; }

# kill_all TRIES PAUSE: SIGKILL to every process in the machine's cgroups until none is left, or die.
kill_all() {
  local _ pids
  for _ in $(seq "$1"); do
    pids="$(cgroup_pids)"
    [[ -n "$pids" ]] || break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep "$2"
  done
  is_running && die "processes survive SIGKILL in cgroup $CG_GROUP/$name: $(cgroup_pids | tr '\n' ' ')"
  return 0
}

is_mounted() { awk -v p="$1" '$2==p { f=1 } END { exit !f }' /proc/mounts; }

# The container's PID 1 (systemd), as seen from the host: nspawn's child.
container_init() {
  local np
  np="$(pid_of "$M/nspawn.pid" systemd-nspawn)" || return 1
  local c
  c="$(awk '{ print $1 }' "/proc/$np/task/$np/children" 2>/dev/null)"
  [[ -n "$c" ]] || return 1
  echo "$c"
}

# Value of KEY in a machine's config file (KEY=value lines written by `up`).
config_get() { # $1 = config file, $2 = KEY
  sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n1
}

ip_of() { echo "${1%/*}"; }

ssh_port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/22" 2>/dev/null; }

# ------------------------------------------------------------------- up -----

do_up() {
  local addr="$1" bridge="$2" pubkey="$3" data_size="${4:-}"

  [[ "$addr" =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] \
    || die "need an IPv4 address/prefix, e.g. 10.77.0.11/24 (got '$addr')"
  [[ -d "/sys/class/net/$bridge/bridge" ]] \
    || die "bridge '$bridge' does not exist: run scripts/local/network.sh up $bridge <address/prefix> first"
  [[ -z "$data_size" || "$data_size" =~ ^[0-9]+[KMGT]?$ ]] \
    || die "data size must look like 2G or 512M (got '$data_size')"
  local keyfile
  keyfile="$(mktemp)"
  printf '%s\n' "$pubkey" >"$keyfile"
  ssh-keygen -l -f "$keyfile" >/dev/null 2>&1 || { rm -f "$keyfile"; die "not a valid SSH public key: '${pubkey:0:40}...'"; }
  rm -f "$keyfile"

  if is_running; then
    # Idempotent: a running machine is left as it is. A different address or
    # bridge needs down + up (Pulumi replaces the resource for that).
    local cur_addr cur_bridge
    cur_addr="$(config_get "$M/config" ADDRESS)"
    cur_bridge="$(config_get "$M/config" BRIDGE)"
    [[ "$cur_addr" == "$addr" && "$cur_bridge" == "$bridge" ]] \
      || log "warning: running with $cur_addr on $cur_bridge, not $addr on $bridge; use down + up to change"
    log "already running; nothing to do"
    release_lock
    # Report, but never tear down, a machine that was already there.
    wait_for_ssh "$(ip_of "$cur_addr")" || die "$ssh_error (machine left running; see $M/supervisor.log)"
    return 0
  fi

  # The address must be free on the lab network (another machine, or the bridge itself).
  local ip other
  ip="$(ip_of "$addr")"
  for other in "$MACHINES"/*/config; do
    [[ -f "$other" && "$other" != "$M/config" ]] || continue
    [[ "$(ip_of "$(config_get "$other" ADDRESS)")" != "$ip" ]] || die "address $ip is already used by machine $(basename "$(dirname "$other")")"
  done
  if ip -4 -o addr show | awk -v ip="$ip" '{ split($4, a, "/") } a[1]==ip { f=1 } END { exit !f }'; then
    die "address $ip is already used by the host"
  fi

  # The shared rootfs (resolved in main, before the lock).
  local rootfs="$ROOTFS"
  [[ -n "$rootfs" && -x "$rootfs/lib/systemd/systemd" ]] || die "'$rootfs' does not look like a kafka-lab rootfs (try again)"

  # A stopped machine built on another rootfs: its upper dir belongs to the
  # old lower tree, so start it over from scratch.
  if [[ -f "$M/config" ]]; then
    local old_rootfs
    old_rootfs="$(config_get "$M/config" ROOTFS)"
    if [[ "$old_rootfs" != "$rootfs" ]]; then
      log "rootfs changed ($old_rootfs -> $rootfs): recreating the machine"
      do_down
    fi
  fi

  # From here on a failure leaves a half-made machine that Pulumi does not
  # record (so it would never call `down` for it): tear it down on any error,
  # unless it had booted before (then it is only stopped).
  booted_before=0
  [[ -e "$M/upper/etc/hostname" ]] && booted_before=1
  trap up_failed EXIT
  mkdir -p "$M"/{upper,work,merged}
  chmod 0700 "$M"
  cat >"$M/config" <<EOF
ADDRESS=$addr
BRIDGE=$bridge
ROOTFS=$rootfs
DATA_SIZE=$data_size
EOF

  # --- Overlay: the machine's own writable view of the shared rootfs.
  if ! is_mounted "$M/merged"; then
    log "mounting overlay at $M/merged"
    mount -t overlay "kafka-lab-$name" \
      -o "lowerdir=$rootfs,upperdir=$M/upper,workdir=$M/work" "$M/merged"
  fi
  local R="$M/merged"

  # --- Identity and configuration, written into the merged tree. Name and hosts only on the machine's first
  # boot: a machine booted again (after `kill`, or a host restart) keeps what provisioning made of them.
  if [[ ! -e "$M/upper/etc/hostname" ]]; then
    printf '%s\n' "$name" >"$R/etc/hostname"
    cat >"$R/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$name
::1		localhost ip6-localhost ip6-loopback
EOF
  fi
  # Static address on host0 (the machine's end of the veth pair on the bridge).
  # Sorted before the image's 80-container-host0.network (DHCP), so it wins.
  # No gateway: the machines only talk to the host and to each other.
  mkdir -p "$R/etc/systemd/network"
  cat >"$R/etc/systemd/network/10-kafka-lab-host0.network" <<EOF
[Match]
Name=host0

[Network]
Address=$addr
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
  # Fresh per-machine identity (kept across later `up`s of the same machine).
  if [[ ! -s "$R/etc/machine-id" ]]; then
    tr -d '-' </proc/sys/kernel/random/uuid >"$R/etc/machine-id"
  fi
  if ! ls "$R"/etc/ssh/ssh_host_*_key >/dev/null 2>&1; then
    log "generating SSH host keys"
    ssh-keygen -A -f "$R" >/dev/null
  fi
  install -d -m 0700 -o "$DEBIAN_UID" -g "$DEBIAN_UID" "$R/home/debian/.ssh"
  printf '%s\n' "$pubkey" >"$R/home/debian/.ssh/authorized_keys"
  chown "$DEBIAN_UID:$DEBIAN_UID" "$R/home/debian/.ssh/authorized_keys"
  chmod 0600 "$R/home/debian/.ssh/authorized_keys"

  # --- Optional data volume: a sparse ext4 image, loop-mounted on the host
  # (mount -o loop sets autoclear: unmounting also detaches the loop device).
  if [[ -n "$data_size" ]]; then
    if [[ ! -f "$M/data.img" ]]; then
      log "creating $data_size data volume"
      truncate -s "$data_size" "$M/data.img"
      mkfs.ext4 -q -F -L kafka-data -m 0 "$M/data.img"
    fi
    mkdir -p "$M/data"
    is_mounted "$M/data" || mount -o loop "$M/data.img" "$M/data"
  fi

  start_supervisor
  release_lock
  wait_for_ssh "$ip" || fail_boot "$ssh_error"
  trap - EXIT
}

start_supervisor() {
  # The machine's own cgroups, created before the supervisor moves into them.
  local r
  for r in $(cgroup_roots); do mkdir -p "$r/$CG_GROUP/$name"; done
  rm -f "$M/stopping"   # left by an interrupted `down`, it would stop a reboot
  : >>"$M/supervisor.log"
  log "booting (log: $M/supervisor.log)"
  # setsid: new session, no controlling terminal, out of the caller's process
  # group; all three std streams detached from the caller so Pulumi does not
  # wait for them; fd 9 (our lock) closed so the supervisor never holds it.
  setsid bash "$self" __supervise "$name" </dev/null >>"$M/supervisor.log" 2>&1 9>&- &
  echo $! >"$M/supervisor.pid"
}

ssh_error=""
wait_for_ssh() { # returns 1 with $ssh_error set when the machine does not come up
  local ip="$1" t0=$SECONDS
  while ! ssh_port_open "$ip"; do
    # The supervisor moves itself into the machine's cgroup only once it runs: until then the cgroup is
    # empty, and a busy host can take a moment; only both gone means the machine stopped.
    if ! is_running && ! supervisor_pid >/dev/null; then
      ssh_error="the machine stopped while booting"; return 1
    fi
    if (( SECONDS - t0 >= BOOT_TIMEOUT )); then
      ssh_error="sshd on $ip:22 did not answer within $BOOT_TIMEOUT s"; return 1
    fi
    sleep 0.5
  done
  log "up: sshd answers on $ip:22 (after $((SECONDS - t0)) s)"
}

fail_boot() {
  log "ERROR: $1; last lines of $M/supervisor.log:"
  tail -n 30 "$M/supervisor.log" 2>/dev/null | sed 's/^/    /' >&2 || true
  exit 1
}

up_failed() {
  local rc=$?
  (( rc != 0 )) || return 0
  if [[ "${KAFKA_LAB_KEEP_FAILED:-}" == 1 ]]; then
    log "KAFKA_LAB_KEEP_FAILED=1: leaving the failed machine as it is"
  elif (( booted_before )); then
    # A machine that had booted before holds its own disks (Kafka's data among them): stop it, keep them.
    log "the machine booted before: stopping it, its disks kept (up again to retry, down to remove it)"
    take_lock
    if sp="$(supervisor_pid)"; then touch "$M/stopping"; kill -TERM "$sp" 2>/dev/null || true; fi
  else
    log "tearing the failed machine down"
    take_lock
    do_down || true
  fi
  exit "$rc"
}

# ------------------------------------------------------------ supervisor ----

do_supervise() {
  local BRIDGE DATA_SIZE r
  BRIDGE="$(config_get "$M/config" BRIDGE)"
  DATA_SIZE="$(config_get "$M/config" DATA_SIZE)"
  # Join the machine's own cgroups first: nspawn (--keep-unit) builds the
  # machine's cgroup tree below the cgroup it is started from.
  echo "[supervisor $(date -u +%FT%TZ)] joining the cgroups $CG_GROUP/$name"
  for r in $(cgroup_roots); do echo "$BASHPID" >"$r/$CG_GROUP/$name/cgroup.procs"; done

  local args=(
    -D "$M/merged" --boot
    --register=no --keep-unit   # no systemd on the host: no machined, no units
    -M "$name"
    --network-bridge="$BRIDGE"
    --console=read-only         # console output into our log; no input
    --link-journal=no           # nothing written into the host's journal dirs
  )
  [[ -z "${DATA_SIZE:-}" ]] || args+=(--bind="$M/data:/var/lib/kafka")

  local child="" stopping=0 rc starts=0 window_start=$SECONDS
  # `down` (or anyone) sending SIGTERM to the supervisor: pass it on to
  # nspawn, which halts the machine cleanly, then exit without restarting.
  trap 'stopping=1; [[ -z "$child" ]] || kill -TERM "$child" 2>/dev/null || true' TERM INT HUP
  while :; do
    echo "[supervisor $(date -u +%FT%TZ)] starting systemd-nspawn ${args[*]}"
    systemd-nspawn "${args[@]}" </dev/null &
    child=$!
    echo "$child" >"$M/nspawn.pid"
    rc=0; wait "$child" || rc=$?
    # A trapped signal interrupts `wait`; keep waiting for nspawn's real exit.
    while kill -0 "$child" 2>/dev/null; do rc=0; wait "$child" || rc=$?; done
    child=""
    echo "[supervisor $(date -u +%FT%TZ)] systemd-nspawn exited with $rc"
    if (( rc != 133 )) || (( stopping )) || [[ -e "$M/stopping" ]]; then
      break
    fi
    # 133 = the machine asked for a reboot. Guard against a reboot loop.
    if (( SECONDS - window_start > 60 )); then starts=0; window_start=$SECONDS; fi
    if (( ++starts > 10 )); then
      echo "[supervisor] more than 10 reboots within 60 s; giving up"
      break
    fi
    echo "[supervisor] reboot requested: restarting the machine"
  done
  rm -f "$M/nspawn.pid"
  echo "[supervisor $(date -u +%FT%TZ)] exiting"
}

# ------------------------------------------------------------------ down ----

do_down() {
  if [[ ! -d "$M" ]] && [[ -z "$(cgroup_pids)" ]]; then
    log "absent; nothing to do"
    remove_cgroups
    return 0
  fi

  # nspawn's lock on the image dir is named after the merged dir's device and
  # inode; it is normally removed by nspawn itself, but not after a SIGKILL.
  local nspawn_lock=""
  if is_mounted "$M/merged"; then
    nspawn_lock="/run/systemd/nspawn/locks/inode-$(stat -c '%d:%i' "$M/merged")"
  fi

  # 1. Stop: SIGTERM to nspawn makes systemd inside halt cleanly; the
  #    supervisor sees the stop flag and does not restart it.
  if is_running; then
    log "stopping"
    touch "$M/stopping"
    local np sp
    if np="$(pid_of "$M/nspawn.pid" systemd-nspawn)"; then kill -TERM "$np" 2>/dev/null || true; fi
    if sp="$(supervisor_pid)"; then kill -TERM "$sp" 2>/dev/null || true; fi
    local t0=$SECONDS
    while is_running && (( SECONDS - t0 < STOP_TIMEOUT )); do sleep 0.2; done
    # 2. Whatever is left after the bounded wait: SIGKILL everything in the
    #    machine's cgroups (supervisor, nspawn, and every process inside).
    if is_running; then
      log "still running after $STOP_TIMEOUT s: sending SIGKILL"
      kill_all 10 0.5
    fi
    log "stopped after $((SECONDS - t0)) s"
  fi

  # Bookkeeping nspawn leaves in /run after an unclean stop (rmdir: only if empty).
  [[ -z "$nspawn_lock" ]] || rm -f "$nspawn_lock"
  rmdir "/run/systemd/nspawn/propagate/$name" 2>/dev/null || true

  # The host end of the veth normally vanishes with the machine's network
  # namespace; remove it if something left it behind.
  local veth
  for veth in $(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep -x "vb-${name:0:12}.*" || true); do
    log "removing leftover veth $veth"
    ip link del "$veth" 2>/dev/null || true
  done

  # 3. Unmount (data volume first, then the overlay). autoclear detaches the
  #    loop device; detach explicitly too in case something cleared the flag.
  if [[ -d "$M" ]]; then
    local m
    awk -v b="$M" 'index($2, b"/")==1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
      log "unmounting $m"
      umount "$m" 2>/dev/null || umount -l "$m"
    done
    if [[ -f "$M/data.img" ]]; then
      local dev
      for dev in $(losetup -j "$M/data.img" -O NAME -n 2>/dev/null || true); do
        log "detaching $dev"
        losetup -d "$dev" || true
      done
    fi
    if awk -v b="$M" 'index($2, b"/")==1 { f=1 } END { exit !f }' /proc/mounts; then
      die "something is still mounted below $M; not deleting it"
    fi
    # 4. Delete the machine dir, never crossing into another filesystem.
    rm -rf --one-file-system "$M"
    log "removed $M"
  fi
  remove_cgroups
  log "down"
}

remove_cgroups() {
  # Deepest first: a cgroup dir can only be removed once it has no children.
  local r
  for r in $(cgroup_roots); do
    [[ -d "$r/$CG_GROUP/$name" ]] || continue
    find "$r/$CG_GROUP/$name" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [[ ! -d "$r/$CG_GROUP/$name" ]] || log "warning: could not remove cgroup $r/$CG_GROUP/$name"
    rmdir "$r/$CG_GROUP" 2>/dev/null || true   # only succeeds once the last machine is gone
  done
  # nspawn leaves empty bookkeeping dirs in /run; drop them once no machine
  # runs any more (rmdir only removes empty ones, so nothing in use goes).
  if [[ -z "$(ls -A "$MACHINES" 2>/dev/null)" ]]; then
    rmdir /run/systemd/nspawn/propagate /run/systemd/nspawn/locks /run/systemd/nspawn 2>/dev/null || true
  fi
  return 0
}

# ---------------------------------------------------------------- status ----

do_status() {
  local addr="-"
  [[ -f "$M/config" ]] && addr="$(config_get "$M/config" ADDRESS)"
  addr="${addr:--}"
  if is_running; then echo "running $addr"; else echo "stopped $addr"; fi
}

do_exec() {
  local init
  init="$(container_init)" || die "not running"
  # All namespaces of the container's PID 1, with its root and cwd.
  exec nsenter -t "$init" -a -- "$@"
}

# ------------------------------------------------------------------ main ----

take_lock() {
  # One `up`/`down` per host at a time for the setup phase: Pulumi may run the
  # three machines' commands in parallel, and they share cgroup parents,
  # the machines dir and the address check.
  # The lock is taken on the machines directory itself: no lock file to leave behind.
  mkdir -p "$MACHINES"
  exec 9<"$MACHINES"
  flock -w 300 9 || die "timed out waiting for the lock on $MACHINES"
}
release_lock() { exec 9>&-; }

(( $# >= 2 )) || usage
action="$1" name="$2"
shift 2
[[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "invalid machine name '$name' (lowercase letters, digits, '-'; max 31)"
M="$MACHINES/$name"

case "$action" in
  __supervise) do_supervise; exit 0 ;;
esac

[[ "$(id -u)" -eq 0 ]] || die "must run as root"

# Pulling the plug: every process of the machine (supervisor, nspawn, the machine's own) gets SIGKILL at
# once, so nothing inside shuts down cleanly. Its disks (overlay, data volume) stay as they were.
do_kill() {
  is_running || die "not running"
  # The host end of the machine's veth (the peer of its host0): seen to outlive a killed machine at times,
  # and then a new boot fails (nspawn cannot make the veth again).
  local init peer veth=""
  if init="$(container_init)" && peer="$(nsenter -t "$init" -n ip -o link show host0 2>/dev/null | sed -n 's/.*host0@if\([0-9]*\).*/\1/p')" && [[ -n "$peer" ]]; then
    veth="$(ip -o link show 2>/dev/null | awk -F': ' -v i="$peer" '$1 == i { sub(/@.*/, "", $2); print $2 }')"
  fi
  touch "$M/stopping"   # the supervisor, if it outlives the signal for a moment, must not restart it
  kill_all 50 0.1
  local i
  if [[ -n "$veth" ]]; then
    for i in $(seq 50); do ip link show "$veth" >/dev/null 2>&1 || break; sleep 0.1; done
    if ip link show "$veth" >/dev/null 2>&1; then log "removing its leftover veth $veth"; ip link del "$veth" 2>/dev/null || true; fi
  fi
  rm -f "$M/nspawn.pid" "$M/supervisor.pid" "$M/stopping"
  log "killed (no shutdown)"
}

case "$action" in
  kill)
    (( $# == 0 )) || usage
    do_kill
    ;;
  up)
    (( $# == 3 || $# == 4 )) || usage
    # The shared rootfs (cached; built on first use). Resolved before taking
    # the machines lock: a cold build takes minutes and has its own lock, so
    # machines started in parallel wait there, not on each other.
    ROOTFS="${KAFKA_LAB_ROOTFS:-}"
    if [[ -z "$ROOTFS" ]] && ! is_running; then
      ROOTFS="$("$here/rootfs.sh" | tail -n1)" || die "rootfs.sh failed"
    fi
    take_lock
    do_up "$@"
    ;;
  down)
    (( $# == 0 )) || usage
    take_lock
    do_down
    ;;
  status) do_status ;;
  hostkey)
    # From the machine's disk on this host, not from the network: what SSH connections pin.
    key="$M/upper/etc/ssh/ssh_host_ed25519_key.pub"
    [[ -s "$key" ]] || die "no SSH host key at $key (is the machine up?)"
    awk '{ print $1 " " $2 }' "$key"
    ;;
  exec)
    (( $# >= 1 )) || usage
    do_exec "$@"
    ;;
  *) usage ;;
esac
