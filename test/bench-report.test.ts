// The bench's parsing and ratio arithmetic, on output recorded from the lab's own machines.
import test from "ava";

let lib: any;
test.before(async () => {
    lib = await import("../scripts/lib/bench-report.mjs" as string);
});

const dd = "64+0 records in\n64+0 records out\n67108864 bytes (67 MB, 64 MiB) copied, 0.0573176 s, 1.2 GB/s\n";
const producer =
    "[2026-11-26 07:00:27] WARN something (org.apache.kafka)\n" +
    "12001 records sent, 2400.2 records/sec (0.23 MB/sec), 900.1 ms avg latency, 1200.0 ms max latency.\n" +
    "20000 records sent, 55401.662050 records/sec (5.28 MB/sec), 13.72 ms avg latency, 219.00 ms max latency, 14 ms 50th, 21 ms 95th, 23 ms 99th, 24 ms 99.9th.\n";
const consumer =
    "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n" +
    "2026-11-26 07:00:28:846, 2026-11-26 07:00:29:150, 1.9073, 6.2742, 20000, 65789.4737, 241, 63, 30.2754, 317460.3175\n";

test("dd: bytes over seconds, in MB/s of 10^6 bytes", (t) => {
    const r = lib.parseDd(dd);
    t.is(r.bytes, 67108864);
    t.is(r.seconds, 0.0573176);
    t.is(Math.round(r.mbPerSec), Math.round(67.108864 / 0.0573176));
    t.throws(() => lib.parseDd("dd: error writing: No space left on device"), { message: /no dd summary/ });
});

test("producer perf: the final summary line, not the interim ones; MiB converted to MB", (t) => {
    const r = lib.parseProducerPerf(producer);
    t.deepEqual(
        { ...r, mbPerSec: Number(r.mbPerSec.toFixed(3)) },
        { records: 20000, recordsPerSec: 55401.66205, mbPerSec: 5.536, latencyAvgMs: 13.72, latencyMaxMs: 219, latencyP50Ms: 14, latencyP99Ms: 23 },
    );
    t.throws(() => lib.parseProducerPerf("org.apache.kafka.common.errors.TimeoutException"), { message: /no producer summary/ });
});

test("consumer perf: fetch rate from the CSV line (rebalance time excluded)", (t) => {
    const r = lib.parseConsumerPerf(consumer);
    t.is(r.records, 20000);
    t.is(r.recordsPerSec, 317460.3175);
    t.is(r.fetchMs, 63);
    t.is(Number(r.mbPerSec.toFixed(3)), Number((30.2754 * 1.048576).toFixed(3)));
});

test("record counts aim at the wanted duration, within bounds", (t) => {
    t.is(lib.recordsFor(20, 55000), 1100000);
    t.is(lib.recordsFor(20, 10), 20000, "never fewer than the minimum");
    t.is(lib.recordsFor(20, 5e7, { max: 1e6 }), 1e6);
});

test("ratios: producers against the disk, consumers against the slower of network and disk", (t) => {
    const rows = lib.ratios({ diskMbPerSec: 200, networkMbPerSec: 100 }, [
        { name: "p", side: "producer", mbPerSec: 50 },
        { name: "c", side: "consumer", mbPerSec: 80 },
    ]);
    t.deepEqual(rows.map((r: any) => [r.limitName, r.limitMbPerSec, r.ratio]), [
        ["disk", 200, 0.25],
        ["network", 100, 0.8],
    ]);
    const fastNetwork = lib.ratios({ diskMbPerSec: 200, networkMbPerSec: 900 }, [{ name: "c", side: "consumer", mbPerSec: 100 }]);
    t.is(fastNetwork[0].limitName, "disk");
    t.is(fastNetwork[0].ratio, 0.5);
});

test("the table shows every run with its limit and share", (t) => {
    const rows = lib.ratios({ diskMbPerSec: 200, networkMbPerSec: 100 }, [{ name: "produce 100 B acks=1", side: "producer", records: 10, recordsPerSec: 5, mbPerSec: 50, latencyP50Ms: 3, latencyP99Ms: 9, latencyMaxMs: 12 }]);
    const lines = lib.formatBenchTable({ diskMbPerSec: 200, networkMbPerSec: 100 }, rows).split("\n");
    t.regex(lines[0], /broker disk 200\.0 MB\/s .* network producer->broker 100\.0 MB\/s/);
    t.regex(lines[3], /^produce 100 B acks=1\s+10\s+5\s+50\.0\s+3\s+9\s+12\s+disk 200\.0\s+25%\s+-\s+-\s+-$/, "no broker figures: dashes");
    // With the brokers' own figures: MB/s in for a producer run, out for a consumer run; their p99 and CPU.
    const broker = { bytesInMbPerSec: 48.2, bytesOutMbPerSec: 0.5, produceP99Ms: 7, cpuCores: 0.42, dataDiskUsedPercent: 31 };
    const withBroker = lib.ratios({ diskMbPerSec: 200, networkMbPerSec: 100 }, [
        { name: "produce 1 KiB acks=all", side: "producer", records: 10, recordsPerSec: 5, mbPerSec: 50, broker },
        { name: "consume 1 KiB acks=all", side: "consumer", records: 10, recordsPerSec: 5, mbPerSec: 60, broker: { ...broker, bytesOutMbPerSec: 61.3 } },
    ]);
    const table = lib.formatBenchTable({ diskMbPerSec: 200, networkMbPerSec: 100 }, withBroker).split("\n");
    t.regex(table[1], /broker MB\/s\s+broker p99\s+broker CPU$/);
    t.regex(table[3], /\s48\.2\s+7\s+0\.42$/);
    t.regex(table[4], /\s61\.3\s+7\s+0\.42$/);
    t.is(lib.formatBrokerFigures(withBroker[0]), "broker 48.2 MB/s in, produce p99 7 ms, CPU 0.42 cores, data disk 31 % used");
    t.is(lib.formatBrokerFigures({ side: "consumer", broker: { bytesOutMbPerSec: null } }), "broker - MB/s out, produce p99 - ms, CPU - cores, data disk - % used");
});
