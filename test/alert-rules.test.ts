// The lab's alert rules, as rendered, run by Prometheus' own rule tests (`promtool test rules`, from the
// Debian package the lab's machines run): each alert fires on the fault it names, after its `for:` time,
// and not on what merely looks like it.
import test from "ava";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { validateConfig } from "../src/config";
import { renderAlertRules } from "../src/render";
import { REPO } from "./helpers/lab";
import { tmpDir } from "./helpers/tmp";

const promtool = (() => {
    const r = spawnSync("bash", [path.join(REPO, "scripts", "setup-promtool.sh")], { encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0) throw new Error(`setup-promtool.sh failed: ${r.stderr}`);
    return r.stdout.trim().split("\n").at(-1)!;
})();

/** The rendered rules of a stack, with Prometheus' rule tests around them; promtool's verdict. */
function promtoolTest(config: ReturnType<typeof validateConfig>, tests: object[]) {
    const dir = tmpDir("kafka-lab-rules-");
    fs.writeFileSync(path.join(dir, "alerts.yml"), renderAlertRules(config));
    fs.writeFileSync(path.join(dir, "tests.yml"), stringify({ rule_files: ["alerts.yml"], evaluation_interval: "10s", tests }));
    const r = spawnSync(promtool, ["test", "rules", "tests.yml"], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    return { ok: r.status === 0, output: r.stdout + r.stderr };
}

const cluster = validateConfig({ target: "aws", adminCidrs: ["203.0.113.0/24"], brokers: "3", kafkaVersion: "4.4.0" }, { stack: "dev", awsRegion: "eu-west-1" });
const down = (host: string) => `Kafka broker ${host} is down`;

test("a broker whose exporter stops answering: KafkaBrokerDown fires after 30 s, for that broker alone, and clears when it is back", (t) => {
    const r = promtoolTest(cluster, [
        {
            interval: "10s",
            input_series: [
                { series: 'up{job="kafka",host="broker1",instance="broker1:9404"}', values: "1x20" },
                // Down from 30 s to 100 s, then back.
                { series: 'up{job="kafka",host="broker2",instance="broker2:9404"}', values: "1 1 1 0 0 0 0 0 0 0 0 1 1 1 1 1" },
            ],
            alert_rule_test: [
                { eval_time: "40s", alertname: "KafkaBrokerDown", exp_alerts: [] },
                {
                    eval_time: "70s",
                    alertname: "KafkaBrokerDown",
                    exp_alerts: [{ exp_labels: { severity: "critical", job: "kafka", host: "broker2", instance: "broker2:9404" }, exp_annotations: { summary: down("broker2") } }],
                },
                { eval_time: "120s", alertname: "KafkaBrokerDown", exp_alerts: [] },
            ],
        },
    ]);
    t.true(r.ok, r.output);
});

test("partitions under-replicated, under min ISR, offline: each fires on the cluster's sum after 30 s; 0 everywhere fires nothing", (t) => {
    const gauge = (name: string, values: string[]) => ["broker1", "broker2", "broker3"].map((h, i) => ({ series: `${name}{job="kafka",host="${h}"}`, values: values[i] }));
    const r = promtoolTest(cluster, [
        {
            interval: "10s",
            input_series: [
                ...gauge("kafka_server_replicamanager_underreplicatedpartitions", ["0x10", "0 0 4x8", "0 0 2x8"]),
                ...gauge("kafka_server_replicamanager_underminisrpartitioncount", ["0x10", "0x10", "0 0 1x8"]),
                ...gauge("kafka_controller_kafkacontroller_offlinepartitionscount", ["0x10", "0x10", "0x10"]),
                ...gauge("kafka_controller_kafkacontroller_activecontrollercount", ["1x10", "0x10", "0x10"]),
            ],
            alert_rule_test: [
                { eval_time: "30s", alertname: "KafkaUnderReplicatedPartitions", exp_alerts: [] },
                { eval_time: "60s", alertname: "KafkaUnderReplicatedPartitions", exp_alerts: [{ exp_labels: { severity: "warning" }, exp_annotations: { summary: "6 partitions under-replicated" } }] },
                {
                    eval_time: "60s",
                    alertname: "KafkaUnderMinIsrPartitions",
                    exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: { summary: "1 partitions under min ISR: acks=all writes to them fail" } }],
                },
                { eval_time: "60s", alertname: "KafkaOfflinePartitions", exp_alerts: [] },
                { eval_time: "60s", alertname: "KafkaActiveControllerCount", exp_alerts: [] },
            ],
        },
    ]);
    t.true(r.ok, r.output);
});

