# Removal, run by `pulumi destroy` on machines that outlive the stack (existing target): takes back
# what the lab installed and changed, and leaves the rest of the machine as it was. Java and firewalld
# stay installed (other software may use them); Kafka's data stays unless PURGE_DATA is true.
# Inputs: DATA_DIR, PURGE_DATA.
for unit in kafka kafka-controller zookeeper kafka-lab-prometheus kafka-lab-lag-exporter; do
    systemctl disable --now "$unit" >/dev/null 2>&1 || true
    rm -f "/etc/systemd/system/$unit.service"
done
systemctl daemon-reload
# node_exporter off again if the lab turned it on (the package stays, as Java does); Prometheus' data goes.
if [ "$(cat /var/lib/kafka-lab/node-exporter-before 2>/dev/null)" = absent ]; then
    for unit in prometheus-node-exporter node_exporter; do systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
fi
rm -rf /var/lib/kafka-lab-prometheus
# internalSecurity mtls: the group that may read the client's key (its members lose it with it).
if getent group kafka-lab-client >/dev/null; then groupdel kafka-lab-client; fi
rm -rf /opt/kafka /opt/kafka_* /opt/kafka-lab /etc/kafka /etc/kafka-lab /var/log/kafka /var/log/kafka-controller /var/tmp/kafka-lab /var/tmp/kafka_*.tgz /etc/profile.d/kafka-lab.sh
if [ "$PURGE_DATA" = true ]; then
    if mountpoint -q "$DATA_DIR"; then find "$DATA_DIR" -mindepth 1 -delete; else rm -rf "$DATA_DIR"; fi
    if getent passwd kafka >/dev/null; then userdel kafka; fi
    if getent group kafka >/dev/null; then groupdel kafka 2>/dev/null || true; fi
    log "removed Kafka, its services and its data ($DATA_DIR)"
else
    log "removed Kafka and its services; kept its data in $DATA_DIR (and the kafka user who owns it)"
fi

# /etc/hosts without the lab's block.
if grep -q '^# BEGIN kafka-lab' /etc/hosts; then
    others=$(awk 'index($0,"# BEGIN kafka-lab")==1{skip=1;next} index($0,"# END kafka-lab")==1{skip=0;next} !skip' /etc/hosts)
    write_file /etc/hosts 0644 root:root "$others"
fi

# firewalld as it was: its zone, or stopped, as found.
read -r before zone </var/lib/kafka-lab/firewalld-before 2>/dev/null || before=""
if command -v firewall-cmd >/dev/null && systemctl is-active --quiet firewalld; then
    if [ "$before" = active ]; then firewall-cmd --set-default-zone="${zone:-public}" >/dev/null; else firewall-cmd --set-default-zone=public >/dev/null; fi
    rm -f /etc/firewalld/zones/kafka-lab.xml /etc/firewalld/zones/kafka-lab.xml.old
    firewall-cmd --reload >/dev/null
fi
case "$before" in
    inactive | absent) systemctl disable --now firewalld >/dev/null 2>&1 || true ;;
esac

# Its own name back.
if [ -s /var/lib/kafka-lab/original-hostname ]; then
    name=$(cat /var/lib/kafka-lab/original-hostname)
    printf '%s\n' "$name" >/etc/hostname
    hostnamectl set-hostname "$name" 2>/dev/null || hostname "$name"
fi
rm -rf /var/lib/kafka-lab
log "the lab is removed from $(hostname)"
