# Step: unpack the verified Kafka tarball under /opt, point /opt/kafka at it, and create the
# unprivileged kafka user and its directories. Inputs: TARBALL, KAFKA_DIR_NAME, DATA_DIR.
staged=/var/tmp/kafka-lab/$TARBALL
target=/opt/$KAFKA_DIR_NAME
sum=$(cat "$staged.sha512-verified" 2>/dev/null) || die "$TARBALL was not staged and verified"
if ! getent passwd kafka >/dev/null; then
    useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /sbin/nologin kafka
    log "created user kafka"
fi
if [ "$(cat "$target/.kafka-lab-sha512" 2>/dev/null)" != "$sum" ]; then
    tmp=$(mktemp -d /opt/.kafka-lab-unpack.XXXXXX)
    tar -xzf "$staged" -C "$tmp"
    [ -x "$tmp/$KAFKA_DIR_NAME/bin/kafka-server-start.sh" ] || die "$TARBALL has no $KAFKA_DIR_NAME/bin/kafka-server-start.sh"
    rm -rf "$target"
    mv "$tmp/$KAFKA_DIR_NAME" "$target"
    rmdir "$tmp"
    printf '%s\n' "$sum" >"$target/.kafka-lab-sha512"
    chown -R root:root "$target"
    log "unpacked $TARBALL into $target"
fi
ln -sfn "$target" /opt/kafka
install -d -o kafka -g kafka -m 0750 "$DATA_DIR" "$DATA_DIR/data" "$DATA_DIR/zookeeper"
install -d -o kafka -g kafka -m 0755 /var/log/kafka
install -d -o root -g kafka -m 0750 /etc/kafka
# The tools need the user's PATH; a profile snippet keeps `kafka-topics.sh` one word away.
write_file /etc/profile.d/kafka-lab.sh 0644 root:root 'export PATH="$PATH:/opt/kafka/bin"'
log "Kafka installed at /opt/kafka -> $target"
