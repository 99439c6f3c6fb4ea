#!/usr/bin/env bash
# The stack's credentials for the external listener (externalSecurity: sasl_ssl) and the internal ones
# (internalSecurity: mtls), made with openssl on the deploying machine: the same on every target, and no provider that needs a download. Pulumi runs it as a
# local command whose output it keeps in the stack's state as a secret (and does not log); it runs again
# only when credentialsGeneration changes (the CA) or a broker's addresses or the CA change (its certificate).
#
#   credentials.sh ca       CA_NAME                          -> the CA's key and certificate, two SCRAM passwords
#   credentials.sh broker   CA_KEY CA_CERT BROKER_NAME SANS  -> the broker's key (PKCS#8) and certificate
#   credentials.sh identity CA_KEY CA_CERT IDENTITY [SANS]   -> an internal identity's key and certificate:
#                           CN=IDENTITY,OU=internal,O=kafka-lab (Kafka's principal mapping takes IDENTITY);
#                           with SANS a node's (server and client), without a client's
#
# Inputs come from the environment; SANS is a subjectAltName list such as "DNS:broker1,IP:10.77.0.21".
# Output is PEM blocks, then "name: value" lines; nothing is written outside a private temp directory.
set -euo pipefail
command -v openssl >/dev/null 2>&1 || {
    echo "kafka-lab: externalSecurity sasl_ssl makes the stack's CA and certificates with openssl on this (the deploying) machine, and it has none; install it (apt-get install openssl, or dnf install openssl)" >&2
    exit 1
}
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
quiet() { "$@" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }; }

case "${1:-}" in
ca)
    quiet openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days 3650 \
        -subj "/O=kafka-lab/CN=${CA_NAME:?}" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$work/ca.key" -out "$work/ca.crt"
    cat "$work/ca.key" "$work/ca.crt"
    # Hex: safe inside Kafka's SCRAM config syntax ([password=...]) and JAAS quotes.
    echo "admin-password: $(openssl rand -hex 24)"
    echo "client-password: $(openssl rand -hex 24)"
    ;;
broker)
    printf '%s\n' "${CA_KEY:?}" >"$work/ca.key"
    printf '%s\n' "${CA_CERT:?}" >"$work/ca.crt"
    # genpkey writes PKCS#8 (BEGIN PRIVATE KEY), which Kafka's PEM keystore needs.
    quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/broker.key"
    quiet openssl req -new -key "$work/broker.key" -subj "/O=kafka-lab/CN=${BROKER_NAME:?}" -out "$work/broker.csr"
    printf '%s\n' "subjectAltName=${SANS:?}" "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature,keyEncipherment" "basicConstraints=CA:FALSE" >"$work/ext"
    quiet openssl x509 -req -in "$work/broker.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
        -days 825 -sha256 -extfile "$work/ext" -out "$work/broker.crt"
    cat "$work/broker.key" "$work/broker.crt"
    ;;
identity)
    printf '%s\n' "${CA_KEY:?}" >"$work/ca.key"
    printf '%s\n' "${CA_CERT:?}" >"$work/ca.crt"
    quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/id.key"
    quiet openssl req -new -key "$work/id.key" -subj "/O=kafka-lab/OU=internal/CN=${IDENTITY:?}" -out "$work/id.csr"
    # A node serves its listeners and is a client of the others' (hostname checked: SANs); a client only connects.
    if [ -n "${SANS:-}" ]; then
        printf '%s\n' "subjectAltName=$SANS" "extendedKeyUsage=serverAuth,clientAuth" >"$work/ext"
    else
        printf '%s\n' "extendedKeyUsage=clientAuth" >"$work/ext"
    fi
    printf '%s\n' "keyUsage=critical,digitalSignature,keyEncipherment" "basicConstraints=CA:FALSE" >>"$work/ext"
    quiet openssl x509 -req -in "$work/id.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
        -days 825 -sha256 -extfile "$work/ext" -out "$work/id.crt"
    cat "$work/id.key" "$work/id.crt"
    ;;
*)
    echo "usage: credentials.sh ca | broker | identity (inputs in the environment)" >&2
    exit 2
    ;;
esac
