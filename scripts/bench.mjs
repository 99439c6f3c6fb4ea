// Measures a deployed lab: the limits of its machines (the broker's disk, the network from producer to
// broker), then Kafka's own performance tools against the broker, each figure as a share of the limit
// it is bound by, beside what the brokers themselves measured (from the lab's Prometheus); plus how long
// the lab itself takes to build. Prints a table, writes JSON and a PNG.
//
//   npm run bench -- [--stack NAME]... [--seconds S] [--quick] [--report FILE] [--chart FILE]
//
// Several --stack: each is measured in turn in the same run (say the one-broker lab and a 3-broker
// cluster), and the report and chart show them side by side.
import fs from "node:fs";
import path from "node:path";
import { argv, chalk } from "zx";
import { REPO, brokerHosts, keyFile, labHosts, ssh, stackOutputs, toolsConfig } from "./lib/stack.mjs";
import { labStack } from "./lib/engine.mjs";
import { formatBenchTable, formatBrokerFigures, parseConsumerPerf, parseDd, parseProducerPerf, ratios, recordsFor } from "./lib/bench-report.mjs";
import { brokerFigures } from "./lib/health.mjs";
import { writeBenchChart } from "./lib/bench-chart.mjs";
import { shellQuote as shq } from "../src/render.ts";
import { BENCH_STREAM_PORT as streamPort } from "../src/topology.ts";

const stacks = [].concat(argv.stack ?? [undefined]);
const stack = stacks.join("+") || undefined;
const quick = Boolean(argv.quick);
// Each Kafka run lasts about this long: long enough that start-up and the last batch do not dominate.
const seconds = Number(argv.seconds ?? (quick ? 3 : 20));
const reportFile = argv.report ?? path.join(REPO, "reports", `bench-${stack ?? "stack"}.json`);
const chartFile = argv.chart ?? reportFile.replace(/\.json$/, ".png");
const runId = `bench${Date.now().toString(36)}`;

function step(name) {
    console.log(chalk.bold(`== ${name}`));
}

