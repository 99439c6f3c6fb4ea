// What every part of the end-to-end suite shares: whether it runs here, the local lab, and the helpers
// that run the lab's own commands and judge what they did.
import test from "ava";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import {
    LabAccess,
    REPO,
    localConfig,
    onMachine,
    pulumiCli,
    record,
    run,
    stackUp,
    waitFor,
} from "../helpers/lab";
import { tmpDir } from "../helpers/tmp";
import { shellQuote } from "../../src/render";

// The guide's lab: one broker, and the two client machines.
export const ROLES = ["broker", "producer", "consumer"] as const;

// @platformatic/kafka connection settings for a stack's external listener (TLS and SCRAM with sasl_ssl), as the
// smoke test uses them.
export let externalClient: (outputs: Record<string, any>) => Record<string, any>;
let toolsConfig: (outputs: Record<string, any>, host: string) => string;
test.before(async () => {
    ({ externalClient, toolsConfig } = await import("../../scripts/lib/stack.mjs" as string));
});

/**
 * `--command-config FILE` (or another option naming it): what Kafka's tools on `role` connect to the internal
 * listener with, as provisioning wrote it (the smoke test's choice: the admin's on the first broker, the
 * node's on the other brokers, the client's on the client machines; plaintext or mTLS alike).
 */
export function labTools(lab: LabAccess, role: string, option = "--command-config"): string {
    return `${option} ${toolsConfig(lab.outputs, role)}`;
}

const required = process.env.KAFKA_LAB_E2E === "required";
const why = process.platform !== "linux" ? "not Linux" : process.getuid?.() !== 0 ? "not root" : process.env.KAFKA_LAB_E2E === "skip" ? "KAFKA_LAB_E2E=skip" : "";
export const e2e = why ? test.skip : test.serial;

if (why) {
    console.log(`SKIPPED: the local lab end-to-end test needs Linux and root (${why})`);
    if (required) test("the end-to-end test must run here (KAFKA_LAB_E2E=required)", (t) => t.fail(`it was skipped: ${why}`));
}

export const config = localConfig();
export const addresses = config.local!.addresses;
export const stackFile = path.join(REPO, "stacks", "Pulumi.local.yaml");
export let lab: LabAccess;
/** The local lab's access, once `npm run lab` has made it (again). */
export function setLab(access: LabAccess): void {
    lab = access;
}
export const runId = `e2e${Date.now().toString(36)}`;

/** `npm run lab -- ARGS`, its output shown and returned. */
export function npmLab(...args: string[]) {
    const r = run("npm", ["run", "--silent", "lab", "--", ...args]);
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    return r;
}

/** `pulumi up -s local` with --json events; returns what happened to the resources and which were replaced. */
export function pulumiUp(...extra: string[]) {
    const r = stackUp("local", "--json", ...extra);
    const events = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const summary = events.find((e) => e.summaryEvent)?.summaryEvent;
    const replaced = events
        .filter((e) => e.resOutputsEvent?.metadata?.op === "replace" || e.resOutputsEvent?.metadata?.op === "create-replacement")
        .map((e) => e.resOutputsEvent.metadata.urn.split("::").at(-1));
    const updated = events.filter((e) => e.resOutputsEvent?.metadata?.op === "update").map((e) => e.resOutputsEvent.metadata.urn.split("::").at(-1));
    return { status: r.status, changes: summary?.resourceChanges ?? {}, replaced: [...new Set(replaced)], updated: [...new Set(updated)], stderr: r.stderr, stdout: r.stdout };
}

