# Step (ZooKeeper to KRaft, first broker, whose machine runs a dedicated controller): wait until the
# controllers report the migration's state EXPECTED_STATE, as Kafka's docs and cp-ansible gate on it: the
# controller's JMX gauge kafka.controller:type=KafkaController,name=ZkMigrationState (0 NONE, 1 MIGRATION:
# the metadata copied and written to ZooKeeper too, 2 PRE_MIGRATION: waiting for every broker, 3
# POST_MIGRATION: finalized, 4 ZK). Every controller replays the state from the metadata log, so the one on
# this machine tells. Inputs: EXPECTED_STATE, JMX_URL (the controller's JMX, on this machine's loopback).
names=([0]=NONE [1]=MIGRATION [2]=PRE_MIGRATION [3]=POST_MIGRATION [4]=ZK)
state() {
    timeout 60 runuser -u kafka -- /opt/kafka/bin/kafka-jmx.sh --jmx-url "$JMX_URL" \
        --object-name 'kafka.controller:type=KafkaController,name=ZkMigrationState' --attributes Value --one-time true 2>/dev/null |
        awk -F, 'NR > 1 && $NF ~ /^[0-9]+$/ { v = $NF } END { if (v != "") print v }'
}
reached() { [ "$(state)" = "$EXPECTED_STATE" ]; }
log "waiting for the controllers' ZkMigrationState ${names[$EXPECTED_STATE]} ($EXPECTED_STATE)"
if ! retry_until "ZkMigrationState ${names[$EXPECTED_STATE]}" 300 2 reached; then
    now=$(state)
    # The migration driver's own lines (on the active controller) say what it waits for; the rest repeats.
    journalctl -u kafka-controller --no-pager 2>/dev/null | grep -E 'KRaftMigrationDriver|ZkMigration|MigrationClient' | tail -n 40 >&2 || true
    journalctl -u kafka-controller -n 10 --no-pager >&2 || true
    die "the controllers report ZkMigrationState ${names[${now:-9}]:-unknown (JMX did not answer)} (${now:-?}) after 300 tries 2 s apart, not ${names[$EXPECTED_STATE]}; their log is above (TRACE on org.apache.kafka.metadata.migration tells more)"
fi
log "the controllers report ZkMigrationState ${names[$EXPECTED_STATE]}"