/** Measures one deployed stack: its machines' limits, Kafka's tools against them, and a no-change `pulumi up`. */
async function benchStack(stack) {
    const outputs = await stackOutputs(stack);
    console.log(chalk.bold(`\n### stack ${stack ?? "(selected)"}: ${brokerHosts(outputs).length} broker(s), replication factor ${outputs.replicationFactor ?? 1}`));
    const key = keyFile(outputs);
    /** A command as root on a lab machine, ended after `seconds` there and 30 s later here. */
    const onHost = (role, command, seconds = 300) => ssh(outputs, key, role, `sudo -n timeout ${seconds} bash -c ${shq(command)}`, { timeout: `${seconds + 30}s` });
    const kafkaBin = "/opt/kafka/bin";
    const bootstrap = outputs.internalBootstrapServers;
    // The disk and the network are measured on the first broker; topics get the cluster's replication factor.
    const broker = brokerHosts(outputs)[0];
    const replicationFactor = Number(outputs.replicationFactor ?? 1);

    step("machines");
    const machine = {};
    for (const role of labHosts(outputs)) {
        const r = await onHost(role, "nproc; free -m | awk '/^Mem:/{print $2}'; . /etc/os-release && echo \"$PRETTY_NAME\"");
        const [cpus, memMiB, os] = r.stdout.trim().split("\n");
        machine[role] = { cpus: Number(cpus), memMiB: Number(memMiB), os };
        console.log(`   ${role}: ${cpus} CPUs, ${memMiB} MiB, ${os}`);
    }

    /** Free bytes on the broker's data volume: no run may fill it (a full volume stops the broker). */
    const freeBytes = async () => Number((await onHost(broker, "df --output=avail -B1 /var/lib/kafka | tail -n 1")).stdout.trim());

    step("broker ready, data volume has room");
    const free = await freeBytes();
    if (free < 256 * 2 ** 20) throw new Error(`the broker's data volume has ${(free / 2 ** 20).toFixed(0)} MiB free; the bench needs at least 256 MiB`);
    await onHost("producer", `${kafkaBin}/kafka-broker-api-versions.sh --bootstrap-server ${bootstrap} --command-config ${toolsConfig(outputs, "producer")} | head -n 1`, 60);
    console.log(`   ${(free / 2 ** 20).toFixed(0)} MiB free on the data volume`);

    step("limit: sequential write to the broker's Kafka data directory (fsync at the end)");
    const ddCount = Math.max(16, Math.min(quick ? 128 : 1024, Math.floor((0.3 * free) / 2 ** 20)));
    const disk = parseDd(
        (await onHost(broker, `dd if=/dev/zero of=/var/lib/kafka/bench-${runId} bs=1M count=${ddCount} conv=fdatasync 2>&1; rm -f /var/lib/kafka/bench-${runId}`, 600)).stdout,
    );
    console.log(`   ${disk.mbPerSec.toFixed(1)} MB/s (${(disk.bytes / 1e6).toFixed(0)} MB in ${disk.seconds.toFixed(2)}s)`);

    /** A firewalld rule admitting one lab machine to a broker's port: the bench opens it for its run only. */
    const allow = (role, port) => `rule family="ipv4" source address="${outputs.hosts[role].privateIp}/32" port port="${port}" protocol="tcp" accept`;
    const open = (host, rule, seconds) => onHost(host, `firewall-cmd --zone=kafka-lab --add-rich-rule=${shq(rule)} --timeout=${seconds} >/dev/null`);
    const close = (host, rule) => onHost(host, `firewall-cmd --zone=kafka-lab --remove-rich-rule=${shq(rule)} >/dev/null || true`);

    step("limit: a plain TCP stream from the producer to the broker");
    // firewalld admits only the lab's ports: open one for the producer alone, for this run only (not permanent).
    const streamRule = allow("producer", streamPort);
    await open(broker, streamRule, 300);
    let network;
    try {
        const sink = onHost(broker, `python3 -c ${shq(`import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", ${streamPort})); s.listen(1); s.settimeout(60)\nc,_=s.accept()\nwhile c.recv(1<<20): pass`)}`, 120);
        await new Promise((r) => setTimeout(r, 1500));
        const streamCount = quick ? 256 : 2048;
        const sent = await onHost("producer", `dd if=/dev/zero bs=1M count=${streamCount} 2>&1 >/dev/tcp/${broker}/${streamPort}`, 300);
        await sink;
        network = parseDd(sent.stdout);
    } finally {
        await close(broker, streamRule);
    }
    console.log(`   ${network.mbPerSec.toFixed(1)} MB/s (${(network.bytes / 1e6).toFixed(0)} MB in ${network.seconds.toFixed(2)}s)`);

    // The internal listener's runs connect as the clients inside the lab do (their tools' properties: plaintext,
    // or mTLS with the client's certificate). When the external listener speaks another protocol, 1 KiB
    // acks=all runs a second time over it, so that the report shows each beside the other in the same run:
    // sasl_ssl (TLS and SCRAM, with the stack's client.properties) against the internal listener, or, on an
    // mtls stack with a plaintext external listener, plaintext against mTLS.
    const mtls = outputs.internalSecurity === "mtls";
    const secure = outputs.externalSecurity === "sasl_ssl";
    const internalListener = mtls ? "SSL (mTLS)" : "PLAINTEXT";
    const compareExternal = secure || mtls;
    const clientTools = toolsConfig(outputs, "producer");
    const brokerTools = toolsConfig(outputs, broker);
    const clientConfig = "/root/kafka-lab-bench-client.properties";
    const externalPort = outputs.bootstrapServers.split(",")[0].split(":").at(-1);
    const externalRules = ["producer", "consumer"].map((role) => allow(role, externalPort));

    /** One producer run and one consumer run of Kafka's perf tools, on a topic of their own: two report rows. */
    async function kafkaRuns({ size, acks, external }) {
        const topic = `${runId}-${size}-${acks}${external ? "-ext" : ""}`;
        const name = `${size === 1024 ? "1 KiB" : `${size} B`} acks=${acks}${external ? (secure ? " SASL_SSL" : " PLAINTEXT external") : ""}`;
        const listener = external ? (secure ? "SASL_SSL" : "PLAINTEXT") : internalListener;
        // The external run connects as outside clients do (SASL_SSL: the client.properties; plaintext: nothing).
        const config = external ? (secure ? clientConfig : "") : clientTools;
        const servers = external ? outputs.bootstrapServers : bootstrap;
        const props = `bootstrap.servers=${servers}${config && ` --producer.config ${config}`}`;
        const consumerArgs = `--bootstrap-server ${servers}${config && ` --consumer.config ${config}`}`;
        // A deleted topic's files go only after the broker's file delete delay (60 s): when the volume is
        // short of room, wait (bounded) for the previous runs' topics to be gone.
        for (let i = 0; i < 90 && (await freeBytes()) < 0.6 * free; i++) await new Promise((r) => setTimeout(r, 1000));
        await onHost(broker, `${kafkaBin}/kafka-topics.sh --bootstrap-server ${bootstrap} --command-config ${brokerTools} --create --topic ${topic} --partitions 3 --replication-factor ${replicationFactor} >/dev/null`);
        const spaceCap = Math.floor((0.35 * (await freeBytes())) / (size + 70)); // record plus batch overhead
        const perf = (records) =>
            onHost(
                "producer",
                `${kafkaBin}/kafka-producer-perf-test.sh --topic ${topic} --num-records ${records} --record-size ${size} --throughput -1 --producer-props acks=${acks} ${props} 2>&1`,
                900,
            ).then((r) => parseProducerPerf(r.stdout));
        step(`producer ${name}`);
        const probe = await perf(quick ? 20000 : 50000);
        const wanted = recordsFor(seconds, probe.recordsPerSec, { min: quick ? 20000 : 50000 });
        const records = Math.min(wanted, spaceCap);
        if (records < wanted) console.log(chalk.yellow(`   ${records} records instead of ${wanted}: the data volume has room for no more`));
        const produceWindow = { from: Date.now() };
        const produced = await perf(records);
        produceWindow.to = Date.now();
        console.log(`   ${produced.records} records, ${produced.recordsPerSec.toFixed(0)} records/s, ${produced.mbPerSec.toFixed(1)} MB/s, p50 ${produced.latencyP50Ms} ms, p99 ${produced.latencyP99Ms} ms`);

        step(`consumer ${name}`);
        const total = probe.records + produced.records;
        const consumeWindow = { from: Date.now() };
        const consumed = parseConsumerPerf(
            (await onHost("consumer", `${kafkaBin}/kafka-consumer-perf-test.sh ${consumerArgs} --topic ${topic} --messages ${total} --timeout 60000 --group ${topic}-c 2>&1`, 900)).stdout,
        );
        consumeWindow.to = Date.now();
        console.log(`   ${consumed.records} records, ${consumed.recordsPerSec.toFixed(0)} records/s, ${consumed.mbPerSec.toFixed(1)} MB/s`);
        await onHost(broker, `${kafkaBin}/kafka-topics.sh --bootstrap-server ${bootstrap} --command-config ${brokerTools} --delete --topic ${topic} >/dev/null`);
        return [
            { name: `produce ${name}`, side: "producer", recordSize: size, acks, listener, cappedBySpace: records < wanted, window: produceWindow, ...produced },
            { name: `consume ${name}`, side: "consumer", recordSize: size, acks, listener, window: consumeWindow, ...consumed },
        ];
    }

    const runs = [];
    for (const size of [100, 1024]) for (const acks of ["1", "all"]) runs.push(...(await kafkaRuns({ size, acks, external: false })));
    if (compareExternal) {
        step(`${secure ? "SASL_SSL: the client's properties on producer and consumer; t" : "T"}he external listener open to them for this run`);
        try {
            // On stdin, never on a command line (which every user of the machine can read).
            if (secure) for (const role of ["producer", "consumer"]) await ssh(outputs, key, role, `sudo -n bash -c ${shq(`umask 077; cat > ${clientConfig}`)}`, { timeout: "60s", input: outputs.clientProperties });
            for (const b of brokerHosts(outputs)) for (const r of externalRules) await open(b, r, 900);
            runs.push(...(await kafkaRuns({ size: 1024, acks: "all", external: true })));
        } finally {
            if (secure) for (const role of ["producer", "consumer"]) await onHost(role, `rm -f ${clientConfig}`);
            for (const b of brokerHosts(outputs)) for (const r of externalRules) await close(b, r);
        }
        const internal = runs.find((r) => r.name === "produce 1 KiB acks=all");
        const external = runs.find((r) => r.name.startsWith("produce 1 KiB acks=all ") && r !== internal);
        console.log(`   1 KiB acks=all: ${external.listener} (external) ${external.mbPerSec.toFixed(1)} MB/s against ${internal.listener} (internal) ${internal.mbPerSec.toFixed(1)} MB/s (${((external.mbPerSec / internal.mbPerSec) * 100).toFixed(0)}%)`);
    }

    // The brokers' side of each run, from the lab's Prometheus, once the last run is a scrape in the past.
    step("broker-side figures from Prometheus (bytes in and out, produce latency, CPU, data disk)");
    await new Promise((r) => setTimeout(r, Math.max(0, runs.at(-1).window.to + 12_000 - Date.now())));
    const figures = await brokerFigures(outputs, key, runs.map((r) => r.window));
    runs.forEach((r, i) => (r.broker = figures[i]));
    for (const r of runs) console.log(`   ${r.name.padEnd(28)} ${formatBrokerFigures(r)}`);

    step("pulumi up with no changes");
    const upStarted = Date.now();
    await (await labStack(stack)).up({ expectNoChanges: true });

    const limits = { diskMbPerSec: disk.mbPerSec, networkMbPerSec: network.mbPerSec };
    return { stack: stack ?? "(selected)", brokers: brokerHosts(outputs).length, replicationFactor, machine, limits, runs: ratios(limits, runs), pulumiUpNoChangesSeconds: (Date.now() - upStarted) / 1000 };
}

const measured = [];
for (const s of stacks) measured.push(await benchStack(s));
const lab = { pulumiUpNoChangesSeconds: measured[0].pulumiUpNoChangesSeconds };
// `npm run lab` records its own runs (cold: something had to be built; warm: all cached; down).
const timesFile = path.join(REPO, "reports", "lab-times.json");
if (fs.existsSync(timesFile)) Object.assign(lab, JSON.parse(fs.readFileSync(timesFile, "utf8")));

for (const m of measured) console.log(`\n${m.stack} (${m.brokers} broker(s), replication factor ${m.replicationFactor}):\n${formatBenchTable(m.limits, m.runs)}\n`);
// The first stack's figures stay at the top level (the report's earlier shape); every stack's are in `stacks`.
const { machine, limits, runs: rows } = measured[0];
console.log(`lab: pulumi up with no changes ${lab.pulumiUpNoChangesSeconds.toFixed(1)}s` + ["cold", "warm", "down"].filter((k) => lab[k]).map((k) => `, npm run lab${k === "down" ? " -- down" : ` (${k})`} ${lab[k].seconds.toFixed(1)}s`).join(""));

fs.mkdirSync(path.dirname(reportFile), { recursive: true });
fs.writeFileSync(reportFile, `${JSON.stringify({ stack: stack ?? "(selected)", measuredAt: new Date().toISOString(), quick, secondsPerRun: seconds, machine, limits, runs: rows, lab, stacks: measured }, null, 2)}\n`);
await writeBenchChart(chartFile, `kafka-lab bench, ${measured.map((m) => `${m.stack} (${m.brokers} broker${m.brokers > 1 ? "s" : ""})`).join(" vs ")}: MB/s against the limits`, measured);
console.log(`report: ${reportFile}\nchart: ${chartFile}`);
