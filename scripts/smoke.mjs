#!/usr/bin/env node
// Smoke test of a deployed lab: produce on the producer machine, consume on the consumer machine, and
// produce and consume from this machine over the external listener; every message exactly once. Then
// every exporter of the lab is scraped by its Prometheus.
//
//   npm run smoke -- [--stack NAME] [--messages N] [--timeout SECONDS] [--report FILE] [--topic NAME] [--keep-topic]
import fs from "node:fs";
import path from "node:path";
import { argv, chalk, expBackoff, sleep } from "zx";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { SUDO_TOOL, brokerHosts, externalClient, keyFile, labHosts, ssh, stackOutputs, toolsConfig } from "./lib/stack.mjs";
import { MONITORING_HOST, scrapeTargets } from "./lib/health.mjs";
import { checkExactlyOnce, formatTable, parseConsumed, parseTopicDescription } from "./lib/smoke-check.mjs";

const messages = Number(argv.messages ?? 100);
const timeoutSeconds = Number(argv.timeout ?? 120);
const runId = `smoke${Date.now().toString(36)}`;
const topic = argv.topic ?? `smoke-${runId}`;
const consoleBatch = 10;
const externalBatch = 5;
const rows = [];
const report = { runId, topic, stack: argv.stack ?? "(selected)", startedAt: new Date().toISOString(), steps: rows };
const remote = `${timeoutSeconds}s`;
let outputs;
let key;

class StepFailed extends Error {}

/** Runs one named step, timing it; a failure names the step and the machine and shows what it printed. */
async function step(name, host, fn) {
    const started = Date.now();
    process.stdout.write(`${chalk.bold("==")} ${name} (${host}) ... `);
    try {
        const result = (await fn()) ?? {};
        const seconds = (Date.now() - started) / 1000;
        rows.push({ step: name, host, messages: result.messages, seconds, ok: true });
        console.log(`ok, ${seconds.toFixed(1)}s`);
        return result;
    } catch (err) {
        const seconds = (Date.now() - started) / 1000;
        rows.push({ step: name, host, seconds, ok: false, error: String(err.message ?? err) });
        console.log(chalk.red(`FAILED after ${seconds.toFixed(1)}s`));
        const output = [err.stdout, err.stderr].filter(Boolean).join("\n").trim();
        console.error(chalk.red(`step "${name}" on ${host} failed: ${err.message?.split("\n")[0] ?? err}`));
        if (output) console.error(output.split("\n").slice(-30).join("\n"));
        throw new StepFailed(name);
    }
}

/** Polls Prometheus' targets (every second, up to 60 s) until every exporter of the lab is up; never rejects. */
async function watchScrapes(outputs, key) {
    const expected = [...labHosts(outputs).map((h) => `node ${h}`), ...brokerHosts(outputs).map((b) => `kafka ${b}`), `lag ${MONITORING_HOST}`];
    let targets = [];
    let missing = expected;
    for (let tries = 0; tries < 60; tries++) {
        try {
            targets = await scrapeTargets(outputs, key);
            const up = new Set(targets.filter((t) => t.health === "up").map((t) => `${t.job} ${t.host}`));
            missing = [...expected.filter((e) => !up.has(e)), ...targets.filter((t) => t.health !== "up").map((t) => `${t.job} ${t.host} (${t.health}${t.error ? `: ${t.error}` : ""})`)];
        } catch (e) {
            missing = [`Prometheus' targets could not be read: ${String(e.message ?? e).split("\n")[0]}`];
        }
        if (!missing.length) break;
        await sleep(1000);
    }
    return { targets, missing };
}

async function brokerLogTail() {
    const log = await ssh(outputs, key, brokerHosts(outputs)[0], "sudo -n journalctl -u kafka -n 15 --no-pager; sudo -n tail -n 25 /var/log/kafka/server.log", { timeout: "30s", nothrow: true });
    console.error(chalk.yellow("--- last lines of the broker's Kafka log ---"));
    console.error(`${log.stdout}${log.stderr}`.trim() || "(no log could be read)");
}

function writeReport(ok) {
    Object.assign(report, { ok, finishedAt: new Date().toISOString() });
    if (argv.report) {
        fs.mkdirSync(path.dirname(path.resolve(argv.report)), { recursive: true });
        fs.writeFileSync(argv.report, `${JSON.stringify(report, null, 2)}\n`);
        console.log(`report: ${argv.report}`);
    }
}

/** A Kafka tool on `host` against the internal listener, as the identity that host holds (the console producer names its file otherwise). */
const kafkaTool = (host, tool, args) => {
    const option = tool === "kafka-console-producer.sh" ? "--producer.config" : "--command-config";
    return `${SUDO_TOOL} timeout ${timeoutSeconds} /opt/kafka/bin/${tool} --bootstrap-server ${outputs.internalBootstrapServers} ${option} ${toolsConfig(outputs, host)} ${args}`;
};

