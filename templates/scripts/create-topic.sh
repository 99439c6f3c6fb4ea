# Step: wait until every broker of the cluster answers and is registered, then create the lab's default
# topic, or bring an existing one to the configured partitions and retention. Runs on the first broker,
# after every broker's step. Inputs: TOPIC, PARTITIONS, REPLICATION_FACTOR, BROKERS, RETENTION_MS,
# INTERNAL_BOOTSTRAP, TOOLS (the admin's tools properties).
all_answer() {
    local b
    for b in ${INTERNAL_BOOTSTRAP//,/ }; do kafka_answers "${b%:*}" "${b##*:}" "$TOOLS" || return 1; done
}
registered() { [ "$(timeout 60 /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" 2>/dev/null | grep -c '(id: ')" -ge "$BROKERS" ]; }
if ! retry_until "every broker answers" 720 0.25 all_answer || ! retry_until "every broker registered" 60 1 registered; then
    die "not every one of the $BROKERS broker(s) answered and registered within 4 minutes ($INTERNAL_BOOTSTRAP)"
fi
log "all $BROKERS broker(s) answer and are registered"
topics() { timeout 60 /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" "$@"; }
# One tool run (a JVM start, the slow part) for a new topic; an existing one is described and brought in line.
created=$(topics --create --if-not-exists --topic "$TOPIC" --partitions "$PARTITIONS" --replication-factor "$REPLICATION_FACTOR" \
    --config retention.ms="$RETENTION_MS")
if grep -q "^Created topic" <<<"$created"; then
    log "created topic $TOPIC with $PARTITIONS partitions, $REPLICATION_FACTOR replica(s), retention.ms=$RETENTION_MS"
    exit 0
fi
current=$(topics --describe --topic "$TOPIC" | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n 1)
if [ "$current" -lt "$PARTITIONS" ]; then
    topics --alter --topic "$TOPIC" --partitions "$PARTITIONS"
    log "topic $TOPIC grown from $current to $PARTITIONS partitions"
elif [ "$current" -gt "$PARTITIONS" ]; then
    log "WARNING: topic $TOPIC has $current partitions; Kafka cannot reduce them to $PARTITIONS (left as is)"
fi
timeout 60 /opt/kafka/bin/kafka-configs.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" --alter --entity-type topics \
    --entity-name "$TOPIC" --add-config retention.ms="$RETENTION_MS" >/dev/null
log "topic $TOPIC: $PARTITIONS partitions, retention.ms=$RETENTION_MS"