test("not exactly one active controller: two fire the alert, and so does none at all (no series)", (t) => {
    const r = promtoolTest(cluster, [
        {
            interval: "10s",
            input_series: [
                { series: 'kafka_controller_kafkacontroller_activecontrollercount{job="kafka",host="broker1"}', values: "1x10" },
                { series: 'kafka_controller_kafkacontroller_activecontrollercount{job="kafka",host="broker2"}', values: "1x10" },
            ],
            alert_rule_test: [
                { eval_time: "60s", alertname: "KafkaActiveControllerCount", exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: { summary: "2 active controllers (exactly 1 expected)" } }] },
            ],
        },
        {
            interval: "10s",
            input_series: [{ series: 'up{job="kafka",host="broker1"}', values: "0x10" }],
            alert_rule_test: [
                { eval_time: "60s", alertname: "KafkaActiveControllerCount", exp_alerts: [{ exp_labels: { severity: "critical" }, exp_annotations: { summary: "0 active controllers (exactly 1 expected)" } }] },
            ],
        },
    ]);
    t.true(r.ok, r.output);
});

test("a data disk over 80 %: the broker's data volume, or its root filesystem when it has none; never another machine's disk", (t) => {
    const fsSeries = (host: string, mountpoint: string, size: number, avail: number) => [
        { series: `node_filesystem_size_bytes{job="node",host="${host}",mountpoint="${mountpoint}",device="d"}`, values: `${size}x10` },
        { series: `node_filesystem_avail_bytes{job="node",host="${host}",mountpoint="${mountpoint}",device="d"}`, values: `${avail}x10` },
    ];
    const r = promtoolTest(cluster, [
        {
            interval: "10s",
            input_series: [
                ...fsSeries("broker1", "/var/lib/kafka", 100, 15), // its volume 85 % full
                ...fsSeries("broker1", "/", 100, 90),
                ...fsSeries("broker2", "/var/lib/kafka", 100, 50), // its volume half full, its root nearly full
                ...fsSeries("broker2", "/", 100, 5),
                ...fsSeries("broker3", "/", 100, 10), // no volume of its own: the root filesystem holds the data
                ...fsSeries("producer", "/", 100, 1), // not a broker
            ],
            alert_rule_test: [
                {
                    eval_time: "60s",
                    alertname: "KafkaDataDiskFull",
                    exp_alerts: [
                        { exp_labels: { severity: "warning", job: "node", host: "broker1", mountpoint: "/var/lib/kafka", device: "d" }, exp_annotations: { summary: "data disk of broker1 is 85% full" } },
                        { exp_labels: { severity: "warning", job: "node", host: "broker3", mountpoint: "/", device: "d" }, exp_annotations: { summary: "data disk of broker3 is 90% full" } },
                    ],
                },
            ],
        },
    ]);
    t.true(r.ok, r.output);
});

test("my-group more than 1000 messages behind for a minute fires the lag alert; another group's lag does not", (t) => {
    const lag = (group: string, partition: number, values: string) => ({ series: `kafka_consumergroup_lag{job="lag",host="consumer",group="${group}",topic="test",partition="${partition}"}`, values });
    const r = promtoolTest(cluster, [
        {
            interval: "10s",
            input_series: [lag("my-group", 0, "0 0 600x12"), lag("my-group", 1, "0 0 600x12"), lag("another-group", 0, "5000x14")],
            alert_rule_test: [
                { eval_time: "50s", alertname: "KafkaConsumerGroupLag", exp_alerts: [] },
                { eval_time: "90s", alertname: "KafkaConsumerGroupLag", exp_alerts: [{ exp_labels: { severity: "warning", group: "my-group" }, exp_annotations: { summary: "my-group is 1200 messages behind" } }] },
            ],
        },
    ]);
    t.true(r.ok, r.output);
});

test("a rule that does not fire as promtool is told it should is reported (the check can fail)", (t) => {
    const r = promtoolTest(cluster, [
        {
            interval: "10s",
            input_series: [{ series: 'up{job="kafka",host="broker1",instance="broker1:9404"}', values: "1x10" }],
            alert_rule_test: [{ eval_time: "60s", alertname: "KafkaBrokerDown", exp_alerts: [{ exp_labels: { severity: "critical", job: "kafka", host: "broker1", instance: "broker1:9404" } }] }],
        },
    ]);
    t.false(r.ok);
    t.regex(r.output, /FAILED/);
});
