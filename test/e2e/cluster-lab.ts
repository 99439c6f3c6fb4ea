// What the cluster cases share (README: "Cluster", "Day two"): a cluster stack of the local target on a
// bridge of its own, made and destroyed; a producer and a consumer group under load; a deploy beside them and
// what it is judged on. No test is registered here: each end-to-end file imports what it needs.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Producer, stringSerializers } from "@platformatic/kafka";
import {
    LabAccess,
    REPO,
    consume,
    labAccess,
    onMachine,
    pulumiCli,
    record,
    run,
    sshArgs,
    stackUp,
    tally,
    upArgs,
    withKeysOf,
} from "../helpers/lab";
import {
    externalClient,
    runId,
    removeLeftovers,
    withConfigLine,
    labTools,
} from "./context";

// ---- The cluster: three brokers, KRaft on Kafka 4.x and a ZooKeeper ensemble on 3.9, each on a bridge of its own.

/** A 3-node ensemble (or a KRaft quorum) runs on the first three brokers. */
export const ZOOKEEPERS = ["broker1", "broker2", "broker3"];

export interface ClusterLab {
    stack: string;
    file: string;
    lab: LabAccess;
    prefix: string;
    bridge: string;
}

/** A cluster stack of the local target on its own bridge: `pulumi up`, returning its access. */
export function clusterUp(t: any, stack: string, net: string, extra: Record<string, string>): { cluster: ClusterLab; seconds: number; log: string } {
    const file = path.join(REPO, "stacks", `Pulumi.${stack}.yaml`);
    const bridge = `kl-${stack.slice(-5)}`;
    const lines = [
        "config:",
        `  kafka-lab:bridge: ${bridge}`,
        `  kafka-lab:bridgeAddress: ${net}.1/24`,
        `  kafka-lab:brokerAddress: ${net}.21`,
        `  kafka-lab:producerAddress: ${net}.12`,
        `  kafka-lab:consumerAddress: ${net}.13`,
        "  kafka-lab:brokerHeap: 512m",
        "  kafka-lab:zookeeperHeap: 256m",
        ...Object.entries(extra).map(([k, v]) => `  kafka-lab:${k}: ${v}`),
        "",
    ];
    // The host packages the local target needs (apt, once; another test file may be installing them too).
    const host = run("bash", ["scripts/local/preflight.sh", "--install"]);
    if (host.status !== 0) throw new Error(`the host is not ready for the local lab:\n${host.stderr}`);
    fs.writeFileSync(file, lines.join("\n"));
    const leftovers = removeLeftovers(`kl-${stack}`, bridge);
    if (leftovers.length) t.log(`took down ${leftovers.join(", ")}, left on this host by an earlier run that was killed`);
    pulumiCli("stack", "init", stack);
    const started = Date.now();
    const up = stackUp(stack);
    const seconds = (Date.now() - started) / 1000;
    if (up.status !== 0) {
        // Nothing of a failed cluster outlives the test: its machines would hold the bridge for the next run.
        const clean = clusterDown({ stack, file, bridge, prefix: `kl-${stack}` } as ClusterLab);
        throw new Error(`pulumi up -s ${stack} failed (then destroyed; ${clean.status === 0 ? "the host is clean" : clean.stderr}):\n${up.stdout.slice(-4000)}${up.stderr.slice(-2000)}`);
    }
    return { cluster: { stack, file, lab: labAccess(stack), prefix: `kl-${stack}`, bridge }, seconds, log: up.stdout + up.stderr };
}


/** Destroys the cluster's stack; returns what host-clean.sh found left of it (nothing, when all went well). */
export function clusterDown(cluster: ClusterLab) {
    const destroy = pulumiCli("destroy", "-s", cluster.stack, "--yes", "--skip-preview", "--non-interactive");
    pulumiCli("stack", "rm", cluster.stack, "--yes", "--force");
    fs.rmSync(cluster.file, { force: true });
    const clean = run("bash", ["scripts/local/host-clean.sh", cluster.bridge, cluster.prefix]);
    if (destroy.status === 0) return clean;
    // A failed destroy leaves machines behind: say why, and take them down so that the next run starts clean.
    removeLeftovers(cluster.prefix, cluster.bridge);
    return { ...clean, status: 1, stderr: `pulumi destroy failed: ${destroy.stdout.slice(-3000)}${destroy.stderr.slice(-1000)}\n${clean.stdout}${clean.stderr}` };
}

