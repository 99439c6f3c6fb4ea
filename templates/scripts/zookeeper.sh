# Step: configure and (re)start ZooKeeper as a systemd service, then wait until it answers.
# Inputs: ZOOKEEPER_PROPERTIES, ZOOKEEPER_UNIT, ZOOKEEPER_PORT, KAFKA_DIR_NAME (the installed release:
# a new one restarts the service on it).
write_file /etc/kafka/zookeeper.properties 0640 root:kafka "$ZOOKEEPER_PROPERTIES"
write_file /etc/systemd/system/zookeeper.service 0644 root:root "$ZOOKEEPER_UNIT"
systemctl daemon-reload
systemctl enable zookeeper >/dev/null 2>&1
# Restarting ZooKeeper restarts Kafka too (Kafka requires it): the step only runs when its inputs change.
systemctl restart zookeeper
zk_ok() { [ "$( (exec 3<>/dev/tcp/127.0.0.1/"$ZOOKEEPER_PORT" && printf 'ruok' >&3 && timeout 5 cat <&3) 2>/dev/null)" = imok ]; }
if ! retry_until "ZooKeeper" 480 0.25 zk_ok; then
    journalctl -u zookeeper -n 30 --no-pager >&2 || true
    die "ZooKeeper did not answer ruok on port $ZOOKEEPER_PORT within 120s"
fi
log "ZooKeeper is serving on port $ZOOKEEPER_PORT"
