# Step: give the machine its lab name. Inputs: LAB_HOSTNAME.
# The name it had before is kept, so that removing the lab (existing target) can give it back.
install -d -m 0700 /var/lib/kafka-lab
[ -f /var/lib/kafka-lab/original-hostname ] || hostname >/var/lib/kafka-lab/original-hostname
if [ "$(cat /etc/hostname 2>/dev/null)" != "$LAB_HOSTNAME" ]; then
    printf '%s\n' "$LAB_HOSTNAME" >/etc/hostname
    log "set /etc/hostname to $LAB_HOSTNAME"
fi
if command -v hostnamectl >/dev/null && hostnamectl set-hostname "$LAB_HOSTNAME" 2>/dev/null; then
    :
else
    hostname "$LAB_HOSTNAME"
fi
[ "$(hostname)" = "$LAB_HOSTNAME" ] || die "hostname is $(hostname), expected $LAB_HOSTNAME"
log "hostname is $LAB_HOSTNAME"
