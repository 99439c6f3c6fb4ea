// What the lab scripts share: the stack's outputs (read through Pulumi, never from hand-kept files)
// and SSH into its machines, every call with a timeout.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { $ } from "zx";

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
/**
 * `sudo -n` as Kafka's tools are run on the lab's machines: with the JVM options the provisioning steps give
 * them (templates/scripts/lib.sh, where the reason is), read from there so that the two cannot drift.
 */
export const SUDO_TOOL = `sudo -n env KAFKA_JVM_PERFORMANCE_OPTS='${/^export KAFKA_JVM_PERFORMANCE_OPTS="([^"']+)"$/m.exec(fs.readFileSync(path.join(REPO, "templates", "scripts", "lib.sh"), "utf8"))[1]}'`;
/** The client machines; the brokers are `broker`, or broker1..N in a cluster. */
export const CLIENT_HOSTS = ["producer", "consumer"];

/** The stack's broker hosts, in node id order: ["broker"], or ["broker1", ..., "brokerN"]. */
export function brokerHosts(outputs) {
    return Object.keys(outputs.hosts)
        .filter((h) => /^broker\d*$/.test(h))
        .sort((a, b) => Number(a.slice(6) || 0) - Number(b.slice(6) || 0));
}

/**
 * What Kafka's tools on `host` connect to the internal listener with (written by provisioning, plaintext or
 * mTLS alike; src/render.ts TOOLS_PROPERTIES): the admin's on the first broker, the node's on the other
 * brokers, the client's on the client machines. The keys behind them are root's or kafka's: run with sudo.
 */
export function toolsConfig(outputs, host) {
    const brokers = brokerHosts(outputs);
    if (host === brokers[0]) return "/etc/kafka/admin-tools.properties";
    return brokers.includes(host) ? "/etc/kafka/node-tools.properties" : "/etc/kafka/client-tools.properties";
}

/** Every host of the stack: its brokers, then producer and consumer. */
export function labHosts(outputs) {
    return [...brokerHosts(outputs), ...CLIENT_HOSTS];
}

/** Checks and normalises the stack's outputs (secrets shown): every output the lab promises. */
export function parseStackOutputs(json) {
    const o = typeof json === "string" ? JSON.parse(json) : json;
    const missing = ["hosts", "bootstrapServers", "internalBootstrapServers", "sshUser", "sshPrivateKey", "topic"].filter((k) => o[k] === undefined);
    if (missing.length) throw new Error(`the stack has no output ${missing.join(", ")}: is it deployed? (pulumi up)`);
    if (!brokerHosts(o).length) throw new Error("the stack output hosts names no broker");
    for (const name of labHosts(o)) {
        const h = o.hosts[name];
        if (!h || !h.publicIp || !h.privateIp) throw new Error(`the stack output hosts.${name} lacks publicIp/privateIp`);
    }
    if (typeof o.sshPrivateKey !== "string" || !o.sshPrivateKey.includes("PRIVATE KEY")) {
        throw new Error("the stack output sshPrivateKey is not a private key (read outputs with --show-secrets)");
    }
    if (o.externalSecurity === "sasl_ssl") {
        const absent = ["caCertificate", "clientUsername", "clientPassword"].filter((k) => typeof o[k] !== "string" || !o[k]);
        if (absent.length) throw new Error(`the stack's external listener is sasl_ssl, but it has no output ${absent.join(", ")}`);
    }
    return o;
}

/**
 * @platformatic/kafka connection settings for the external listener: with externalSecurity sasl_ssl, TLS that
 * trusts the stack's CA alone and checks the broker's name or address against its certificate (Node's TLS
 * check of the host dialled; `tls.servername` overrides the name checked), and the client's SCRAM user.
 */
export function externalClient(outputs) {
    if (outputs.externalSecurity !== "sasl_ssl") return {};
    return {
        tls: { ca: [outputs.caCertificate], rejectUnauthorized: true },
        sasl: { mechanism: "SCRAM-SHA-512", username: outputs.clientUsername, password: outputs.clientPassword },
    };
}

/** The stack's outputs (the selected stack when none is named), read through Pulumi's Automation API. */
export async function stackOutputs(stack) {
    const { labStack, outputsOf } = await import("./engine.mjs");
    return parseStackOutputs(await outputsOf(await labStack(stack)));
}

/** The known_hosts lines of the stack's machines: each one's address with the host key the stack pinned. */
export function knownHosts(outputs) {
    const port = outputs.sshPort ?? 22;
    return labHosts(outputs)
        .filter((h) => outputs.sshHostKeys?.[h])
        .map((h) => `${port === 22 ? outputs.hosts[h].publicIp : `[${outputs.hosts[h].publicIp}]:${port}`} ${outputs.sshHostKeys[h]}`)
        .join("\n");
}

/**
 * Writes the stack's private key to a private temp file, for ssh -i, and beside it a known_hosts file with
 * the machines' pinned host keys (sshArgs checks them).
 */
export function keyFile(outputs) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-ssh-"));
    const file = path.join(dir, "id");
    fs.writeFileSync(file, outputs.sshPrivateKey.endsWith("\n") ? outputs.sshPrivateKey : `${outputs.sshPrivateKey}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "known_hosts"), `${knownHosts(outputs)}\n`, { mode: 0o600 });
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    return file;
}

/**
 * ssh's options for a machine of the stack: its pinned host key checked (a stack deployed before host keys
 * were pinned has none in its outputs; its next `pulumi up` adds them), never a prompt, bounded dialling.
 */
export function sshArgs(outputs, key, host) {
    const pinned = outputs.sshHostKeys?.[host];
    return [
        "-i", key,
        "-p", String(outputs.sshPort ?? 22),
        "-o", "BatchMode=yes",
        ...(pinned
            ? ["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(path.dirname(key), "known_hosts")}`, "-o", `HostKeyAlgorithms=${pinned.split(" ")[0]}`]
            : ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]),
        "-o", "LogLevel=ERROR",
        "-o", "ConnectTimeout=10",
        `${outputs.sshUser}@${outputs.hosts[host].publicIp}`,
    ];
}

/** Runs a command on a lab machine. Never hangs: the timeout ends it. */
export function ssh(outputs, key, host, command, { timeout = "60s", input, nothrow = false } = {}) {
    return $({ quiet: true, timeout, input, nothrow })`ssh ${sshArgs(outputs, key, host)} ${command}`;
}
