# Step: create the lab's default topic, or bring an existing one to the configured partitions and
# retention. Inputs: TOPIC, PARTITIONS, RETENTION_MS, INTERNAL_BOOTSTRAP.
topics() { timeout 60 /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" "$@"; }
# One tool run (a JVM start, the slow part) for a new topic; an existing one is described and brought in line.
created=$(topics --create --if-not-exists --topic "$TOPIC" --partitions "$PARTITIONS" --replication-factor 1 \
    --config retention.ms="$RETENTION_MS")
if grep -q "^Created topic" <<<"$created"; then
    log "created topic $TOPIC with $PARTITIONS partitions, retention.ms=$RETENTION_MS"
    exit 0
fi
current=$(topics --describe --topic "$TOPIC" | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1)
if [ "$current" -lt "$PARTITIONS" ]; then
    topics --alter --topic "$TOPIC" --partitions "$PARTITIONS"
    log "topic $TOPIC grown from $current to $PARTITIONS partitions"
elif [ "$current" -gt "$PARTITIONS" ]; then
    log "WARNING: topic $TOPIC has $current partitions; Kafka cannot reduce them to $PARTITIONS (left as is)"
fi
timeout 60 /opt/kafka/bin/kafka-configs.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --alter --entity-type topics \
    --entity-name "$TOPIC" --add-config retention.ms="$RETENTION_MS" >/dev/null
log "topic $TOPIC: $PARTITIONS partitions, retention.ms=$RETENTION_MS"
