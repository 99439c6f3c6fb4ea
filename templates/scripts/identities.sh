# Step: what this machine's Kafka tools and clients connect with. Every host gets the tools' properties of
# the identities it holds (NODE_TOOLS on the Kafka nodes, CLIENT_TOOLS on the client and monitoring
# machines, ADMIN_TOOLS on the first broker only; "" where it holds none), plaintext or TLS. With
# internalSecurity mtls also CA_CERT, and the keystores (secrets): NODE_KEYSTORE, kafka's alone, read by
# the broker and controller; CLIENT_KEYSTORE, readable by the group kafka-lab-client (the SSH user is in it:
# the example clients run as that user); ADMIN_KEYSTORE, root's alone. A file this host no longer holds is
# removed. Inputs: those, TLS_DIR, and each file's path (*_PATH); on a ZooKeeper node with mtls also
# ZOOKEEPER_TOOLS (ZooKeeper's tools' TLS settings, as the node) and its path.
place() { # place PATH MODE OWNER CONTENT: the file, or none when CONTENT is empty
    if [ -n "$4" ]; then write_file "$1" "$2" "$3" "$4"; elif [ -e "$1" ]; then rm -f "$1"; log "removed $1"; fi
}
install -d -m 0755 /etc/kafka
if [ -n "$CA_CERT" ]; then
    install -d -m 0755 "$TLS_DIR"
    if [ -n "$CLIENT_KEYSTORE" ]; then
        getent group kafka-lab-client >/dev/null || groupadd --system kafka-lab-client
        # The user who deploys over SSH (sudo's caller) runs the example clients.
        if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ] && ! id -nG "$SUDO_USER" | grep -qw kafka-lab-client; then
            usermod -a -G kafka-lab-client "$SUDO_USER"
            log "$SUDO_USER may use the client's certificate (group kafka-lab-client)"
        fi
    fi
fi
place "$CA_PATH" 0644 root:root "$CA_CERT"
place "$NODE_KEYSTORE_PATH" 0600 kafka:kafka "$NODE_KEYSTORE"
place "$CLIENT_KEYSTORE_PATH" 0640 root:kafka-lab-client "$CLIENT_KEYSTORE"
place "$ADMIN_KEYSTORE_PATH" 0600 root:root "$ADMIN_KEYSTORE"
place "$NODE_TOOLS_PATH" 0644 root:root "$NODE_TOOLS"
place "$CLIENT_TOOLS_PATH" 0644 root:root "$CLIENT_TOOLS"
place "$ADMIN_TOOLS_PATH" 0600 root:root "$ADMIN_TOOLS"
if [ -n "${ZOOKEEPER_TOOLS_PATH:-}" ]; then place "$ZOOKEEPER_TOOLS_PATH" 0644 root:root "$ZOOKEEPER_TOOLS"; fi
log "identities: $( [ -n "$CA_CERT" ] && echo "TLS with the stack's CA" || echo plaintext )$( [ -n "$NODE_TOOLS" ] && echo ", node" )$( [ -n "$CLIENT_TOOLS" ] && echo ", client" )$( [ -n "$ADMIN_TOOLS" ] && echo ", admin" )"
