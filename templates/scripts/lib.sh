# Shared helpers of kafka-lab's provisioning steps. Each step is rendered as: its inputs as shell
# variables, then this file, then the step's own script, and runs as root through `bash -s`.

# Kafka's tools are short-lived JVMs: with the client compiler alone and the serial collector one starts on about
# a third less CPU (kafka-topics.sh: 1.3 s against 2.0 on the lab's 2-core machine), which a small machine, or a
# broker busy in a roll, feels. The services are not affected: systemd starts them with the environment of
# their units. scripts/lib/stack.mjs runs the tools it starts with this same line.
export KAFKA_JVM_PERFORMANCE_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true"

log() { printf '%s %s\n' "[kafka-lab:${STEP:-step}]" "$*"; }
die() { printf '%s ERROR: %s\n' "[kafka-lab:${STEP:-step}]" "$*" >&2; exit 1; }

# The RHEL family (CentOS Stream, Rocky, AlmaLinux) and the Debian family are supported.
os_family() {
    local id="" id_like="" pretty="" release=${OS_RELEASE:-/etc/os-release}
    # shellcheck disable=SC1090
    id=$(. "$release" && echo "${ID:-}"); id_like=$(. "$release" && echo "${ID_LIKE:-}")
    pretty=$(. "$release" && echo "${PRETTY_NAME:-unknown}")
    case " $id $id_like " in
        *" rhel "* | *" fedora "* | *" centos "*) echo rhel ;;
        *" debian "* | *" ubuntu "*) echo debian ;;
        *) die "unsupported OS: $pretty (supported: the RHEL family, e.g. CentOS Stream 9, and the Debian family)" ;;
    esac
}