const clusterKafka = (cluster: ClusterLab) => `/opt/kafka/bin`;
export const underReplicated = (cluster: ClusterLab) =>
    onMachine(cluster.lab, "broker1", `${clusterKafka(cluster)}/kafka-topics.sh --bootstrap-server ${cluster.lab.outputs.internalBootstrapServers} ${labTools(cluster.lab, "broker1")} --describe --under-replicated-partitions | grep -c 'Topic:' || true`, 90).trim();

/** The KRaft quorum's leader, as a broker sees it. */
export function activeController(cluster: ClusterLab, asking = "broker1"): number {
    const status = onMachine(cluster.lab, asking, `${clusterKafka(cluster)}/kafka-metadata-quorum.sh --bootstrap-server ${cluster.lab.outputs.internalBootstrapServers} ${labTools(cluster.lab, asking)} describe --status`, 90);
    return Number(/LeaderId:\s*(\d+)/.exec(status)![1]);
}

/** Pull the plug on a lab machine, then boot it again; returns how to boot it. */
export function killMachine(cluster: ClusterLab, host: string) {
    const r = run("bash", ["scripts/local/machine.sh", "kill", `${cluster.prefix}-${host}`]);
    if (r.status !== 0) throw new Error(`kill ${host}: ${r.stderr}`);
    const address = cluster.lab.outputs.hosts[host].privateIp;
    const key = run("ssh-keygen", ["-y", "-f", cluster.lab.keyPath]).stdout.trim();
    return () => {
        // A machine that does not come up is stopped with its disks kept: try again, a bounded number of times.
        const errors: string[] = [];
        for (let attempt = 1; attempt <= 3; attempt++) {
            const up = run("bash", ["scripts/local/machine.sh", "up", `${cluster.prefix}-${host}`, `${address}/24`, cluster.bridge, key, "2G"]);
            if (up.status === 0) return;
            errors.push(up.stderr.split("\n").filter((l) => l.startsWith("[machine") || l.includes("supervisor")).join("\n"));
            spawnSync("sleep", ["5"]);
        }
        throw new Error(`boot ${host} again: ${errors.join("\n---\n")}`);
    };
}

const CLUSTER_TOPIC_PARTITIONS = 6;

/**
 * An idempotent acks=all producer (@platformatic/kafka, over the external listeners) sending for `seconds`
 * (or while `seconds()` holds), a batch of 10 and then `pauseMs`, while `fault` runs after `faultAfter` ms.
 * Returns what was acknowledged, what failed, and the gap after the fault.
 *
 * Each send goes to one partition (round robin over the topic's). kafkajs 2.2.4, the tests' earlier client,
 * dropped acknowledged messages when one send() spanned several leaders and a leader moved
 * (tulios/kafkajs#1798, open). @platformatic/kafka 2.12.1 loses nothing there, but cannot finish such a
 * send either: it retries a broker's share of a send at the leader of that share's first partition
 * (`#performSingleDestinationSend`), so when two partitions that one broker led move to two different
 * brokers, every retry is refused with NOT_LEADER_OR_FOLLOWER and the send fails after all of them (seen:
 * 31 times over 132 s; in an e2e run, no acknowledgement at all after a broker's machine was killed). One
 * partition per send has one leader to follow, which the client does.
 */
