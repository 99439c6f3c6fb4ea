# Step (kraftMigration rollback, first broker, once the controllers are gone): clear what the migration left
# in ZooKeeper, as Kafka's rollback procedure does: /controller (a KRaft controller's claim; a ZooKeeper-mode
# broker then takes the controller role) and /migration (the migration's state; left behind, a later
# migration starts from it and loses metadata, KAFKA-17146). Inputs: ZOOKEEPER_CONNECT; under mtls,
# ZOOKEEPER_TOOLS_PROPERTIES (ZooKeeper over TLS as the node).
zk() { timeout 60 /opt/kafka/bin/zookeeper-shell.sh "$ZOOKEEPER_CONNECT" ${ZOOKEEPER_TOOLS_PROPERTIES:+-zk-tls-config-file "$ZOOKEEPER_TOOLS_PROPERTIES"} "$@" 2>&1; }
controller=$(zk get /controller | grep '^{' || true)
log "/controller: ${controller:-none}"
if grep -q kraftControllerEpoch <<<"$controller"; then
    zk delete /controller >/dev/null || die "could not delete /controller from ZooKeeper"
    log "deleted /controller (a KRaft controller's)"
fi
migration=$(zk get /migration | grep '^{' || true)
if [ -n "$migration" ]; then
    log "/migration: $migration"
    zk deleteall /migration >/dev/null || die "could not delete /migration from ZooKeeper"
    zk get /migration | grep -q '^{' && die "/migration is still in ZooKeeper"
    log "deleted /migration"
fi
