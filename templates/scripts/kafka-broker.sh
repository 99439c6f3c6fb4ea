# Step: configure and (re)start the Kafka broker as a systemd service. Inputs: SERVER_PROPERTIES,
# KAFKA_UNIT, KAFKA_DIR_NAME (the installed release: a new one restarts the broker on it), NODE_ID,
# METADATA (zookeeper or kraft: the mode this configuration runs the broker in), MIGRATION (the ZooKeeper to
# KRaft migration's phase, none without one), MIGRATE_FROM (step kafka-migrate: the mode a broker must run in
# for this roll to move it), CLUSTER_ID (kraft; empty after a migration: the data is the cluster's own), CLUSTER (true with more than one broker), OWN_LISTENER
# (host:port), CONTROLLER_PORT (kraft controllers; empty on other nodes), REBUILD (rebuildCluster: data of
# another cluster or metadata mode is removed instead of refused), EXTERNAL_KEYSTORE (sasl_ssl: the
# external listener's PEM key and certificates, a secret; empty with plaintext) and EXTERNAL_KEYSTORE_PATH,
# INTERNAL_TLS (mtls: a digest of the node's keystore and the CA, which step identities placed; a new one
# restarts the broker) and TOOLS (the node's tools properties).
# Nothing here names the other brokers: adding one changes no broker's inputs, so none restarts for it.
# Arguments: start (step kafka-broker: a new machine; the brokers start side by side), roll (steps
# kafka-roll and kafka-protocol, one broker after the other: a changed setting, release or certificate) or
# migrate (step kafka-migrate: a roll of a migration's phase, which leaves a broker already past it alone);
# then pin-protocol (kafka-roll in ZooKeeper mode): while the brokers move to a newer release, each keeps
# the inter.broker.protocol.version it runs; kafka-protocol raises it once every broker runs the release.
#
# start: configure, start, and wait for what this broker alone can show. A KRaft broker answers only once
#   the controller quorum has formed, which needs the other controllers: a controller waits for its own
#   controller listener; the topic step then waits for the whole cluster.
# roll: nothing when the broker already runs this configuration (right after start, or with no change).
#   Otherwise, as cp-ansible and Strimzi roll: first no partition under-replicated anywhere, then the
#   restart, then its own listener answering and again no partition under-replicated, so that the next
#   broker's restart never takes a partition's last replica.
MODE=${1:-start}
PIN=${2:-}
# The mode the broker runs in now: KRaft brokers have process.roles.
running_mode() { if grep -q '^process.roles=' /etc/kafka/server.properties 2>/dev/null; then echo kraft; else echo zookeeper; fi; }
# The protocol the running broker speaks: its properties' pin, else its release's major.minor (a broker
# started before the lab pinned it), read from the jar on its class path.
running_protocol() {
    local pinned pid
    pinned=$(sed -n 's/^inter.broker.protocol.version=//p' /etc/kafka/server.properties 2>/dev/null)
    if [ -n "$pinned" ]; then echo "$pinned"; return; fi
    pid=$(systemctl show -p MainPID --value kafka)
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -o 'libs/kafka_[0-9.]*-[0-9]*\.[0-9]*' | head -n1 | sed 's/.*-//'
}
if [ "$METADATA" = zookeeper ] && [ "$PIN" = pin-protocol ] && systemctl is-active --quiet kafka; then
    if pinned=$(keep_protocol "$SERVER_PROPERTIES" "$(running_protocol)"); then SERVER_PROPERTIES=$pinned; fi
fi
# What the running broker was started with: written after each (re)start, compared by roll.
applied=/etc/kafka/.kafka-lab-applied
desired=$(printf '%s\n' "$SERVER_PROPERTIES" "$KAFKA_UNIT" "$EXTERNAL_KEYSTORE" "$INTERNAL_TLS" "$KAFKA_DIR_NAME" "$CLUSTER_ID" | sha256sum | cut -d' ' -f1)
if [ "$MODE" = migrate ]; then
    if systemctl is-active --quiet kafka && [ "$(running_mode)" != "$MIGRATE_FROM" ] && [ "$(cat "$applied" 2>/dev/null)" != "$desired" ]; then
        log "broker $NODE_ID runs in $(running_mode) mode, past this roll of the migration ($MIGRATION): left as it is"
        exit 0
    fi
    MODE=roll
