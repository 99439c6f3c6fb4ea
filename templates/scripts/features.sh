# Step (KRaft, first broker, after every node rolled onto the release): raise the cluster's features to
# the release's, as Kafka's upgrade docs end: `kafka-features.sh upgrade`. Until then the cluster keeps the
# metadata.version it was formatted with. Raising it cannot be undone (Kafka refuses a metadata.version
# downgrade). kraft.version stays as formatted: the quorum is static (controller.quorum.voters), and a
# newer kraft.version would make it dynamic. Inputs: INTERNAL_BOOTSTRAP, TOOLS (the node's tools properties:
# raising the features is the nodes' own business, done as kafka),
# RELEASE (major.minor).
features() { timeout 60 runuser -u kafka -- /opt/kafka/bin/kafka-features.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" "$@"; }
# finalized FEATURE: its finalized level as `describe` prints it (metadata.version as 4.3-IV0), "" when unset.
finalized() { features describe | awk -v f="$1" '$1 == "Feature:" && $2 == f { for (i = 3; i < NF; i++) if ($i == "FinalizedVersionLevel:") print $(i + 1) }'; }
metadata_release() { local level; level=$(finalized metadata.version); echo "${level%%-*}"; }

current=$(metadata_release) || die "kafka-features.sh describe failed on $INTERNAL_BOOTSTRAP"
if features version-mapping --release-version "$RELEASE" >/tmp/kafka-lab-features 2>&1; then
    # 4.x: every feature the release sets (version-mapping), except kraft.version, up to its level.
    raise=()
    while IFS='=' read -r name level; do
        level=${level%% *}
        [ "$name" = kraft.version ] && continue
        if [ "$name" = metadata.version ]; then
            [ "$current" = "$RELEASE" ] || raise+=(--feature "$name=$level")
            continue
        fi
        now=$(finalized "$name")
        [ "${now:-0}" -ge "$level" ] 2>/dev/null || raise+=(--feature "$name=$level")
    done </tmp/kafka-lab-features
else
    # 3.x has no version-mapping: metadata.version alone, by its release name.
    raise=()
    [ "$current" = "$RELEASE" ] || raise=(--metadata "$RELEASE")
fi
rm -f /tmp/kafka-lab-features
if [ ${#raise[@]} -eq 0 ]; then
    log "the cluster's features are at release $RELEASE (metadata.version $(finalized metadata.version))"
    exit 0
fi
log "raising the cluster's features from metadata.version ${current:-unset} to release $RELEASE: ${raise[*]}"
features upgrade "${raise[@]}" || die "kafka-features.sh upgrade ${raise[*]} failed"
[ "$(metadata_release)" = "$RELEASE" ] || die "metadata.version is $(finalized metadata.version) after the upgrade, not release $RELEASE"
log "metadata.version is now $(finalized metadata.version)"
