# Step (externalSecurity: sasl_ssl, on the first broker once every broker runs): the SCRAM-SHA-512 users
# and the client user's ACLs. Inputs: INTERNAL_BOOTSTRAP, ADMIN_USER, ADMIN_PASSWORD, CLIENT_USER,
# CLIENT_PASSWORD (secrets), CLIENT_TOPICS, CLIENT_GROUPS (names) and CLIENT_PREFIXES (topic and group
# prefixes), TOOLS (the admin's tools properties). Over the internal listener: as ANONYMOUS, a super user
# there (internalSecurity plaintext), or as the admin, by its certificate and ACLs (mtls). Setting a user's password
# or adding an ACL that exists is harmless, so the step may run again; a new generation replaces the
# passwords. The passwords go through a private file, never a command line (`ps` shows those to everyone).
kafka_tool() { local tool=$1; shift; timeout 120 "/opt/kafka/bin/$tool" --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" "$@"; }
secret_file=$(mktemp /root/.kafka-lab-scram.XXXXXX)
trap 'rm -f "$secret_file"' EXIT
chmod 0600 "$secret_file"

# Kafka's tools echo a refused value whole: what they print is shown with every password redacted.
redacted() { sed -e "s/$ADMIN_PASSWORD/[redacted]/g" -e "s/$CLIENT_PASSWORD/[redacted]/g"; }
set_password() {
    # In a file the value has no brackets: kafka-configs strips those only from --add-config.
    printf 'SCRAM-SHA-512=iterations=8192,password=%s\n' "$2" >"$secret_file"
    local out
    out=$(kafka_tool kafka-configs.sh --alter --entity-type users --entity-name "$1" --add-config-file "$secret_file" 2>&1) \
        || { redacted <<<"$out" >&2; die "could not set the SCRAM-SHA-512 password of $1"; }
    log "SCRAM-SHA-512 user $1: password set"
}
set_password "$ADMIN_USER" "$ADMIN_PASSWORD"
set_password "$CLIENT_USER" "$CLIENT_PASSWORD"

# The client user produces to and consumes from the lab's topics, and reads in the lab's groups.
client_acls "User:$CLIENT_USER"
