# Step: wait until the machine has finished booting, so that later steps do not race cloud-init or
# the package manager. Inputs: BOOT_TIMEOUT (seconds).
state=$(timeout "$BOOT_TIMEOUT" systemctl is-system-running --wait 2>/dev/null || true)
case "$state" in
    running | degraded) log "system is $state" ;;
    *) log "system state after ${BOOT_TIMEOUT}s: ${state:-unknown}; continuing" ;;
esac
os_family >/dev/null
log "reachable as $(id -un) on $(. /etc/os-release && echo "$PRETTY_NAME")"