try {
    outputs = await step("read stack outputs", "local", async () => stackOutputs(argv.stack));
    key = keyFile(outputs);
    report.bootstrapServers = outputs.bootstrapServers;
    const brokers = brokerHosts(outputs);
    const firstBroker = brokers[0];
    // Every topic the lab makes has the cluster's replication factor: with min.insync.replicas 2, a topic
    // of one replica would refuse every acks=all write.
    const replicationFactor = Number(outputs.replicationFactor ?? 1);
    // A new lab's first scrape of an exporter may be a scrape interval (10 s) away: the watch starts now,
    // beside the other steps, and the last step waits for what it has not seen yet.
    const scraped = watchScrapes(outputs, key);

    await step("broker answers", "producer", async () => {
        // The broker may still be starting right after a deploy or a reboot: retry with backoff, but
        // never past --timeout.
        const deadline = Date.now() + timeoutSeconds * 1000;
        const backoff = expBackoff("15s", "1s");
        for (let attempt = 1; ; attempt++) {
            const left = Math.max(5, Math.floor((deadline - Date.now()) / 1000));
            // One line per live broker: all of them must be there.
            const probe = `${SUDO_TOOL} timeout ${Math.min(30, left)} /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server ${outputs.internalBootstrapServers} --command-config ${toolsConfig(outputs, "producer")} | grep -c '(id:'`;
            const r = await ssh(outputs, key, "producer", probe, { timeout: `${Math.min(30, left) + 10}s`, nothrow: true });
            if (Number.parseInt(r.stdout, 10) >= brokers.length) return;
            const pause = Number.parseInt(String(backoff.next().value), 10);
            if (Date.now() + pause >= deadline) {
                const err = new Error(`the broker did not answer on ${outputs.internalBootstrapServers} within ${timeoutSeconds}s (${attempt} attempts)`);
                Object.assign(err, { stderr: r.stderr });
                throw err;
            }
            await sleep(pause);
        }
    }).catch(async (e) => {
        await brokerLogTail();
        throw e;
    });

    await step(`create topic ${topic}`, firstBroker, async () => {
        await ssh(outputs, key, firstBroker, kafkaTool(firstBroker, "kafka-topics.sh", `--create --if-not-exists --topic ${topic} --partitions 3 --replication-factor ${replicationFactor}`), { timeout: remote });
        const described = await ssh(outputs, key, firstBroker, kafkaTool(firstBroker, "kafka-topics.sh", `--describe --topic ${topic}`), { timeout: remote });
        const partitions = parseTopicDescription(described.stdout);
        report.partitions = partitions;
        const wrong = partitions.filter((p) => p.replicas.length !== replicationFactor || p.isr.length !== replicationFactor);
        if (partitions.length !== 3 || wrong.length) throw new Error(`topic ${topic} should have 3 partitions of ${replicationFactor} in-sync replicas: ${described.stdout.trim()}`);
        const leaders = new Set(partitions.map((p) => p.leader));
        if (brokers.length > 1 && leaders.size < 2) throw new Error(`every partition of ${topic} is led by broker ${[...leaders]}: leadership is not spread`);
    });

    if (brokers.length > 1) {
        await step("every broker's internal listener answers", "producer", async () => {
            for (const b of brokers) {
                const address = outputs.internalBootstrapServers.split(",").find((a) => a.startsWith(`${b}:`));
                await ssh(outputs, key, "producer", `${SUDO_TOOL} timeout 60 /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server ${address} --command-config ${toolsConfig(outputs, "producer")} | head -n 1`, { timeout: "90s" });
            }
        });
        await step(`every broker's external listener answers (${outputs.externalSecurity ?? "plaintext"})`, "local", async () => {
            for (const address of outputs.bootstrapServers.split(",")) {
                // This address alone as the bootstrap broker: its metadata answer comes from it.
                const admin = new Admin({ clientId: "kafka-lab-smoke", bootstrapBrokers: [address], connectTimeout: 10000, retries: 3, ...externalClient(outputs) });
                try {
                    const cluster = await admin.metadata({ topics: [] });
                    if (cluster.brokers.size !== brokers.length) throw new Error(`${address} knows ${cluster.brokers.size} brokers, not ${brokers.length}`);
                } finally {
                    await admin.close();
                }
            }
        });
    }

    const expected = {};
    await step("example producer: gzip JSON with keys", "producer", async () => {
        const out = await ssh(outputs, key, "producer", `timeout ${timeoutSeconds} python3 /opt/kafka-lab/clients/producer.py --topic ${topic} --count ${messages} --format json --run-id ${runId}`, { timeout: remote });
        const summary = JSON.parse(out.stdout.trim().split("\n").at(-1));
        if (summary.sent.json !== messages) throw new Error(`producer reported ${summary.sent.json} sent, expected ${messages}`);
        for (let i = 0; i < messages; i++) expected[`${runId}-json-${i}`] = { run: runId, seq: i, kind: "json" };
        return { messages };
    });

    await step("console producer batch", "producer", async () => {
        const lines = Array.from({ length: consoleBatch }, (_, i) => `${runId}-console-${i}:run ${runId} console message ${i}`);
        await ssh(outputs, key, "producer", kafkaTool("producer", "kafka-console-producer.sh", `--topic ${topic} --property parse.key=true --property key.separator=: --producer-property acks=all`), {
            timeout: remote,
            input: `${lines.join("\n")}\n`,
        });
        lines.forEach((l) => {
            const [k, v] = l.split(/:(.*)/s);
            expected[k] = v;
        });
        return { messages: consoleBatch };
    });

    const internal = await step("example consumer, fresh group, from earliest", "consumer", async () => {
        const total = Object.keys(expected).length;
        const out = await ssh(outputs, key, "consumer", `timeout ${timeoutSeconds} python3 /opt/kafka-lab/clients/consumer.py --topic ${topic} --group ${runId}-internal --json --max-messages ${total} --idle-timeout 20`, { timeout: remote });
        const check = checkExactlyOnce(expected, parseConsumed(out.stdout), runId);
        report.internal = check;
        if (!check.ok) throw new Error(`exactly-once check failed: ${JSON.stringify({ missing: check.missing.length, duplicated: check.duplicated, unexpected: check.unexpected, wrongValue: check.wrongValue })}`);
        return { messages: check.received, partitions: check.partitions };
    });
    if (internal.partitions.length < 2) throw new Error(`all messages landed in partition ${internal.partitions}: keys are not spread`);

    const kafka = { clientId: "kafka-lab-smoke", bootstrapBrokers: outputs.bootstrapServers.split(","), connectTimeout: 10000, requestTimeout: 30000, timeout: 30000, retries: 5, ...externalClient(outputs) };
    const security = outputs.externalSecurity === "sasl_ssl" ? `SASL_SSL as ${outputs.clientUsername}, CA and hostname checked` : "plaintext";
    report.externalSecurity = outputs.externalSecurity ?? "plaintext";
    await step(`external producer over the advertised listener (${security})`, "local", async () => {
        // Idempotent, so acks=all; gzip, like the example producer's batches.
        const producer = new Producer({ ...kafka, idempotent: true, compression: "gzip", serializers: stringSerializers });
        try {
            const batch = Array.from({ length: externalBatch }, (_, i) => ({ topic, key: `${runId}-ext-${i}`, value: JSON.stringify({ run: runId, seq: i, kind: "external" }) }));
            await producer.send({ messages: batch, acks: -1 });
            batch.forEach((m) => (expected[m.key] = JSON.parse(m.value)));
        } finally {
            await producer.close();
        }
        return { messages: externalBatch };
    });

    await step(`external consumer, fresh group, from earliest (${security})`, "local", async () => {
        const total = Object.keys(expected).length;
        const consumer = new Consumer({ ...kafka, groupId: `${runId}-external`, deserializers: stringDeserializers });
        const got = [];
        let stream;
        try {
            // A fresh group: no committed offsets, so it starts from the earliest.
            stream = await consumer.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest" });
            await new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error(`only ${got.length} of ${total} messages within ${timeoutSeconds}s`)), timeoutSeconds * 1000);
                stream.on("error", (e) => {
                    clearTimeout(timer);
                    reject(e);
                });
                stream.on("data", (message) => {
                    const text = message.value ?? null;
                    let value = text;
                    try {
                        value = JSON.parse(text);
                    } catch {}
                    got.push({ topic: message.topic, partition: message.partition, offset: Number(message.offset), key: message.key ?? null, value });
                    if (got.length >= total) {
                        clearTimeout(timer);
                        resolve();
                    }
                });
            });
        } finally {
            await stream?.close().catch(() => {});
            await consumer.close();
        }
        const check = checkExactlyOnce(expected, got, runId);
        report.external = check;
        if (!check.ok) throw new Error(`exactly-once check failed: ${JSON.stringify({ missing: check.missing.length, duplicated: check.duplicated, unexpected: check.unexpected, wrongValue: check.wrongValue })}`);
        return { messages: check.received };
    });

    // Every exporter of the lab scraped by its Prometheus: each machine's node_exporter, each broker's (and
    // controller's, ZooKeeper's) JMX exporter agent, the lag exporter.
    await step("every exporter scraped by Prometheus", MONITORING_HOST, async () => {
        const { targets, missing } = await scraped;
        if (missing.length) throw new Error(`not scraped: ${[...new Set(missing)].join(", ")}`);
        report.exporters = targets.map((t) => `${t.job} ${t.host}`).sort();
        return { messages: undefined };
    });

    if (!argv["keep-topic"] && !argv.topic) {
        await step(`delete topic ${topic}`, firstBroker, async () => {
            await ssh(outputs, key, firstBroker, kafkaTool(firstBroker, "kafka-topics.sh", `--delete --topic ${topic}`), { timeout: remote });
        });
    }

    console.log(`\n${formatTable(rows)}\n`);
    console.log(chalk.green(`smoke test passed: ${Object.keys(expected).length} messages, each read back exactly once per group (run ${runId})`));
    writeReport(true);
} catch (err) {
    if (rows.length) console.log(`\n${formatTable(rows)}\n`);
    console.error(chalk.red(`smoke test FAILED${err instanceof StepFailed ? ` at step "${err.message}"` : `: ${err.message}`}`));
    writeReport(false);
    process.exit(1);
}
