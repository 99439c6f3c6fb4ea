# Step: configure and (re)start ZooKeeper as a systemd service, then wait until it answers. Inputs:
# ZOOKEEPER_PROPERTIES, ZOOKEEPER_UNIT, ZOOKEEPER_PORT, ZOOKEEPER_ID, ENSEMBLE_SIZE, KAFKA_DIR_NAME (the
# installed release: a new one restarts the service on it); with internalSecurity mtls, TOOLS (the node's
# tools' properties: ZooKeeper is asked over TLS) and INTERNAL_TLS (a digest of the node's certificate and
# CA: a new one restarts it). Argument:
# start (step zookeeper, a new machine): the nodes of an ensemble start side by side; each waits for its own
#   process only, since the quorum needs the others (the brokers' steps wait for the quorum).
# roll (step zookeeper-roll, one node after the other): nothing when the node already runs this
#   configuration. Otherwise, as Kafka's and ZooKeeper's docs roll an ensemble: first the ensemble has a
#   leader and every follower is synced, then this node restarts, then it serves and every follower is
#   synced again, so that the next node's restart never costs the quorum. Brokers stay up throughout
#   (their unit Wants ZooKeeper, it does not Require it).
MODE=${1:-start}
applied=/etc/kafka/.zookeeper-applied
TOOLS=${TOOLS:-}
desired=$(printf '%s\n' "$ZOOKEEPER_PROPERTIES" "$ZOOKEEPER_UNIT" "$ZOOKEEPER_ID" "$KAFKA_DIR_NAME" ${INTERNAL_TLS:+"$INTERNAL_TLS"} | sha256sum | cut -d' ' -f1)
if systemctl is-active --quiet zookeeper && [ "$(cat "$applied" 2>/dev/null)" = "$desired" ]; then
    log "ZooKeeper already runs this configuration (node $ZOOKEEPER_ID of $ENSEMBLE_SIZE)"
    exit 0
fi

# four_letter HOST WORD: ZooKeeper's answer to a four-letter command (srvr, mntr, ruok), empty when none;
# over TLS, as the node, with mtls.
four_letter() {
    if speaks_tls "$TOOLS"; then
        printf '%s' "$2" | tls_exchange "$1" "$ZOOKEEPER_PORT" "$TOOLS" 65536 2>/dev/null || true
    else
        (exec 3<>"/dev/tcp/$1/$ZOOKEEPER_PORT" && printf '%s' "$2" >&3 && timeout 5 cat <&3) 2>/dev/null || true
    fi
}
# This node by a name its certificate carries (over TLS), else on loopback.
self=127.0.0.1
if speaks_tls "$TOOLS"; then self=$(hostname); fi
zk_ok() { [ "$(four_letter "$self" ruok)" = imok ]; }
ensemble=$(sed -n 's/^server\.[0-9]*=\([^:]*\):.*/\1/p' <<<"$ZOOKEEPER_PROPERTIES")
# The ensemble is whole: every node serves as leader or follower, and the leader counts all others synced.
ensemble_synced() {
    local node mode leader=""
    for node in $ensemble; do
        mode=$(four_letter "$node" srvr | sed -n 's/^Mode: //p')
        case $mode in leader) leader=$node ;; follower) ;; *) return 1 ;; esac
    done
    [ -n "$leader" ] && [ "$(four_letter "$leader" mntr | awk '$1 == "zk_synced_followers" { print $2 }')" = "$((ENSEMBLE_SIZE - 1))" ]
}
ensemble_state() { for node in $ensemble; do printf '%s=%s ' "$node" "$(four_letter "$node" srvr | sed -n 's/^Mode: //p')"; done; }
# A broker deployed while its unit Required ZooKeeper would go down with it: it Wants it now (kafka-roll
# restarts the broker on the new unit later; only the dependency is changed here).
if grep -q '^Requires=zookeeper.service' /etc/systemd/system/kafka.service 2>/dev/null; then
    sed -i 's/^Requires=zookeeper.service$/Wants=zookeeper.service/' /etc/systemd/system/kafka.service
    systemctl daemon-reload
fi
rolling=false
if [ "$MODE" = roll ] && [ "$ENSEMBLE_SIZE" -gt 1 ] && systemctl is-active --quiet zookeeper; then
    rolling=true
    retry_until "ensemble synced" 300 1 ensemble_synced \
        || die "the ZooKeeper ensemble is not whole after 300s ($(ensemble_state)); not restarting node $ZOOKEEPER_ID, which could cost the quorum"
    log "the ensemble has a leader and every follower synced: restarting node $ZOOKEEPER_ID"
fi

write_file /etc/kafka/zookeeper.properties 0640 root:kafka "$ZOOKEEPER_PROPERTIES"
# The node's id in the ensemble (ignored by a standalone node).
data_dir=$(sed -n 's/^dataDir=//p' <<<"$ZOOKEEPER_PROPERTIES")
install -d -o kafka -g kafka -m 0750 "$data_dir"
write_file "$data_dir/myid" 0644 kafka:kafka "$ZOOKEEPER_ID"
write_file /etc/systemd/system/zookeeper.service 0644 root:root "$ZOOKEEPER_UNIT"
systemctl daemon-reload
systemctl enable zookeeper >/dev/null 2>&1
rm -f "$applied"
systemctl restart zookeeper
if ! retry_until "ZooKeeper" 480 0.25 zk_ok; then
    journalctl -u zookeeper -n 30 --no-pager >&2 || true
    die "ZooKeeper did not answer ruok on port $ZOOKEEPER_PORT within 120s$(speaks_tls "$TOOLS" && echo " (over TLS)")"
fi
if [ "$rolling" = true ]; then
    retry_until "ensemble synced again" 300 1 ensemble_synced \
        || die "node $ZOOKEEPER_ID is back, but the ensemble is not whole after 300s ($(ensemble_state))"
    log "node $ZOOKEEPER_ID rejoined: $(ensemble_state)"
fi
printf '%s\n' "$desired" >"$applied"
log "ZooKeeper is serving on port $ZOOKEEPER_PORT (node $ZOOKEEPER_ID of $ENSEMBLE_SIZE)"