fi
own_host=${OWN_LISTENER%:*}
own_port=${OWN_LISTENER##*:}
# How many partitions are under-replicated, as this broker sees them; "unknown" when it cannot tell (a
# failed or timed-out query must never pass for zero and let the roll go on).
under_replicated() {
    local out
    out=$(timeout 60 /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$OWN_LISTENER" --command-config "$TOOLS" --describe --under-replicated-partitions 2>&1) || { echo unknown; return; }
    if grep -qE 'Error|Exception' <<<"$out"; then echo unknown; return; fi
    grep -c 'Topic:' <<<"$out" || true
}
no_under_replicated() { [ "$(under_replicated)" = 0 ]; }
listening() { ss -ltnH "sport = :$CONTROLLER_PORT" | grep -q .; }
fail() {
    journalctl -u kafka -n 20 --no-pager >&2 || true
    tail -n 30 /var/log/kafka/server.log >&2 2>/dev/null || true
    die "$1"
}

if [ "$MODE" = roll ] && systemctl is-active --quiet kafka && [ "$(cat "$applied" 2>/dev/null)" = "$desired" ]; then
    log "Kafka broker $NODE_ID already runs this configuration"
    exit 0
fi
if [ "$MODE" = roll ] && [ "$CLUSTER" = true ] && systemctl is-active --quiet kafka; then
    retry_until "no under-replicated partition" 300 1 no_under_replicated \
        || die "partitions are still under-replicated after 300s ($(under_replicated)); not restarting broker $NODE_ID, which could take their last in-sync replica"
    log "no partition is under-replicated: restarting broker $NODE_ID"
fi

# The key is kafka's alone (0600); a plaintext listener leaves none behind.
if [ -n "$EXTERNAL_KEYSTORE" ]; then
    install -d -m 0750 -o root -g kafka "$(dirname "$EXTERNAL_KEYSTORE_PATH")"
    write_file "$EXTERNAL_KEYSTORE_PATH" 0600 kafka:kafka "$EXTERNAL_KEYSTORE"
else
    rm -f "$EXTERNAL_KEYSTORE_PATH"
fi
write_file /etc/kafka/server.properties 0640 root:kafka "$SERVER_PROPERTIES"
write_file /etc/systemd/system/kafka.service 0644 root:root "$KAFKA_UNIT"
systemctl daemon-reload
systemctl enable kafka >/dev/null 2>&1

# meta.properties says whose data this is: version=1 (with node.id) is KRaft's, version=0 ZooKeeper mode's.
meta=/var/lib/kafka/data/meta.properties
foreign=""
# A migration keeps the ZooKeeper cluster's data: it is this cluster's own, in whichever mode.
if [ -f "$meta" ] && [ "$MIGRATION" = none ]; then
    if [ "$METADATA" = kraft ] && { ! grep -q '^version=1' "$meta" || [ "$(sed -n 's/^cluster.id=//p' "$meta")" != "$CLUSTER_ID" ]; }; then
        foreign="another cluster's (cluster.id $(sed -n 's/^cluster.id=//p' "$meta"), not $CLUSTER_ID) or ZooKeeper mode's"
    fi
    if [ "$METADATA" = zookeeper ] && grep -q '^version=1' "$meta"; then foreign="KRaft's"; fi
fi
if [ -n "$foreign" ]; then
    [ "$REBUILD" = true ] || die "/var/lib/kafka/data holds $foreign data; set rebuildCluster to true to remove it (its messages are lost), or rebuild the machine"
    systemctl stop kafka 2>/dev/null || true
    find /var/lib/kafka/data -mindepth 1 -delete
    log "rebuildCluster: removed $foreign data from /var/lib/kafka/data"
fi
if [ "$METADATA" = kraft ] && [ ! -f "$meta" ]; then
    # Formatted once, with the cluster's id (kept in the stack's state, never made per host). One id in 64
    # starts with "-" (base64url), which `-t ID` would read as an option: hence --cluster-id=ID.
    runuser -u kafka -- /opt/kafka/bin/kafka-storage.sh format --cluster-id="$CLUSTER_ID" -c /etc/kafka/server.properties --ignore-formatted >/dev/null \
        || die "kafka-storage.sh format failed"
    log "storage formatted for cluster $CLUSTER_ID"
fi

if [ "$MIGRATION" = rollback ] && [ "$METADATA" = zookeeper ] && [ "$MODE" = roll ] && [ -d /var/lib/kafka/data/__cluster_metadata-0 ]; then
    # A rolled-back migration leaves the KRaft metadata log it replicated: a later migration must not find it.
    systemctl stop kafka
    rm -rf /var/lib/kafka/data/__cluster_metadata-0
    log "removed the KRaft metadata log the migration left in the broker's data"
fi
rm -f "$applied"
systemctl restart kafka
if [ "$MODE" = start ] && [ -n "$CONTROLLER_PORT" ] && [ "$CLUSTER" = true ]; then
    retry_until "controller listening" 720 0.25 listening || fail "Kafka node $NODE_ID's controller did not listen on port $CONTROLLER_PORT within 180s"
    printf '%s\n' "$desired" >"$applied"
    log "Kafka node $NODE_ID is up, its controller listening on $CONTROLLER_PORT (the topic step waits for the cluster)"
    exit 0
fi
retry_until "Kafka listener" 720 0.25 kafka_answers "$own_host" "$own_port" "$TOOLS" || fail "Kafka broker $NODE_ID did not answer on $OWN_LISTENER within 180s"
log "Kafka broker $NODE_ID answers on $OWN_LISTENER"
printf '%s\n' "$desired" >"$applied"
if [ "$MODE" = roll ] && [ "$CLUSTER" = true ]; then
    retry_until "replicas back in sync" 300 1 no_under_replicated || die "broker $NODE_ID is back, but partitions are still under-replicated after 300s"
    log "broker $NODE_ID's replicas are back in sync"
fi
