# Step (kraftMigration finalize, each machine that ran a ZooKeeper node, once the controllers report the
# migration finalized): stop and remove ZooKeeper, its configuration (its tools' too, under mtls) and its
# data; the cluster's metadata lives in the controllers' log now, and nothing reads ZooKeeper any more.
# Inputs: DATA_DIR.
systemctl disable --now zookeeper >/dev/null 2>&1 || true
rm -f /etc/systemd/system/zookeeper.service /etc/kafka/zookeeper.properties /etc/kafka/zookeeper-tools.properties /etc/kafka/.zookeeper-applied
systemctl daemon-reload
rm -rf "$DATA_DIR/zookeeper"
log "ZooKeeper stopped and removed, with its data"
