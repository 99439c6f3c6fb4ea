# Step: keep firewalld running (the hand-written guide stopped it; we do not) with a zone of our own
# that opens only this machine's ports to only the addresses that need them. Inputs: ZONE_XML.
# What firewalld was before the lab, so that removing the lab (existing target) can restore it.
install -d -m 0700 /var/lib/kafka-lab
if [ ! -f /var/lib/kafka-lab/firewalld-before ]; then
    if ! command -v firewall-cmd >/dev/null; then echo "absent" >/var/lib/kafka-lab/firewalld-before
    elif systemctl is-active --quiet firewalld; then echo "active $(firewall-cmd --get-default-zone)" >/var/lib/kafka-lab/firewalld-before
    else echo "inactive" >/var/lib/kafka-lab/firewalld-before; fi
fi
install_packages "firewalld" "firewalld"
systemctl enable --now firewalld >/dev/null 2>&1 || systemctl start firewalld
retry_until "firewalld" 30 1 firewall-cmd --state >/dev/null 2>&1 || die "firewalld did not start: $(systemctl status firewalld --no-pager 2>&1 | tail -n 5)"
write_file /etc/firewalld/zones/kafka-lab.xml 0644 root:root "$ZONE_XML"
firewall-cmd --reload >/dev/null
firewall-cmd --set-default-zone=kafka-lab >/dev/null
# Interfaces bound to another zone explicitly would bypass ours.
for iface in $(ls /sys/class/net); do
    [ "$iface" = lo ] && continue
    zone=$(firewall-cmd --get-zone-of-interface="$iface" 2>/dev/null || true)
    if [ -n "$zone" ] && [ "$zone" != kafka-lab ]; then
        firewall-cmd --permanent --zone="$zone" --remove-interface="$iface" >/dev/null
        firewall-cmd --zone="$zone" --remove-interface="$iface" >/dev/null
    fi
done
[ "$(firewall-cmd --get-default-zone)" = kafka-lab ] || die "firewalld default zone is not kafka-lab"
log "firewalld running, zone kafka-lab: $(firewall-cmd --zone=kafka-lab --list-rich-rules | wc -l) rules"