export async function produceThrough(cluster: ClusterLab, topic: string, seconds: number | (() => boolean), faultAfter: number, fault: () => void, { pauseMs = 50 }: { pauseMs?: number } = {}) {
    const producer = new Producer({
        clientId: "kafka-lab-e2e",
        bootstrapBrokers: cluster.lab.outputs.bootstrapServers.split(","),
        idempotent: true,
        acks: -1,
        timeout: 30000,
        retries: 30,
        retryDelay: (_client, _operation, attempt) => Math.min(5000, 200 * 2 ** Math.max(0, attempt - 1)),
        serializers: stringSerializers,
        ...externalClient(cluster.lab.outputs),
    });
    await producer.initIdempotentProducer({});
    const acked: string[] = [];
    let failed = 0;
    const errors: string[] = [];
    let faultAt = 0;
    let firstAckAfterFault = 0;
    let lastAck = 0;
    let longestGap = 0;
    const timer = setTimeout(() => {
        faultAt = Date.now();
        fault();
    }, faultAfter);
    const deadline = typeof seconds === "number" ? Date.now() + seconds * 1000 : 0;
    const goOn = typeof seconds === "number" ? () => Date.now() < deadline : seconds;
    for (let batch = 0; goOn(); batch++) {
        const partition = batch % CLUSTER_TOPIC_PARTITIONS;
        const messages = Array.from({ length: 10 }, (_, i) => ({ topic, partition, key: `${topic}-${batch}-${i}`, value: JSON.stringify({ batch, i }) }));
        try {
            await producer.send({ messages });
            acked.push(...messages.map((m) => m.key));
            const now = Date.now();
            if (lastAck) longestGap = Math.max(longestGap, now - lastAck);
            lastAck = now;
            if (faultAt && !firstAckAfterFault) firstAckAfterFault = Date.now();
        } catch (e: any) {
            failed += messages.length;
            // The client's errors nest (an error per destination broker, one per attempt, each with its cause or the
            // broker's error id): what the attempts ended on, counted.
            const leaves = new Map<string, number>();
            const walk = (x: any, depth = 0): void => {
                const nested = [...(Array.isArray(x?.errors) ? x.errors : []), ...(x?.cause ? [x.cause] : [])];
                if (!nested.length || depth > 8) {
                    const leaf = x?.apiId ? `${x.apiId}${x.path ? ` ${x.path}` : ""}` : `${x?.code ?? x?.name}: ${String(x?.message).slice(0, 80)}`;
                    leaves.set(leaf, (leaves.get(leaf) ?? 0) + 1);
                } else nested.forEach((c) => walk(c, depth + 1));
            };
            walk(e);
            const what = `${new Date().toISOString().slice(11, 19)} ${e?.name}: ${e?.message} <- ${[...leaves].map(([l, n]) => `${n}x ${l}`).join("; ")}`.slice(0, 600);
            if (errors.length < 20) errors.push(what);
        }
        await new Promise((r) => setTimeout(r, pauseMs));
    }
    clearTimeout(timer);
    await producer.close();
    return { acked, failed, errors, secondsToFirstAckAfterFault: faultAt && firstAckAfterFault ? (firstAckAfterFault - faultAt) / 1000 : -1, longestGapSeconds: Math.round(longestGap / 100) / 10 };
}

/**
 * Every message of `topic`, read by the example consumer on the consumer machine in a fresh group, bootstrapped
 * from the brokers that run (kafka-python 2.0 gave up when the first broker it probed did not answer). While a
 * killed broker's partitions still wait for new leaders (in ZooKeeper mode its session must expire first), a
 * group can idle out before it joins: so, until every `expected` key is read, up to three fresh groups try, and
 * the fullest read counts.
 */
export function readAll(cluster: ClusterLab, topic: string, down = "", expected: string[] = []) {
    const bootstrap = cluster.lab.outputs.internalBootstrapServers.split(",").filter((b: string) => !b.startsWith(`${down}:`)).join(",");
    const attempt = (n: number) =>
        onMachine(cluster.lab, "consumer", `python3 /opt/kafka-lab/clients/consumer.py --bootstrap ${bootstrap} --topic ${topic} --group ${topic}-check${n} --json --idle-timeout 15`, 240)
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l));
    let fullest: any[] = [];
    for (let n = 1; n <= 3; n++) {
        const read = attempt(n);
        if (read.length > fullest.length) fullest = read;
        const keys = new Set(fullest.map((m) => m.key));
        if (expected.every((k) => keys.has(k))) break;
    }
    return fullest;
}

export function clusterTopic(cluster: ClusterLab, topic: string) {
    onMachine(cluster.lab, "broker1", `${clusterKafka(cluster)}/kafka-topics.sh --bootstrap-server ${cluster.lab.outputs.internalBootstrapServers} ${labTools(cluster.lab, "broker1")} --create --topic ${topic} --partitions ${CLUSTER_TOPIC_PARTITIONS} --replication-factor 3`, 90);
}


/**
 * A change deployed under load, as an operator would: the stack file edited, `pulumi up` beside an idempotent
 * acks=all producer (until the deploy ends) and the example consumer reading in its group (committing after
 * each message). Returns what was sent, what the group read (its committed offsets read again after the
 * roll), the topic read whole, and each node's service starts during the deploy, in order.
 */
