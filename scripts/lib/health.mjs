// The lab's health from its metrics: Prometheus on the monitoring host, asked over SSH on that machine's
// loopback (no port of it need be open to this machine). What `npm run lab -- status`, the smoke test and
// the bench read.
import { ssh } from "./stack.mjs";

export const MONITORING_HOST = "consumer";
export const PROMETHEUS = "http://127.0.0.1:9090";
/** The consumer group whose lag the lab watches (the guide's), as in the alert rules. */
export const WATCHED_GROUP = "my-group";

/**
 * Answers to several Prometheus API requests in one SSH call: each path (e.g. "/api/v1/targets", or a
 * query's "/api/v1/query?query=...") with its JSON `data`. A request Prometheus refuses is an error naming it.
 */
export async function prometheusApi(outputs, key, paths) {
    const script = paths.map((p) => `curl -sS -m 10 '${PROMETHEUS}${p.replace(/'/g, "'\\''")}' || echo '{"status":"error","error":"curl failed"}'; echo`).join("\n");
    const r = await ssh(outputs, key, MONITORING_HOST, "bash -s", { input: script, timeout: "60s", nothrow: true });
    if (r.exitCode !== 0) throw new Error(`cannot reach Prometheus on ${MONITORING_HOST}: ${r.stderr.trim().split("\n")[0]}`);
    const answers = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    return answers.map((a, i) => {
        if (a.status !== "success") throw new Error(`Prometheus refused ${paths[i]}: ${a.error ?? JSON.stringify(a)}`);
        return a.data;
    });
}

/** Instant queries, by name: each a list of { labels, value }. */
export async function prometheusQueries(outputs, key, queries) {
    const names = Object.keys(queries);
    const data = await prometheusApi(outputs, key, names.map((n) => `/api/v1/query?query=${encodeURIComponent(queries[n])}`));
    return Object.fromEntries(names.map((n, i) => [n, data[i].result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }))]));
}

/** Every scrape target: job, host, health ("up", "down", "unknown") and its last error. */
export async function scrapeTargets(outputs, key) {
    const [data] = await prometheusApi(outputs, key, ["/api/v1/targets?state=active"]);
    return data.activeTargets.map((t) => ({ job: t.labels.job, host: t.labels.host, instance: t.labels.instance, health: t.health, error: t.lastError }));
}

export const HEALTH_QUERIES = {
    up: `up`,
    activeControllers: `kafka_controller_kafkacontroller_activecontrollercount == 1`,
    underReplicated: `sum(kafka_server_replicamanager_underreplicatedpartitions)`,
    underMinIsr: `sum(kafka_server_replicamanager_underminisrpartitioncount)`,
    offline: `sum(kafka_controller_kafkacontroller_offlinepartitionscount)`,
    messagesIn: `sum(rate(kafka_server_brokertopicmetrics_messagesin_total[1m]))`,
    bytesIn: `sum(rate(kafka_server_brokertopicmetrics_bytesin_total[1m]))`,
    bytesOut: `sum(rate(kafka_server_brokertopicmetrics_bytesout_total[1m]))`,
    disks: `kafka_lab:data_disk_used:ratio`,
    lag: `kafka_lab:group_lag:sum{group="${WATCHED_GROUP}"}`,
    alerts: `ALERTS{alertstate="firing"}`,
};

/**
 * The lab's health, from one round of queries: every exporter up, exactly one active controller, no
 * partition under-replicated, under min ISR or offline, and no alert firing. `problems` says what is wrong.
 */
export async function labHealth(outputs, key) {
    const q = await prometheusQueries(outputs, key, HEALTH_QUERIES);
    const sum = (rows) => (rows.length ? rows.reduce((s, r) => s + r.value, 0) : 0);
    const health = {
        targets: q.up.map((r) => ({ job: r.labels.job, host: r.labels.host, up: r.value === 1 })).sort((a, b) => `${a.host} ${a.job}`.localeCompare(`${b.host} ${b.job}`)),
        activeControllers: q.activeControllers.map((r) => r.labels.host),
        underReplicated: sum(q.underReplicated),
        underMinIsr: sum(q.underMinIsr),
        offline: sum(q.offline),
        messagesInPerSec: sum(q.messagesIn),
        bytesInPerSec: sum(q.bytesIn),
        bytesOutPerSec: sum(q.bytesOut),
        disks: q.disks.map((r) => ({ host: r.labels.host, used: r.value })).sort((a, b) => a.host.localeCompare(b.host)),
        lag: q.lag.length ? sum(q.lag) : null,
        firing: q.alerts.map((r) => ({ alert: r.labels.alertname, host: r.labels.host })),
    };
    const problems = [
        ...health.targets.filter((t) => !t.up).map((t) => `${t.job} on ${t.host} is down`),
        ...(health.activeControllers.length !== 1 ? [`${health.activeControllers.length} active controllers (exactly 1 expected)`] : []),
        ...(health.underReplicated > 0 ? [`${health.underReplicated} partitions under-replicated`] : []),
        ...(health.underMinIsr > 0 ? [`${health.underMinIsr} partitions under min ISR`] : []),
        ...(health.offline > 0 ? [`${health.offline} partitions offline`] : []),
        ...health.firing.map((a) => `alert ${a.alert} firing${a.host ? ` (${a.host})` : ""}`),
    ];
    return { ...health, healthy: problems.length === 0, problems };
}

