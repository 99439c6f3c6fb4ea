# Step: get the Kafka tarball onto the machine and verify its SHA-512 before anything is installed.
# Inputs: TARBALL (file name), ARTIFACT_URL (empty when the tarball was uploaded), STAGED (path of the
# uploaded or downloaded file), EXPECTED_SHA512 (empty: read the .sha512 file published beside the URL).
install -d -m 0755 /var/tmp/kafka-lab
staged=/var/tmp/kafka-lab/$TARBALL
if [ -n "$ARTIFACT_URL" ]; then
    command -v curl >/dev/null || install_packages "curl" "curl ca-certificates"
    if [ ! -s "$staged" ]; then
        log "downloading $ARTIFACT_URL"
        curl -fsSL --retry 5 --retry-delay 5 --connect-timeout 20 --max-time 900 -o "$staged.part" "$ARTIFACT_URL" \
            || die "download of $ARTIFACT_URL failed"
        mv -f "$staged.part" "$staged"
    fi
    if [ -z "$EXPECTED_SHA512" ]; then
        published=$(curl -fsSL --retry 5 --connect-timeout 20 --max-time 60 "$ARTIFACT_URL.sha512") || die "could not read $ARTIFACT_URL.sha512"
        EXPECTED_SHA512=$(sha512_from_checksum_file "$published")
        [ -n "$EXPECTED_SHA512" ] || die "$ARTIFACT_URL.sha512 is not a SHA-512 checksum file (neither sha512sum nor gpg --print-md layout)"
    fi
else
    [ -s "$STAGED" ] || die "the uploaded tarball $STAGED is missing"
    [ "$STAGED" = "$staged" ] || install -m 0644 "$STAGED" "$staged"
fi
expected=$(printf '%s' "$EXPECTED_SHA512" | tr -d ' \t\r\n' | tr 'A-F' 'a-f')
actual=$(sha512sum "$staged" | cut -d' ' -f1)
if [ "$actual" != "$expected" ]; then
    rm -f "$staged"
    die "SHA-512 of $TARBALL does not match: expected $expected, got $actual. Nothing was installed; check artifactUrl/artifactFile and artifactSha512."
fi
printf '%s\n' "$actual" >"$staged.sha512-verified"
log "$TARBALL verified (sha512 ${actual:0:16}...)"
