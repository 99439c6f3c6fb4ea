# Step (kraftMigration rollback, each machine with a dedicated controller, once every broker runs in
# ZooKeeper mode again): stop and remove the KRaft controller, its configuration and its metadata log, as
# Kafka's rollback procedure deprovisions the controllers before ZooKeeper's migration state is cleared.
# Inputs: DATA_DIR.
systemctl disable --now kafka-controller >/dev/null 2>&1 || true
rm -f /etc/systemd/system/kafka-controller.service /etc/kafka/controller.properties /etc/kafka/.kafka-lab-controller-applied
systemctl daemon-reload
rm -rf "$DATA_DIR/controller" /var/log/kafka-controller
log "KRaft controller stopped and removed, with its metadata log"
