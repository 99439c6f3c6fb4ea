# Step (internalSecurity mtls, on the first broker once every broker runs): the ACLs of the lab's own
# identities, set as the node (the only super user), since nothing else may set ACLs before them. The admin
# (provisioning: topics, ACLs, SCRAM users, features) may do anything on the cluster, its topics and groups;
# the client produces to and consumes from the lab's topics and groups, and makes and removes the topics of
# the smoke test, the bench and the fault tests (its prefixes). With a plaintext external listener, whose
# clients are ANONYMOUS, ANONYMOUS gets the client's ACLs and nothing more. Adding an ACL that exists is
# harmless, so the step may run again. Inputs: INTERNAL_BOOTSTRAP, TOOLS (the node's tools properties),
# ADMIN_USER, CLIENT_USER, CLIENT_TOPICS, CLIENT_GROUPS, CLIENT_PREFIXES, ANONYMOUS_AS_CLIENT (true or false).
acl() { timeout 120 /opt/kafka/bin/kafka-acls.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" --add "$@" >/dev/null || die "could not add ACL: $*"; }
acl --allow-principal "User:$ADMIN_USER" --operation All --cluster
acl --allow-principal "User:$ADMIN_USER" --operation All --topic '*'
acl --allow-principal "User:$ADMIN_USER" --operation All --group '*'
log "ACLs of $ADMIN_USER: the cluster, every topic and group"
clients="User:$CLIENT_USER"
[ "$ANONYMOUS_AS_CLIENT" = true ] && clients="$clients User:ANONYMOUS"
for principal in $clients; do
    for topic in $CLIENT_TOPICS; do acl --allow-principal "$principal" --operation Read --operation Write --operation Describe --topic "$topic"; done
    for group in $CLIENT_GROUPS; do acl --allow-principal "$principal" --operation Read --operation Describe --group "$group"; done
    for prefix in $CLIENT_PREFIXES; do
        acl --allow-principal "$principal" --resource-pattern-type prefixed --operation Read --operation Write --operation Describe --operation Create --operation Delete --topic "$prefix"
        acl --allow-principal "$principal" --resource-pattern-type prefixed --operation Read --operation Describe --group "$prefix"
    done
    log "ACLs of ${principal#User:}: topics $CLIENT_TOPICS and $CLIENT_PREFIXES* (read, write; make and remove $CLIENT_PREFIXES*), groups $CLIENT_GROUPS and $CLIENT_PREFIXES* (read)"
done