export async function rollUnderLoad(cluster: ClusterLab, topic: string, edit: (stackFile: string) => string, watch?: () => { stop: () => string }) {
    const group = `${topic}-group`;
    clusterTopic(cluster, topic);
    const brokers = Object.keys(cluster.lab.outputs.hosts).filter((h) => h.startsWith("broker")).sort();
    const consumerCmd = `python3 /opt/kafka-lab/clients/consumer.py --bootstrap ${cluster.lab.outputs.internalBootstrapServers} --topic ${topic} --group ${group} --json --idle-timeout 15 --commit-every 1`;
    let consumedOut = "";
    const consumerDone = new Promise<void>((resolve) => {
        const p = spawn("ssh", [...sshArgs(cluster.lab, cluster.lab.outputs.hosts.consumer.publicIp), `timeout 900 ${consumerCmd}`]);
        p.stdout.on("data", (d) => (consumedOut += d));
        p.on("close", () => resolve());
    });
    const original = fs.readFileSync(cluster.file, "utf8");
    const changed = edit(original);
    if (changed === original) throw new Error("the edit changes nothing in the stack file");
    fs.writeFileSync(cluster.file, changed);
    const up: { status: number | null; out: string } = { status: null, out: "" };
    const producing = { from: Date.now(), to: 0 };
    const watching = watch?.();
    // The deploy runs beside the producer, which sends until the deploy has ended, so that it covers every restart.
    const deploy = new Promise<void>((resolve) => {
        const child = spawn("bash", ["scripts/pulumi.sh", ...upArgs(cluster.stack)], { cwd: REPO });
        child.stdout.on("data", (d) => (up.out += d));
        child.stderr.on("data", (d) => (up.out += d));
        child.on("close", (status) => {
            up.status = status;
            resolve();
        });
    });
    let sent: Awaited<ReturnType<typeof produceThrough>>;
    try {
        // A deploy's roll lasts minutes: a batch, then 200 ms, still keeps sends in flight through every restart,
        // with well under half the messages of the faults' pace (the brokers replicate each over TLS, the consumer
        // commits each), whose CPU the other lab on the same two cores needs: a run of the suite is CPU-bound.
        sent = await produceThrough(cluster, topic, () => up.status === null, 600_000, () => {}, { pauseMs: 200 });
        producing.to = Date.now();
        await deploy;
    } catch (e) {
        await deploy;
        fs.writeFileSync(cluster.file, original);
        throw e;
    }
    const watched = watching?.stop() ?? "";
    if (up.status !== 0) fs.writeFileSync(cluster.file, original);
    await consumerDone;
    // Whatever the first consumer did not get to, the group (its committed offsets) still has: read it.
    const rest = consume(cluster.lab, topic, group, `--bootstrap ${cluster.lab.outputs.internalBootstrapServers}`, 180);
    const consumed = [...consumedOut.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)), ...rest];
    const numbers = tally(sent.acked, withKeysOf(consumed, sent.acked));
    // And the topic itself, read whole in a fresh group: every acknowledged message is there, once.
    const stored = tally(sent.acked, withKeysOf(readAll(cluster, topic, "", sent.acked), sent.acked));
    // Each service start during the deploy, from the machines' journals (they share this host's clock).
    const since = Math.floor(producing.from / 1000);
    const starts = (host: string, unit: ServiceUnit) => serviceStarts(cluster.lab, host, unit, since);
    const consumedKeys = new Set(consumed.map((m) => m.key));
    const missing = sent.acked.filter((k) => !consumedKeys.has(k));
    return { up, sent, numbers, stored, rest, missing, brokers, starts, producing, watched };
}

type ServiceUnit = "kafka" | "kafka-controller" | "zookeeper";

/** When `unit` on `host` started since `since` (seconds since the epoch), in ms, from the machine's journal (it shares this host's clock). */
export function serviceStarts(lab: LabAccess, host: string, unit: ServiceUnit, since: number): number[] {
    return onMachine(lab, host, `journalctl -u ${unit} --since @${since} -o short-unix --no-pager | awk '/Started .*Apache (Kafka|ZooKeeper)/ { print $1 }'`)
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((s) => Math.round(Number(s) * 1000));
}