# install_packages RHEL_PACKAGES DEBIAN_PACKAGES: installs only what is missing, so a machine whose
# image already holds the packages (the local lab's) needs no package mirror.
install_packages() {
    local family missing=() p
    family=$(os_family)
    if [ "$family" = rhel ]; then
        for p in $1; do rpm -q "$p" >/dev/null 2>&1 || missing+=("$p"); done
        [ ${#missing[@]} -eq 0 ] && return 0
        log "installing ${missing[*]} with dnf"
        dnf -y -q install "${missing[@]}"
    else
        for p in $2; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
        [ ${#missing[@]} -eq 0 ] && return 0
        log "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

# retry_until DESCRIPTION ATTEMPTS DELAY_SECONDS COMMAND...: bounded waiting, never a hang.
retry_until() {
    local what=$1 attempts=$2 delay=$3 i
    shift 3
    for ((i = 1; i <= attempts; i++)); do
        if "$@"; then return 0; fi
        sleep "$delay"
    done
    return 1
}

# tls_exchange HOST PORT TOOLS MAX: stdin, sent over TLS to HOST:PORT with the keystore and CA that the tools'
# properties TOOLS name (the server checked against the CA and HOST); then the answer on stdout, up to MAX
# bytes or until the server closes; 3 s at most for the connection and for each read. Python's ssl:
# firewalld's Python is on every lab machine, openssl may not be.
tls_exchange() {
    python3 -c '
import socket, ssl, sys
host, port, keystore, ca, most = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(keystore)
s = ctx.wrap_socket(socket.create_connection((host, port), timeout=3), server_hostname=host)
s.sendall(sys.stdin.buffer.read())
reply = b""
while len(reply) < most:
    chunk = s.recv(most - len(reply))
    if not chunk:
        break
    reply += chunk
sys.stdout.buffer.write(reply)
' "$1" "$2" "$(sed -n 's/^ssl.keystore.location=//p' "$3")" "$(sed -n 's/^ssl.truststore.location=//p' "$3")" "$4"
}

# speaks_tls TOOLS: the tools' properties TOOLS (if any) say SSL: the lab's internal listeners, and ZooKeeper, are TLS (mtls).
speaks_tls() { [ -n "${1:-}" ] && grep -q '^security.protocol=SSL$' "$1" 2>/dev/null; }

# kafka_answers HOST PORT [TOOLS]: a broker answers a Kafka ApiVersions request (v0) with error code 0 on
# that listener. Plain bash, so that a wait can poll every fraction of a second without starting a JVM; over
# TLS when the tools' properties TOOLS say SSL (internalSecurity mtls).
kafka_answers() {
    local reply request='\x00\x00\x00\x13\x00\x12\x00\x00\x00\x00\x00\x01\x00\x09kafka-lab'
    if speaks_tls "${3:-}"; then
        reply=$(printf "$request" | tls_exchange "$1" "$2" "$3" 10 2>/dev/null | od -An -tx1 | tr -d ' \n')
    else
        reply=$(printf "$request" | timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && cat >&3 && head -c 10 <&3' _ "$1" "$2" 2>/dev/null | od -An -tx1 | tr -d ' \n')
    fi
    # size (4 bytes), then our correlation id 1 and error code 0.
    [ "${reply:8}" = "000000010000" ]
}

# acl_add ARGS...: kafka-acls --add over the internal listener ($INTERNAL_BOOTSTRAP) as the tools' properties
# $TOOLS say. Adding an ACL that exists is harmless, so a step that adds ACLs may run again.
acl_add() { timeout 120 /opt/kafka/bin/kafka-acls.sh --bootstrap-server "$INTERNAL_BOOTSTRAP" --command-config "$TOOLS" --add "$@" >/dev/null || die "could not add ACL: $*"; }

# client_acls PRINCIPAL [OPERATION...]: what the lab's client needs: produce to and consume from the lab's
# topics ($CLIENT_TOPICS) and its prefixes' topics ($CLIENT_PREFIXES), read in its groups ($CLIENT_GROUPS and
# the prefixes'); OPERATIONs are granted on the prefixes' topics besides (Create Delete: the tests' own topics).
client_acls() {
    local principal=$1 topic group prefix op extra=()
    shift
    for op in "$@"; do extra+=(--operation "$op"); done
    for topic in $CLIENT_TOPICS; do acl_add --allow-principal "$principal" --operation Read --operation Write --operation Describe --topic "$topic"; done
    for group in $CLIENT_GROUPS; do acl_add --allow-principal "$principal" --operation Read --operation Describe --group "$group"; done
    for prefix in $CLIENT_PREFIXES; do
        acl_add --allow-principal "$principal" --resource-pattern-type prefixed --operation Read --operation Write --operation Describe ${extra[@]+"${extra[@]}"} --topic "$prefix"
        acl_add --allow-principal "$principal" --resource-pattern-type prefixed --operation Read --operation Describe --group "$prefix"
    done
    log "ACLs of ${principal#User:}: topics $CLIENT_TOPICS and $CLIENT_PREFIXES* (read, write${*:+; $* on $CLIENT_PREFIXES*}), groups $CLIENT_GROUPS and $CLIENT_PREFIXES* (read)"
}

# sha512_from_checksum_file TEXT: the hex digest of a .sha512 file in either layout: `sha512sum` ("HEX  name")
# or Apache's `gpg --print-md SHA512` ("name: HEX HEX ..." over several lines). Empty when neither.
sha512_from_checksum_file() {
    local hex
    if [[ "$1" =~ ^[0-9a-fA-F]{128}[[:space:]] || "$1" =~ ^[0-9a-fA-F]{128}$ ]]; then
        hex=${1:0:128}
    else
        hex=$(printf '%s' "${1#*:}" | tr -d ' \t\r\n')
    fi
    hex=$(printf '%s' "$hex" | tr 'A-F' 'a-f')
    [[ "$hex" =~ ^[0-9a-f]{128}$ ]] && printf '%s\n' "$hex"
    return 0
}

# write_file PATH MODE OWNER:GROUP CONTENT: replaces the file only when its content differs.
write_file() {
    local path=$1 mode=$2 owner=$3 content=$4 tmp
    if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then
        chmod "$mode" "$path"; chown "$owner" "$path"
        return 0
    fi
    tmp=$(mktemp "$path.XXXXXX")
    printf '%s\n' "$content" >"$tmp"
    chmod "$mode" "$tmp"; chown "$owner" "$tmp"
    mv -f "$tmp" "$path"
    log "wrote $path"
}

# newer A B: version A is newer than version B (major.minor or longer).
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n1)" = "$1" ]; }

# keep_protocol PROPERTIES RUNNING: prints the broker's PROPERTIES with inter.broker.protocol.version kept
# at RUNNING (the protocol the running broker speaks) and succeeds, when the wanted one is newer; else
# fails and prints nothing. Kafka's upgrade moves every broker to the new binaries on the old protocol
# first, and raises it in a second roll.
keep_protocol() {
    local wanted
    wanted=$(sed -n 's/^inter.broker.protocol.version=//p' <<<"$1")
    [ -n "$2" ] && [ -n "$wanted" ] && newer "$wanted" "$2" || return 1
    log "inter.broker.protocol.version stays $2 while the brokers move to the new release (step kafka-protocol raises it to $wanted)" >&2
    sed "s/^inter.broker.protocol.version=.*/inter.broker.protocol.version=$2/" <<<"$1"
}
