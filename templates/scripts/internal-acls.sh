# Step (internalSecurity mtls, on the first broker once every broker runs): the ACLs of the lab's own
# identities, set as the node (the only super user), since nothing else may set ACLs before them. The admin
# (provisioning: topics, ACLs, SCRAM users, features) may do anything on the cluster, its topics and groups;
# the client produces to and consumes from the lab's topics and groups, and makes and removes the topics of
# the smoke test, the bench and the fault tests (its prefixes). With a plaintext external listener, whose
# clients are ANONYMOUS, ANONYMOUS gets the client's ACLs and nothing more. The step may run again.
# Inputs: INTERNAL_BOOTSTRAP, TOOLS (the node's tools properties), ADMIN_USER, CLIENT_USER, CLIENT_TOPICS,
# CLIENT_GROUPS, CLIENT_PREFIXES, ANONYMOUS_AS_CLIENT (true or false).
acl_add --allow-principal "User:$ADMIN_USER" --operation All --cluster
acl_add --allow-principal "User:$ADMIN_USER" --operation All --topic '*'
acl_add --allow-principal "User:$ADMIN_USER" --operation All --group '*'
log "ACLs of $ADMIN_USER: the cluster, every topic and group"
client_acls "User:$CLIENT_USER" Create Delete
if [ "$ANONYMOUS_AS_CLIENT" = true ]; then client_acls User:ANONYMOUS Create Delete; fi
