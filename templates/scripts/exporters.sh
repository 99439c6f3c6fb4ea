# Step: metrics on every machine. node_exporter (the OS package: Debian's prometheus-node-exporter, EPEL's on
# the RHEL family) everywhere; on machines that run Kafka or ZooKeeper, the JMX exporter agent (uploaded by
# the deploying machine, its SHA-256 checked here) and its rules, which the services' units load. Firewalld
# admits both only from the monitoring host. Inputs: AGENT_STAGED (empty on machines without such a
# service), AGENT_SHA256, AGENT_JAR, AGENT_RULES_PATH, AGENT_RULES, NODE_EXPORTER_PORT.
install -d -m 0700 /var/lib/kafka-lab
if [ "$(os_family)" = rhel ] && ! rpm -q golang-github-prometheus-node-exporter >/dev/null 2>&1; then
    install_packages "epel-release" ""
fi
# Whether node_exporter ran before the lab, so that removing the lab (existing target) leaves it as it was.
units="prometheus-node-exporter.service node_exporter.service"
if [ ! -f /var/lib/kafka-lab/node-exporter-before ]; then
    before=absent
    for unit in $units; do systemctl is-enabled --quiet "$unit" 2>/dev/null && before=enabled; done
    echo "$before" >/var/lib/kafka-lab/node-exporter-before
fi
install_packages "golang-github-prometheus-node-exporter" "prometheus-node-exporter"
unit=""
for u in $units; do systemctl cat "$u" >/dev/null 2>&1 && unit=$u && break; done
[ -n "$unit" ] || die "node_exporter is installed but neither of its units ($units) exists"
# Debian's package enables and starts it (another may not). Enabling costs a daemon reload: only when needed.
systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl enable "$unit" >/dev/null 2>&1
systemctl is-active --quiet "$unit" || systemctl start "$unit"
# Running is enough here (the smoke test checks that Prometheus scrapes it); a unit that failed is an error.
systemctl is-active --quiet "$unit" || die "node_exporter ($unit) did not start: $(systemctl status "$unit" --no-pager 2>&1 | tail -n 5)"

if [ -n "$AGENT_STAGED" ]; then
    [ -s "$AGENT_STAGED" ] || die "the uploaded JMX exporter agent $AGENT_STAGED is missing"
    actual=$(sha256sum "$AGENT_STAGED" | cut -d' ' -f1)
    [ "$actual" = "$AGENT_SHA256" ] || die "SHA-256 of the JMX exporter agent $AGENT_STAGED does not match: expected $AGENT_SHA256, got $actual"
    install -d -m 0755 "$(dirname "$AGENT_JAR")" "$(dirname "$AGENT_RULES_PATH")"
    install -m 0644 "$AGENT_STAGED" "$AGENT_JAR"
    write_file "$AGENT_RULES_PATH" 0644 root:root "$AGENT_RULES"
    log "node_exporter ($unit) on :$NODE_EXPORTER_PORT; JMX exporter agent ${AGENT_JAR##*/} with its rules in $AGENT_RULES_PATH"
else
    log "node_exporter ($unit) on :$NODE_EXPORTER_PORT"
fi