/** What every roll under load is judged on: no failed send, the group read every acknowledged message, the topic holds each once. */
export function assertRollLostNothing(t: any, r: Awaited<ReturnType<typeof rollUnderLoad>>) {
    t.is(r.sent.failed, 0, `the producer saw no failed send: ${r.sent.errors.join("\n")}`);
    t.is(r.numbers.lost, 0, `acknowledged, never read by the group: ${r.missing.slice(0, 20).join(", ")}`);
    t.is(r.stored.lost, 0, "every acknowledged message is in the topic");
    t.is(r.stored.duplicated, 0, "and once only (an idempotent producer)");
}

/** The stack file with another kafkaVersion. */
export const withKafkaVersion = (file: string, version: string) => file.replace(/kafka-lab:kafkaVersion: "?[\d.]+"?/, `kafka-lab:kafkaVersion: ${version}`);

/** The command line of the JVM a service of a machine runs now. */
export const serviceCommandLine = (cluster: ClusterLab, host: string, unit: "kafka" | "kafka-controller") =>
    onMachine(cluster.lab, host, `tr '\\0' ' ' </proc/$(systemctl show -p MainPID --value ${unit})/cmdline`);

/** What a JVM's command line holds when it runs Kafka `version` (its jars' directory). */
export const releaseJars = (version: string) => new RegExp(`kafka_2\\.13-${version.replace(/\./g, "\\.")}/`);

/** Each broker's running JVM loads the release's own jars. */
export function assertRunsRelease(t: any, cluster: ClusterLab, brokers: string[], version: string) {
    const jars = releaseJars(version);
    for (const b of brokers) t.regex(serviceCommandLine(cluster, b, "kafka"), jars, `${b} runs ${version}`);
}

/** Each node restarted exactly once, one after the other, all inside the producer's window. */
export function assertRolledOnce(t: any, what: string, starts: Record<string, number[]>, order: string[], producing: { from: number; to: number }) {
    for (const node of order) t.is(starts[node].length, 1, `${what}: ${node} started exactly once during the deploy (${starts[node].map((ms) => new Date(ms).toISOString()).join(", ")})`);
    const at = order.map((n) => starts[n][0]);
    t.true(at.every((ms, i) => i === 0 || at[i - 1] < ms), `${what}: one after the other, in order ${order.join(", ")}`);
    t.true(at.every((ms) => ms > producing.from && ms < producing.to), `${what}: every restart inside the producer's window`);
}

// ---- ZooKeeper to KRaft in place (KIP-866): one phase per `pulumi up`, each under load.

/** The stack file with `kafka-lab:KEY: VALUE`, changed or added. */
export const withSetting = (file: string, key: string, value: string) => withConfigLine(file, `kafka-lab:${key}`, value);

/** A migration's phase under load: the deploy beside an idempotent producer and a consumer group; nothing lost. */
export async function migrationPhase(t: any, cluster: ClusterLab, phase: string, edit: (file: string) => string) {
    // smoke-...: the client user's ACLs cover it, on a sasl_ssl stack.
    const r = await rollUnderLoad(cluster, `smoke-${runId}-${phase.replace(/\W+/g, "-")}`, edit);
    t.is(r.up.status, 0, `${phase}: ${r.up.out.slice(-10000)}`);
    const deploySeconds = Math.round((r.producing.to - r.producing.from) / 1000);
    t.log(`${phase}: deploy ${deploySeconds}s; acknowledged ${r.sent.acked.length}, failed sends ${r.sent.failed}, group read ${r.numbers.received} (${r.rest.length} after the deploy), lost ${r.numbers.lost}; in the topic: lost ${r.stored.lost}; longest gap between acknowledgements ${r.sent.longestGapSeconds}s`);
    record(`ZooKeeper to KRaft: ${phase} under load`, { ...r.numbers, failedSends: r.sent.failed, lostFromTheTopic: r.stored.lost, longestAckGapSeconds: r.sent.longestGapSeconds, deploySeconds });
    const restarts = Object.fromEntries(r.brokers.map((b) => [b, Object.fromEntries((["zookeeper", "kafka-controller", "kafka"] as const).map((u) => [u, r.starts(b, u).length]))]));
    t.log(`${phase}: services started during the deploy: ${JSON.stringify(restarts)}`);
    t.true(r.sent.acked.length > 100, `${phase}: acknowledged ${r.sent.acked.length}`);
    assertRollLostNothing(t, r);
    return { ...r, restarts };
}
