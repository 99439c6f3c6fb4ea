# Step: put Kafka's data on the broker's dedicated volume, mounted at a persistent path.
# Inputs: DATA_DEVICES (candidate device paths, first that exists wins), DATA_DIR, DATA_SIZE_GIB (the
# volume's size: when it grew, the filesystem is grown to match; 0 = not known).
device=""
find_device() {
    local d
    for d in $DATA_DEVICES; do
        if [ -b "$d" ]; then device=$(readlink -f "$d"); return 0; fi
    done
    return 1
}
# The volume attachment can lag behind the instance by a minute.
retry_until "data volume" 60 3 find_device || die "none of the data volume devices appeared: $DATA_DEVICES"
if ! blkid "$device" >/dev/null 2>&1; then
    log "formatting $device (new volume)"
    if command -v mkfs.xfs >/dev/null; then mkfs.xfs -q "$device"; else mkfs.ext4 -q "$device"; fi
fi
uuid=$(blkid -s UUID -o value "$device")
fstype=$(blkid -s TYPE -o value "$device")
install -d -m 0755 "$DATA_DIR"
if ! grep -q "UUID=$uuid" /etc/fstab; then
    # nofail: a missing volume must not keep the machine from booting (Kafka then fails loudly instead).
    printf 'UUID=%s %s %s defaults,nofail 0 2\n' "$uuid" "$DATA_DIR" "$fstype" >>/etc/fstab
fi
mountpoint -q "$DATA_DIR" || mount "$DATA_DIR"
# SELinux (the RHEL family): a new filesystem's root is unlabeled_t, which confined services may not use.
if command -v restorecon >/dev/null && command -v selinuxenabled >/dev/null && selinuxenabled; then
    restorecon -R "$DATA_DIR"
    log "SELinux labels restored on $DATA_DIR"
fi
log "$device ($fstype) mounted at $DATA_DIR"
if [ "$DATA_SIZE_GIB" -gt 0 ]; then
    # A volume resized in place shows its new size to the machine a little later.
    wanted=$((DATA_SIZE_GIB * 1024 * 1024 * 1024))
    device_big_enough() { [ "$(blockdev --getsize64 "$device")" -ge "$wanted" ]; }
    retry_until "volume size" 120 1 device_big_enough || die "$device is still smaller than ${DATA_SIZE_GIB} GiB after 120s"
    case "$fstype" in
        xfs) xfs_growfs "$DATA_DIR" >/dev/null ;;
        ext4) resize2fs "$device" >/dev/null 2>&1 ;;
        *) die "cannot grow a $fstype filesystem" ;;
    esac
    log "filesystem at $DATA_DIR: $(df -h --output=size "$DATA_DIR" | tail -n 1 | tr -d ' ') on a ${DATA_SIZE_GIB} GiB volume"
fi
