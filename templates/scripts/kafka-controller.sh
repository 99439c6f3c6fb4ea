# Step (controllers: dedicated): configure and (re)start the KRaft controller as a systemd service of its
# own, kafka-controller, beside the broker. Inputs: CONTROLLER_PROPERTIES, CONTROLLER_UNIT, KAFKA_DIR_NAME
# (the installed release: a new one restarts the controller on it), CONTROLLER_ID, CLUSTER_ID,
# (empty in a ZooKeeper migration: the ZooKeeper cluster's own, from the broker's data beside it),
# CONTROLLER_PORT, QUORUM_SIZE, DATA_DIR, INTERNAL_BOOTSTRAP, REBUILD, INTERNAL_TLS (mtls: a digest of the
# node's keystore and the CA; a new one restarts the controller) and TOOLS (the node's tools properties).
# Arguments: start (step kafka-controller: a new machine; the controllers start side by side, as a quorum
# forms only with its majority) or roll (step kafka-controller-roll, one controller after the other, before
# any broker rolls: a changed setting or release).
# roll: nothing when the controller already runs this configuration (right after start, or with no change).
#   Otherwise: first every voter of the quorum caught up with its leader, then the restart, then its own
#   listener, then again every voter caught up, so that the next restart never takes the quorum's majority.
MODE=${1:-start}
if [ -z "$CLUSTER_ID" ]; then
    # KIP-866: the controllers are formatted with the id ZooKeeper gave the cluster, which every broker keeps.
    CLUSTER_ID=$(sed -n 's/^cluster.id=//p' "$DATA_DIR/data/meta.properties" 2>/dev/null)
    [ -n "$CLUSTER_ID" ] || die "no cluster id: the ZooKeeper cluster's broker beside this controller has no $DATA_DIR/data/meta.properties (has it ever started?)"
fi
applied=/etc/kafka/.kafka-lab-controller-applied
desired=$(printf '%s\n' "$CONTROLLER_PROPERTIES" "$CONTROLLER_UNIT" "$INTERNAL_TLS" "$KAFKA_DIR_NAME" "$CLUSTER_ID" | sha256sum | cut -d' ' -f1)
metadata_dir=$DATA_DIR/controller
meta=$metadata_dir/meta.properties
listening() { ss -ltnH "sport = :$CONTROLLER_PORT" | grep -q .; }
# Every voter (Leader or Follower) listed, each at most 100 records behind the leader, as the brokers report
# the quorum: a voter restarted too early would leave the quorum without its majority.
quorum_caught_up() {
    local out
    out=$(timeout 60 /opt/kafka/bin/kafka-metadata-quorum.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" describe --replication 2>/dev/null) || return 1
    awk -v size="$QUORUM_SIZE" '
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "Lag") lag = i; if ($i == "Status") status = i }; next }
        $status == "Leader" || $status == "Follower" { voters++; if ($lag > 100) behind++ }
        END { exit !(lag && status && voters == size && !behind) }' <<<"$out"
}
fail() {
    journalctl -u kafka-controller -n 20 --no-pager >&2 || true
    tail -n 30 /var/log/kafka-controller/server.log >&2 2>/dev/null || true
    die "$1"
}

if [ "$MODE" = roll ] && systemctl is-active --quiet kafka-controller && [ "$(cat "$applied" 2>/dev/null)" = "$desired" ]; then
    log "KRaft controller $CONTROLLER_ID already runs this configuration"
    exit 0
fi
if [ "$MODE" = roll ] && [ "$QUORUM_SIZE" -gt 1 ] && systemctl is-active --quiet kafka-controller; then
    retry_until "quorum caught up" 300 1 quorum_caught_up || die "the controller quorum has not every voter caught up after 300s; not restarting controller $CONTROLLER_ID, which could take its majority"
    log "every voter of the quorum is caught up: restarting controller $CONTROLLER_ID"
fi

install -d -o kafka -g kafka -m 0750 "$metadata_dir"
install -d -o kafka -g kafka -m 0755 /var/log/kafka-controller
write_file /etc/kafka/controller.properties 0640 root:kafka "$CONTROLLER_PROPERTIES"
write_file /etc/systemd/system/kafka-controller.service 0644 root:root "$CONTROLLER_UNIT"
systemctl daemon-reload
systemctl enable kafka-controller >/dev/null 2>&1

# The metadata log is this cluster's or none: another cluster's id is refused unless rebuildCluster.
if [ -f "$meta" ] && [ "$(sed -n 's/^cluster.id=//p' "$meta")" != "$CLUSTER_ID" ]; then
    [ "$REBUILD" = true ] || die "$metadata_dir holds another cluster's metadata (cluster.id $(sed -n 's/^cluster.id=//p' "$meta"), not $CLUSTER_ID); set rebuildCluster to true to remove it, or rebuild the machine"
    systemctl stop kafka-controller 2>/dev/null || true
    find "$metadata_dir" -mindepth 1 -delete
    log "rebuildCluster: removed another cluster's metadata from $metadata_dir"
fi
if [ ! -f "$meta" ]; then
    # --cluster-id=ID: one id in 64 starts with "-" (base64url), which `-t ID` would read as an option.
    runuser -u kafka -- /opt/kafka/bin/kafka-storage.sh format --cluster-id="$CLUSTER_ID" -c /etc/kafka/controller.properties --ignore-formatted >/dev/null \
        || die "kafka-storage.sh format failed for controller $CONTROLLER_ID"
    log "controller $CONTROLLER_ID's metadata log formatted for cluster $CLUSTER_ID"
fi

rm -f "$applied"
systemctl restart kafka-controller
retry_until "controller listening" 720 0.25 listening || fail "KRaft controller $CONTROLLER_ID did not listen on port $CONTROLLER_PORT within 180s"
printf '%s\n' "$desired" >"$applied"
log "KRaft controller $CONTROLLER_ID listens on $CONTROLLER_PORT"
if [ "$MODE" = roll ] && [ "$QUORUM_SIZE" -gt 1 ]; then
    retry_until "quorum caught up" 300 1 quorum_caught_up || fail "controller $CONTROLLER_ID is back, but the quorum has not every voter caught up after 300s"
    log "controller $CONTROLLER_ID is caught up with the quorum"
fi
