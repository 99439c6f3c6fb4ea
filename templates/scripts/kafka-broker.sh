# Step: configure and (re)start the Kafka broker as a systemd service, then wait until it answers on its
# internal listener (a ZooKeeper-mode broker opens it to requests only once it is registered).
# Inputs: SERVER_PROPERTIES, KAFKA_UNIT, BROKER_ID, ZOOKEEPER_PORT, INTERNAL_BOOTSTRAP, KAFKA_DIR_NAME (the
# installed release: a new one restarts the broker on it).
write_file /etc/kafka/server.properties 0640 root:kafka "$SERVER_PROPERTIES"
write_file /etc/systemd/system/kafka.service 0644 root:root "$KAFKA_UNIT"
systemctl daemon-reload
systemctl enable kafka >/dev/null 2>&1
systemctl restart kafka
if ! retry_until "Kafka listener" 720 0.25 kafka_answers "${INTERNAL_BOOTSTRAP%:*}" "${INTERNAL_BOOTSTRAP##*:}"; then
    journalctl -u kafka -n 20 --no-pager >&2 || true
    tail -n 30 /var/log/kafka/server.log >&2 2>/dev/null || true
    die "Kafka broker $BROKER_ID did not register and answer on $INTERNAL_BOOTSTRAP in time"
fi
log "Kafka broker $BROKER_ID is registered and answers on $INTERNAL_BOOTSTRAP"