/** A rate with its unit, e.g. "1.2 kB/s", "0.0 messages/s". */
const rate = (n, unit) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M${unit}` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k${unit}` : `${n.toFixed(1)} ${unit}`);

/** The health as lines for a terminal. */
export function formatHealth(h) {
    const byHost = new Map();
    for (const t of h.targets) byHost.set(t.host, [...(byHost.get(t.host) ?? []), `${t.job} ${t.up ? "up" : "DOWN"}`]);
    return [
        ...[...byHost].map(([host, jobs]) => `  ${String(host).padEnd(9)} ${jobs.join(", ")}`),
        `  active controller: ${h.activeControllers.join(", ") || "none"}`,
        `  partitions: ${h.underReplicated} under-replicated, ${h.underMinIsr} under min ISR, ${h.offline} offline`,
        `  rates (1 min): ${rate(h.messagesInPerSec, "messages/s")} in, ${rate(h.bytesInPerSec, "B/s")} in, ${rate(h.bytesOutPerSec, "B/s")} out`,
        `  data disks: ${h.disks.map((d) => `${d.host} ${(d.used * 100).toFixed(0)} %`).join(", ") || "no figure"}`,
        `  ${WATCHED_GROUP} lag: ${h.lag === null ? "no committed offsets yet" : `${h.lag} messages`}`,
        `  alerts firing: ${h.firing.map((a) => `${a.alert}${a.host ? ` (${a.host})` : ""}`).join(", ") || "none"}`,
        h.healthy ? "  healthy" : `  UNHEALTHY: ${h.problems.join("; ")}`,
    ];
}

/**
 * What the brokers saw during a window (ms since the epoch), from Prometheus: the highest rates over it
 * (each a rate over 20 s, sampled every 5 s), the brokers' own produce latency (99th percentile) and CPU,
 * and the fullest data disk at its end. Asked once the window is at least one scrape in the past.
 */
export async function brokerFigures(outputs, key, windows) {
    const queries = windows.flatMap(({ from, to }) => {
        const span = `${Math.max(20, Math.ceil((to - from) / 1000) + 10)}s`;
        const at = `&time=${((to + 10_000) / 1000).toFixed(3)}`;
        const peak = (expr) => `/api/v1/query?query=${encodeURIComponent(`max_over_time((${expr})[${span}:5s])`)}${at}`;
        return [
            peak("sum(rate(kafka_server_brokertopicmetrics_bytesin_total[20s]))"),
            peak("sum(rate(kafka_server_brokertopicmetrics_bytesout_total[20s]))"),
            peak('max(kafka_network_requestmetrics_totaltimems{request="Produce",statistic="99thPercentile"})'),
            peak('sum(rate(process_cpu_seconds_total{job="kafka"}[20s]))'),
            `/api/v1/query?query=${encodeURIComponent("max(kafka_lab:data_disk_used:ratio)")}${at}`,
        ];
    });
    const data = await prometheusApi(outputs, key, queries);
    const value = (d) => (d.result.length ? Number(d.result[0].value[1]) : null);
    return windows.map((_, i) => {
        const [bytesIn, bytesOut, p99, cpu, disk] = data.slice(i * 5, i * 5 + 5).map(value);
        return {
            bytesInMbPerSec: bytesIn === null ? null : bytesIn / 1e6,
            bytesOutMbPerSec: bytesOut === null ? null : bytesOut / 1e6,
            produceP99Ms: p99,
            cpuCores: cpu,
            dataDiskUsedPercent: disk === null ? null : disk * 100,
        };
    });
}