export function brokerAnswers(): boolean {
    return /\(id: 1/.test(onMachine(lab, "producer", "/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server broker:9092 2>/dev/null | head -n 1", 40));
}

export const mainPid = (unit: string) => onMachine(lab, "broker", `systemctl show -p MainPID --value ${unit}`).trim();

/** A stack file's text with `key: value` in its config block: the key's line (and its list items) replaced, or added. */
export function withConfigLine(text: string, key: string, value: string): string {
    const re = new RegExp(`^  ${key}:.*(\\n    - .*)*$`, "m");
    return re.test(text) ? text.replace(re, `  ${key}: ${value}`) : text.replace(/^config:\n/m, `config:\n  ${key}: ${value}\n`);
}

/** Runs `fn` with a temporary change of the local stack's config file, restored afterwards. */
export async function withStackConfig(lines: Record<string, string>, fn: () => Promise<void> | void) {
    const original = fs.readFileSync(stackFile, "utf8");
    const changed = Object.entries(lines).reduce((text, [k, v]) => withConfigLine(text, k, v), original);
    fs.writeFileSync(stackFile, changed);
    try {
        await fn();
    } finally {
        fs.writeFileSync(stackFile, original);
    }
}

/** The lines of a private key's body that are its own (an OpenSSH key's first base64 line is a common header). */
export function privateKeyLines(pem: string): string[] {
    return pem.split("\n").filter((l) => l.length > 40 && !l.startsWith("-----")).slice(1);
}

/** Files under `dirs` (on this host) holding any of `secrets`; the secrets go on stdin, never a command line. */
export function filesHolding(secrets: string[], ...dirs: string[]): string {
    return run("grep", ["-rlF", "-f", "/dev/stdin", ...dirs], { input: `${secrets.join("\n")}\n` }).stdout.trim();
}

/**
 * Where on `host` a secret shows: the running command lines holding one, and the world-readable files holding
 * one or any private key. The secrets come in on stdin and reach grep through a pipe (printf is a shell
 * builtin): no command line, no file.
 */
export function secretsShown(lab: LabAccess, host: string, secrets: string[]): { commandLines: string; files: string } {
    const input = `${secrets.join("\n")}\n`;
    const search = [
        "mapfile -t secrets",
        "mapfile -d '' files < <(find /etc /opt /var/lib/kafka /var/log /tmp /var/tmp /root /home -xdev -type f -perm -o=r -print0 2>/dev/null)",
        "grep -l -F -f <(printf '%s\\n' \"${secrets[@]}\" 'BEGIN PRIVATE KEY') -- \"${files[@]}\" 2>/dev/null || true",
    ].join("\n");
    return {
        commandLines: onMachine(lab, host, "ps -eo args= | grep -F -f /dev/stdin || true", 60, input).trim(),
        files: onMachine(lab, host, search, 120, input).trim(),
    };
}

/** The bench, short (`--quick --seconds 1`), on `stack`: its output and its runs, from its report `reports/<name>.json`. */
export function quickBench(stack: string, name: string) {
    const report = path.join(REPO, "reports", `${name}.json`);
    const bench = run("npm", ["run", "--silent", "bench", "--", "--stack", stack, "--quick", "--seconds", "1", "--report", report]);
    const runs: any[] = bench.status === 0 ? JSON.parse(fs.readFileSync(report, "utf8")).runs : [];
    return { bench, runs, byName: (n: string) => runs.find((r) => r.name === n) };
}

/** Every secret a sasl_ssl stack made, decrypted from its state: the SCRAM passwords, and the body lines of each private key. */
export function stackSecrets(stack: string): string[] {
    const state = JSON.parse(pulumiCli("stack", "export", "--show-secrets", "-s", stack).stdout);
    // A secret output is exported as an envelope whose `plaintext` is the value, JSON-encoded.
    const plain = (v: any): unknown => (v && typeof v === "object" && typeof v.plaintext === "string" ? JSON.parse(v.plaintext) : v);
    const texts: string[] = (state.deployment.resources ?? []).map((r: any) => plain(r.outputs?.stdout)).filter((o: unknown): o is string => typeof o === "string");
    const passwords = texts.flatMap((o) => [...o.matchAll(/^[a-z]+-password: (\S+)$/gm)].map((m) => m[1]));
    const keys = texts.flatMap((o) => [...o.matchAll(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/g)].flatMap((m) => privateKeyLines(m[0])));
    return [...new Set([...passwords, ...keys])];
}

/**
 * The Python the TLS probes share: `context(certfile)` trusts the stack's CA and offers `certfile` (none when
 * empty; a file that cannot be read is an error, never a refusal); `connect(ctx, host, port)` checks the
 * server's certificate and name.
 */
const TLS_CLIENT = [
    "import socket, ssl, sys",
    "def context(certfile):",
    `    ctx = ssl.create_default_context(cafile="/etc/kafka/tls/ca.pem")`,
    "    if certfile: ctx.load_cert_chain(certfile)",
    "    return ctx",
    "def connect(ctx, host, port):",
    "    return ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=15), server_hostname=host)",
    // Reads until the server closes or falls silent for `timeout` s: a TLS 1.3 server's verdict on the client's
    // certificate, and a four-letter word's answer, come only after the request.
    "def exchange(ctx, host, port, request, timeout):",
    "    s = connect(ctx, host, port)",
    "    s.settimeout(timeout)",
    "    s.sendall(request)",
    "    reply = b''",
    "    try:",
    "        while True:",
    "            chunk = s.recv(4096)",
    "            if not chunk: break",
    "            reply += chunk",
    "    except socket.timeout: pass",
    "    return reply",
];

/**
 * A TLS connection from a lab machine (`from`: the producer for the internal listener, a broker for the
 * controller listener and ZooKeeper, which the firewall opens to the brokers alone) to `host:port`, checking
 * the server against the stack's CA and offering `certfile` (a PEM with its key), or no certificate; then
 * `request` (four zero bytes when none) and a read, which is when a TLS 1.3 server's verdict on the
 * client's certificate arrives. "accepted" (with a request, "accepted: " and the answer), or "refused: "
 * and what Python's ssl says.
 */
export function tlsAttempt(lab: LabAccess, from: string, host: string, port: number, certfile = "", request = ""): string {
    const script = [
        ...TLS_CLIENT,
        "host, port, certfile, request = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]",
        "ctx = context(certfile)",
        "try:",
        "    reply = exchange(ctx, host, port, request.encode() or bytes(4), 5)",
        `    print("accepted" + (": " + reply.decode(errors="replace") if request else ""))`,
        "except (ssl.SSLError, ConnectionError, OSError) as e:",
        `    print(f"refused: {e}")`,
    ].join("\n");
    return onMachine(lab, from, `python3 -c ${shellQuote(script)} ${host} ${port} ${shellQuote(certfile)} ${shellQuote(request)}`, 60).trim();
}

/**
 * A Python loop for a ZooKeeper node over mTLS: every 0.2 s, each of `hosts`' state as its client port
 * (TLS, the node's certificate) answers `srvr`: leader, follower, electing (answers, but does not serve) or
 * down (no answer); one line "ms host=state ..." each round.
 */
export function zookeeperWatchScript(hosts: string[]): string {
    return [
        ...TLS_CLIENT,
        "import time",
        `ctx = context("/etc/kafka/tls/node.pem")`,
        "def state(host):",
        "    try: out = exchange(ctx, host, 2181, b'srvr', 2)",
        "    except (ssl.SSLError, ConnectionError, OSError): return 'down'",
        `    modes = [l[6:] for l in out.decode(errors="replace").splitlines() if l.startswith("Mode: ")]`,
        `    return modes[0] if modes else ("electing" if out else "down")`,
        "while True:",
        `    print(int(time.time() * 1000), " ".join(f"{h}={state(h)}" for h in ${JSON.stringify(hosts)}), flush=True)`,
        "    time.sleep(0.5)",
    ].join("\n");
}

/** The certificate `host:port` serves (PEM), seen from `from` with the node's certificate (the machine's trusted CAs check it). */
export function servedCertificate(lab: LabAccess, from: string, host: string, port: number): X509Certificate {
    const script = [...TLS_CLIENT, `print(ssl.DER_cert_to_PEM_cert(connect(context("/etc/kafka/tls/node.pem"), sys.argv[1], sys.argv[2]).getpeercert(True)))`].join("\n");
    return new X509Certificate(onMachine(lab, from, `python3 -c ${shellQuote(script)} ${host} ${port}`, 60));
}

/**
 * `body` run while `hosts` hold, at the path it is given, a key and certificate with the nodes' very subject
 * and `sans`, from a CA of their own (made here with the lab's scripts/credentials.sh): what a forger could make.
 */
export function withForgedNodeCertificate<T>(on: LabAccess, hosts: string[], sans: string, body: (file: string) => T): T {
    const forged = run("bash", ["-c", "out=$(CA_NAME='another CA' bash scripts/credentials.sh ca) && CA_KEY=$(sed -n '/BEGIN PRIVATE/,/END PRIVATE/p' <<<\"$out\") CA_CERT=$(sed -n '/BEGIN CERT/,/END CERT/p' <<<\"$out\") IDENTITY=kafka-lab-node bash scripts/credentials.sh identity"], { env: { SANS: sans } });
    if (forged.status !== 0) throw new Error(`could not make the forged certificate: ${forged.stderr}`);
    const file = "/root/kafka-lab-e2e-forged.pem";
    for (const host of hosts) onMachine(on, host, `umask 077; cat > ${file}`, 30, forged.stdout);
    try {
        return body(file);
    } finally {
        for (const host of hosts) onMachine(on, host, `rm -f ${file}`);
    }
}

/** zookeeper-shell on `host` (a ZooKeeper node) against its own ZooKeeper, as the node over TLS (mtls). */
export const zookeeperShell = (lab: LabAccess, host: string, command: string) =>
    onMachine(lab, host, `/opt/kafka/bin/zookeeper-shell.sh ${host}:2181 -zk-tls-config-file /etc/kafka/zookeeper-tools.properties ${command} 2>/dev/null`, 90);

/** A znode's ACL, one "scheme:id:permissions" each, and the shell's text; zookeeper-shell escapes an x509 id's commas (%2C). */
export function znodeAcl(lab: LabAccess, host: string, znode: string): { entries: string[]; shown: string } {
    const shown = zookeeperShell(lab, host, `getAcl ${znode}`);
    return { entries: [...shown.matchAll(/'(\w+),'([^\n]+)\n: (\w+)/g)].map((m) => `${m[1]}:${decodeURIComponent(m[2])}:${m[3]}`), shown };
}

/** The nodes' identity in ZooKeeper (x509: their certificate's subject), with every permission. */
export const NODE_ZNODE_ACL = "x509:CN=kafka-lab-node,OU=internal,O=kafka-lab:cdrwa";

/**
 * What `kafka-acls.sh --list` grants `principal`, one "OPERATION on TYPE NAME (PATTERN)" per ACL: the listing
 * names each resource once, above its ACLs, in no fixed order.
 */
export function aclsOf(listing: string, principal: string): string[] {
    const granted: string[] = [];
    let resource = "";
    for (const line of listing.split("\n")) {
        const pattern = line.match(/ResourcePattern\(resourceType=(\w+), name=(.*), patternType=(\w+)\)/);
        if (pattern) resource = `${pattern[1]} ${pattern[2]} (${pattern[3]})`;
        const acl = line.match(/\(principal=(.+?), host=\*, operation=(\w+), permissionType=ALLOW\)/);
        if (acl && acl[1] === principal) granted.push(`${acl[2]} on ${resource}`);
    }
    return granted;
}

/**
 * `npm run lab -- fault ARGS --stack STACK` with its report; whatever happens, `fault heal` runs after it
 * (the command heals by itself; this is the test's own guard that no fault outlives it).
 */
export function faultCommand(stack: string, ...args: string[]) {
    const report = path.join(tmpDir("kafka-lab-fault-"), "report.json");
    try {
        const r = run("npm", ["run", "--silent", "lab", "--", "fault", ...args, "--stack", stack, "--report", report], { timeoutSeconds: 900 });
        const out = r.stdout + r.stderr;
        return { status: r.status, out, report: fs.existsSync(report) ? JSON.parse(fs.readFileSync(report, "utf8")) : undefined };
    } finally {
        run("npm", ["run", "--silent", "lab", "--", "fault", "heal", "--stack", stack], { timeoutSeconds: 120 });
        fs.rmSync(path.dirname(report), { recursive: true, force: true });
    }
}

/** What a fault run is judged on: every acknowledged message there exactly once, producing resumed after the heal. */
export function assertNothingLost(t: any, what: string, f: ReturnType<typeof faultCommand>, { leaderHit = false } = {}) {
    t.is(f.status, 0, `${what}: ${f.out.slice(-3000)}`);
    const r = f.report;
    t.log(`${what}: acknowledged ${r.acknowledged}, failed sends ${r.failedSends}, lost ${r.lost}, duplicated ${r.duplicated}, missed by the group ${r.groupMissed} (its member restarted ${r.groupRestarts} times); first ack ${r.secondsToFirstAckAfterFault ?? "none"}s after the fault, ${r.secondsToFirstAckAfterHeal}s after healing`);
    record(what, { acks: r.acks, seconds: r.seconds, acknowledged: r.acknowledged, failedSends: r.failedSends, lost: r.lost, duplicated: r.duplicated, groupMissed: r.groupMissed, groupRestarts: r.groupRestarts, secondsToFirstAckAfterFault: r.secondsToFirstAckAfterFault, secondsToFirstAckAfterHeal: r.secondsToFirstAckAfterHeal });
    t.true(r.acknowledged > 100, `acknowledged ${r.acknowledged}`);
    t.is(r.lost, 0, `lost: ${r.lostKeys?.join(", ")}`);
    t.is(r.duplicated, 0);
    t.is(r.groupMissed, 0, `the consumer group read every acknowledged message; errors: ${r.errors.join(" | ")}`);
    t.not(r.secondsToFirstAckAfterHeal, null, "producing resumed after the heal");
    t.true(r.faultSeconds >= r.seconds, `the fault held ${r.faultSeconds}s of ${r.seconds}s`);
    // The fault was real: a network fault proved from this host and the peers, and a hit leader held producing up.
    if (r.fault === "partition" || r.fault === "isolate") t.true(r.verified.length > 0, `the ${r.fault} was verified: ${r.verified}`);
    if (leaderHit) t.true(r.secondsToFirstAckAfterFault === null || r.secondsToFirstAckAfterFault > 1, `producing stalled while the leader was hit (first ack ${r.secondsToFirstAckAfterFault}s in)`);
}


/**
 * Takes down whatever machines and bridge of a test-owned lab are on this host: those of a run that was killed
 * before its cleanup (its machine directories keep their data volumes, which the next `pulumi up` would find
 * holding another cluster's data). Returns the machines it found.
 */
export function removeLeftovers(prefix: string, bridge: string): string[] {
    const machinesDir = "/var/lib/kafka-lab/machines";
    const found = (fs.existsSync(machinesDir) ? fs.readdirSync(machinesDir) : []).filter((m) => m.startsWith(`${prefix}-`));
    for (const machine of found) run("bash", ["scripts/local/machine.sh", "down", machine]);
    run("bash", ["scripts/local/network.sh", "down", bridge]);
    return found;
}

/**
 * An error as the client reports it, whole: @platformatic/kafka nests the reason (MultipleErrors of each
 * attempt, a cause, the broker's error id and message), so every level's name, code, message, error id and
 * server message is kept.
 */
export function errorText(e: any, depth = 0): string {
    if (!e || depth > 6) return "";
    const own = [e.name, e.code, e.apiId, e.message, e.serverErrorMessage].filter((x) => typeof x === "string" && x).join(": ");
    const nested = [...(Array.isArray(e.errors) ? e.errors : []), ...(e.cause ? [e.cause] : [])].map((c: any) => errorText(c, depth + 1)).filter(Boolean);
    return [own, ...new Set(nested)].join(" <- ");
}

/** What a @platformatic/kafka client gets from a topic over the external listener: the messages, or the error. */
export async function tryExternal(outputs: Record<string, any>, client: Record<string, any>, topic: string) {
    const options = { clientId: "kafka-lab-e2e-refused", bootstrapBrokers: outputs.bootstrapServers.split(","), connectTimeout: 5000, requestTimeout: 10000, retries: 1, ...client };
    const got: string[] = [];
    const errors: string[] = [];
    const producer = new Producer({ ...options, acks: -1, serializers: stringSerializers });
    try {
        await producer.send({ messages: [{ topic, key: "refused", value: "should not land" }] });
    } catch (e: any) {
        errors.push(`produce: ${errorText(e)}`);
    } finally {
        await producer.close(true).catch(() => {});
    }
    // A fresh group: its committed offsets (none), else the earliest.
    const consumer = new Consumer({ ...options, groupId: `smoke-refused-${Date.now()}`, deserializers: stringDeserializers });
    try {
        const stream = await consumer.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest" });
        try {
            await Promise.race([
                new Promise<void>((_, reject) => {
                    stream.on("error", reject);
                    stream.on("data", (message) => void got.push(String(message.value)));
                }),
                new Promise((r) => setTimeout(r, 8000)),
            ]);
        } finally {
            await stream.close().catch(() => {});
        }
    } catch (e: any) {
        errors.push(`consume: ${errorText(e)}`);
    } finally {
        await consumer.close(true).catch(() => {});
    }
    return { got, errors };
}

/** The controllers' ZkMigrationState (1 MIGRATION, 3 POST_MIGRATION), from the controller on `host`, over its loopback JMX. */
export const migrationState = (on: LabAccess, host: string) =>
    onMachine(on, host, "/opt/kafka/bin/kafka-jmx.sh --jmx-url service:jmx:rmi:///jndi/rmi://127.0.0.1:9999/jmxrmi --object-name kafka.controller:type=KafkaController,name=ZkMigrationState --attributes Value --one-time true 2>/dev/null | tail -n1 | awk -F, '{ print $NF }'", 90).trim();

/** Which of ZooKeeper, the controller and the broker run on `host`, one `unit=state` line each. */
export const activeUnits = (on: LabAccess, host: string) => onMachine(on, host, "for u in zookeeper kafka-controller kafka; do printf '%s=%s\\n' $u $(systemctl is-active $u); done");

/** A Prometheus API answer of the stack's monitoring host (the consumer), asked on its loopback. */
export function prometheus(on: LabAccess, apiPath: string): any {
    const answer = JSON.parse(onMachine(on, "consumer", `curl -sS -m 10 'http://127.0.0.1:9090${apiPath}'`, 30));
    if (answer.status !== "success") throw new Error(`Prometheus refused ${apiPath}: ${answer.error}`);
    return answer.data;
}

/** The alerts firing now, as "name host" (host only for the alerts of one target). */
export const alertsFiring = (on: LabAccess) =>
    (prometheus(on, "/api/v1/alerts").alerts as any[]).filter((a) => a.state === "firing").map((a) => `${a.labels.alertname}${a.labels.host ? ` ${a.labels.host}` : ""}`).sort();

/** `npm run lab -- status` of a stack: its exit status, what it printed, and its health as JSON. */
export function labStatus(stack: string) {
    const file = path.join(tmpDir("kafka-lab-status-"), "health.json");
    const r = run("npm", ["run", "--silent", "lab", "--", "status", "--stack", stack, "--json", file], { timeoutSeconds: 180 });
    return { status: r.status, out: r.stdout + r.stderr, health: fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : undefined };
}

/** Waits until `check` holds, returning the seconds it took; a timeout fails with what was last seen. */
export function secondsUntil(what: string, timeoutSeconds: number, check: () => boolean): number {
    const started = Date.now();
    waitFor(what, timeoutSeconds, check);
    return Math.round((Date.now() - started) / 100) / 10;
}
