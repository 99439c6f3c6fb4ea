// The bench's arithmetic, apart from the machines so that it can be tested on recorded output:
// parsing what dd and Kafka's performance tools print, and each Kafka figure as a share of its limit.

/** dd's summary line: "536870912 bytes (537 MB, 512 MiB) copied, 2.1 s, 256 MB/s" -> MB/s (10^6 bytes). */
export function parseDd(text) {
    const m = /(\d+) bytes .*copied, ([\d.]+) s/.exec(text);
    if (!m) throw new Error(`no dd summary in: ${text.trim().split("\n").at(-1)}`);
    const bytes = Number(m[1]);
    const seconds = Number(m[2]);
    return { bytes, seconds, mbPerSec: bytes / 1e6 / seconds };
}

/**
 * The last summary line of kafka-producer-perf-test.sh:
 * "100000 records sent, 52345.2 records/sec (4.99 MB/sec), 120.30 ms avg latency, 450.00 ms max latency,
 *  110 ms 50th, 300 ms 95th, 400 ms 99th, 440 ms 99.9th."
 */
export function parseProducerPerf(text) {
    const line = text.trim().split("\n").filter((l) => /records sent,.*50th/.test(l)).at(-1);
    if (!line) throw new Error(`no producer summary in: ${text.trim().split("\n").slice(-3).join(" | ")}`);
    const num = (re) => Number(re.exec(line)[1]);
    return {
        records: num(/^(\d+) records sent/),
        recordsPerSec: num(/([\d.]+) records\/sec/),
        mbPerSec: num(/\(([\d.]+) MB\/sec\)/) * 1.048576, // the tool's "MB" is MiB
        latencyAvgMs: num(/([\d.]+) ms avg latency/),
        latencyMaxMs: num(/([\d.]+) ms max latency/),
        latencyP50Ms: num(/(\d+) ms 50th/),
        latencyP99Ms: num(/(\d+) ms 99th/),
    };
}

/** kafka-consumer-perf-test.sh prints a CSV header and one data line. */
export function parseConsumerPerf(text) {
    const lines = text.trim().split("\n").map((l) => l.trim());
    const headerAt = lines.findIndex((l) => l.startsWith("start.time"));
    if (headerAt < 0 || !lines[headerAt + 1]) throw new Error(`no consumer summary in: ${lines.slice(-3).join(" | ")}`);
    const keys = lines[headerAt].split(",").map((k) => k.trim());
    const values = lines[headerAt + 1].split(",").map((v) => v.trim());
    const row = Object.fromEntries(keys.map((k, i) => [k, values[i]]));
    return {
        records: Number(row["data.consumed.in.nMsg"]),
        recordsPerSec: Number(row["fetch.nMsg.sec"]),
        mbPerSec: Number(row["fetch.MB.sec"]) * 1.048576,
        fetchMs: Number(row["fetch.time.ms"]),
    };
}

/** How many records make a run last about `seconds`, from a probe run's rate; bounded both ways. */
export function recordsFor(seconds, probeRecordsPerSec, { min = 20000, max = 20000000 } = {}) {
    return Math.max(min, Math.min(max, Math.round(seconds * probeRecordsPerSec)));
}

/**
 * Each Kafka figure as a share of the limit it is bound by: the producer by the broker's disk, the
 * consumer by the slower of the network and the disk.
 */
export function ratios(limits, runs) {
    return runs.map((r) => {
        const limitName = r.side === "producer" ? "disk" : limits.networkMbPerSec < limits.diskMbPerSec ? "network" : "disk";
        const limit = limitName === "disk" ? limits.diskMbPerSec : limits.networkMbPerSec;
        return { ...r, limitName, limitMbPerSec: limit, ratio: r.mbPerSec / limit };
    });
}

/** What the brokers moved in a run, from their own metrics: MB/s in for a producer run, out for a consumer run. */
export function brokerMbPerSec(run) {
    const b = run.broker;
    if (!b) return undefined;
    return (run.side === "producer" ? b.bytesInMbPerSec : b.bytesOutMbPerSec) ?? undefined;
}

/** A run's broker-side figures on one line. */
export function formatBrokerFigures(run) {
    const b = run.broker ?? {};
    const fmt = (n, d = 1) => (n === null || n === undefined ? "-" : n.toFixed(d));
    return `broker ${fmt(brokerMbPerSec(run))} MB/s ${run.side === "producer" ? "in" : "out"}, produce p99 ${fmt(b.produceP99Ms, 0)} ms, CPU ${fmt(b.cpuCores, 2)} cores, data disk ${fmt(b.dataDiskUsedPercent, 0)} % used`;
}

export function formatBenchTable(limits, rows) {
    const head = ["run", "records", "records/s", "MB/s", "p50 ms", "p99 ms", "max ms", "bound by", "of limit", "broker MB/s", "broker p99", "broker CPU"];
    const fmt = (n, d = 1) => (n === undefined || n === null || Number.isNaN(n) ? "-" : n.toFixed(d));
    const body = rows.map((r) => [
        r.name,
        String(r.records),
        fmt(r.recordsPerSec, 0),
        fmt(r.mbPerSec),
        fmt(r.latencyP50Ms, 0),
        fmt(r.latencyP99Ms, 0),
        fmt(r.latencyMaxMs, 0),
        `${r.limitName} ${fmt(r.limitMbPerSec)}`,
        `${(r.ratio * 100).toFixed(0)}%`,
        fmt(brokerMbPerSec(r)),
        fmt(r.broker?.produceP99Ms, 0),
        fmt(r.broker?.cpuCores, 2),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    return [
        `limits: broker disk ${fmt(limits.diskMbPerSec)} MB/s (sequential write, fsync), network producer->broker ${fmt(limits.networkMbPerSec)} MB/s; broker columns: the brokers' own metrics (Prometheus), the highest 20 s rate in the run`,
        line(head),
        line(widths.map((w) => "-".repeat(w))),
        ...body.map(line),
    ].join("\n");
}
