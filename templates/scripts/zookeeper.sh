# Step: configure and (re)start ZooKeeper as a systemd service, then wait until it answers. In an
# ensemble it waits for its own process only: the quorum needs the other nodes, whose steps run beside
# this one (the brokers' steps wait for the quorum). Inputs: ZOOKEEPER_PROPERTIES, ZOOKEEPER_UNIT,
# ZOOKEEPER_PORT, ZOOKEEPER_ID, ENSEMBLE_SIZE, KAFKA_DIR_NAME (the installed release: a new one restarts
# the service on it).
write_file /etc/kafka/zookeeper.properties 0640 root:kafka "$ZOOKEEPER_PROPERTIES"
# The node's id in the ensemble (ignored by a standalone node).
install -d -o kafka -g kafka -m 0750 "$(sed -n 's/^dataDir=//p' /etc/kafka/zookeeper.properties)"
write_file "$(sed -n 's/^dataDir=//p' /etc/kafka/zookeeper.properties)/myid" 0644 kafka:kafka "$ZOOKEEPER_ID"
write_file /etc/systemd/system/zookeeper.service 0644 root:root "$ZOOKEEPER_UNIT"
systemctl daemon-reload
systemctl enable zookeeper >/dev/null 2>&1
# Restarting ZooKeeper restarts Kafka too (Kafka requires it): only when it runs another configuration than
# this one (the step also re-runs when only its connection changed, e.g. a pinned host key).
applied=/etc/kafka/.zookeeper-applied
desired=$(printf '%s\n' "$ZOOKEEPER_PROPERTIES" "$ZOOKEEPER_UNIT" "$ZOOKEEPER_ID" "$KAFKA_DIR_NAME" | sha256sum | cut -d' ' -f1)
if systemctl is-active --quiet zookeeper && [ "$(cat "$applied" 2>/dev/null)" = "$desired" ]; then
    log "ZooKeeper already runs this configuration (node $ZOOKEEPER_ID of $ENSEMBLE_SIZE)"
    exit 0
fi
rm -f "$applied"
systemctl restart zookeeper
zk_ok() { [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$ZOOKEEPER_PORT" && printf 'ruok' >&3 && timeout 5 cat <&3) 2>/dev/null)" = imok ]; }
if ! retry_until "ZooKeeper" 480 0.25 zk_ok; then
    journalctl -u zookeeper -n 30 --no-pager >&2 || true
    die "ZooKeeper did not answer ruok on port $ZOOKEEPER_PORT within 120s"
fi
printf '%s\n' "$desired" >"$applied"
log "ZooKeeper is serving on port $ZOOKEEPER_PORT (node $ZOOKEEPER_ID of $ENSEMBLE_SIZE)"
