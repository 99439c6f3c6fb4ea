# Step: configure and (re)start the Kafka broker as a systemd service, then wait until it is
# registered in ZooKeeper and answers on its internal listener.
# Inputs: SERVER_PROPERTIES, KAFKA_UNIT, BROKER_ID, ZOOKEEPER_PORT, INTERNAL_BOOTSTRAP, KAFKA_DIR_NAME (the
# installed release: a new one restarts the broker on it).
write_file /etc/kafka/server.properties 0640 root:kafka "$SERVER_PROPERTIES"
write_file /etc/systemd/system/kafka.service 0644 root:root "$KAFKA_UNIT"
systemctl daemon-reload
systemctl enable kafka >/dev/null 2>&1
systemctl restart kafka
registered() { /opt/kafka/bin/zookeeper-shell.sh "localhost:$ZOOKEEPER_PORT" get "/brokers/ids/$BROKER_ID" 2>/dev/null | grep -q '"endpoints"'; }
answers() { timeout 30 /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" >/dev/null 2>&1; }
if ! retry_until "Kafka registration" 60 2 registered || ! retry_until "Kafka listener" 20 3 answers; then
    journalctl -u kafka -n 20 --no-pager >&2 || true
    tail -n 30 /var/log/kafka/server.log >&2 2>/dev/null || true
    die "Kafka broker $BROKER_ID did not register and answer on $INTERNAL_BOOTSTRAP in time"
fi
log "Kafka broker $BROKER_ID is registered and answers on $INTERNAL_BOOTSTRAP"
