// ZooKeeper to KRaft in place (README: "Day two"): a 3-broker cluster on 3.9 with mTLS inside through the
// migration's phases, one `pulumi up` each, under load; then the KRaft cluster on 3.9 it became. (The sasl_ssl
// ensemble's case migrates with plaintext inside.)
import { DEFAULT_KAFKA_VERSION } from "../../src/config";
import {
    labAccess,
    onMachine,
    record,
    run,
    stackUp,
} from "../helpers/lab";
import {
    e2e,
    runId,
    migrationState,
    activeUnits,
    labTools,
    znodeAcl,
    NODE_ZNODE_ACL,
} from "./context";
import { assertToolsStart } from "./tools";
import {
    clusterUp,
    clusterDown,
    serviceCommandLine,
    assertRolledOnce,
    withSetting,
    migrationPhase,
} from "./cluster-lab";

e2e(`ZooKeeper to KRaft in place, a 3-broker cluster with mTLS inside on Kafka ${DEFAULT_KAFKA_VERSION}: dual-write, then finalize, each under load (nothing lost, the group resumes, topic configs kept, the controllers on ZooKeeper over TLS as the nodes, ZooKeeper gone); the KRaft cluster on 3.9 with dedicated controllers runs every tool of the release`, async (t) => {
    t.timeout(60 * 60 * 1000);
    const dist = run("bash", ["scripts/local/kafka-dist.sh", DEFAULT_KAFKA_VERSION, "2.13"]);
    t.is(dist.status, 0, dist.stderr);
    const { cluster, seconds } = clusterUp(t, "e2e-zkmig", "10.72.0", { brokers: "3", kafkaVersion: DEFAULT_KAFKA_VERSION, controllerHeap: "256m", internalSecurity: "mtls" });
    try {
        t.is(cluster.lab.outputs.metadata, "zookeeper");
        t.is(cluster.lab.outputs.internalSecurity, "mtls");
        // The admin's certificate (broker1's tools' properties): every tool call below is over mTLS.
        const asAdmin = `--bootstrap-server ${cluster.lab.outputs.internalBootstrapServers} ${labTools(cluster.lab, "broker1")}`;
        const configured = `${runId}-configured`;
        onMachine(cluster.lab, "broker1", `/opt/kafka/bin/kafka-topics.sh ${asAdmin} --create --topic ${configured} --partitions 3 --replication-factor 3 --config retention.ms=123456789`, 90);
        const topicConfig = () => onMachine(cluster.lab, "broker1", `/opt/kafka/bin/kafka-configs.sh ${asAdmin} --describe --entity-type topics --entity-name ${configured}`, 90);
        t.regex(topicConfig(), /retention\.ms=123456789/);

        const dualWrite = await migrationPhase(t, cluster, "dual-write", (f) => withSetting(f, "kraftMigration", "dual-write"));
        for (const b of dualWrite.brokers) t.deepEqual(dualWrite.restarts[b], { zookeeper: 0, "kafka-controller": 1, kafka: 2 }, `dual-write: ${b}'s controller started once, its broker rolled twice (migration settings, then KRaft), its ZooKeeper kept`);
        t.is(migrationState(cluster.lab, "broker1"), "1", "the controllers report MIGRATION: the metadata copied, ZooKeeper still written");
        // The controllers write ZooKeeper over TLS as the nodes: what they made there is that identity's alone.
        const migrationAcl = znodeAcl(cluster.lab, "broker1", "/migration");
        t.deepEqual(migrationAcl.entries.filter((e) => e !== "world:anyone:r"), [NODE_ZNODE_ACL], `/migration: ${migrationAcl.shown}`);
        t.regex(onMachine(cluster.lab, "broker1", "grep -E '^(zookeeper.ssl.client.enable|listener.security.protocol.map)=' /etc/kafka/controller.properties"), /^listener\.security\.protocol\.map=CONTROLLER:SSL,INTERNAL:SSL\nzookeeper\.ssl\.client\.enable=true$/m);
        for (const b of ["broker1", "broker2", "broker3"]) {
            t.is(activeUnits(cluster.lab, b), "zookeeper=active\nkafka-controller=active\nkafka=active\n", b);
            t.regex(onMachine(cluster.lab, b, "grep -E '^(process.roles|node.id)=' /etc/kafka/server.properties"), /^process\.roles=broker\nnode\.id=\d$/m, `${b}: a KRaft broker`);
        }

        // With a controller setting changed at the same time: finalize rolls the controllers anyway, one at a time.
        const finalized = await migrationPhase(t, cluster, "finalize", (f) => withSetting(withSetting(f, "kraftMigration", "finalize"), "controllerHeap", "320m"));
        assertRolledOnce(t, "finalize: controllers", Object.fromEntries(finalized.brokers.map((b) => [b, finalized.starts(b, "kafka-controller")])), finalized.brokers, finalized.producing);
        for (const b of finalized.brokers) t.is(finalized.restarts[b].kafka, 0, `finalize: ${b}'s broker not restarted (it already ran as a KRaft broker)`);
        t.regex(serviceCommandLine(cluster, "broker2", "kafka-controller"), /-Xmx320m/, "the controllers run the new heap");
        t.is(migrationState(cluster.lab, "broker1"), "3", "the controllers report POST_MIGRATION");
        t.is(labAccess(cluster.stack).outputs.metadata, "kraft", "the stack's outputs say KRaft");
        t.is(labAccess(cluster.stack).outputs.controllers, "dedicated");
        t.regex(topicConfig(), /retention\.ms=123456789/, "the topic's config came through the migration");
        // A 3-broker KRaft cluster on 3.9 with dedicated controllers: each of broker1..3 runs its broker (a broker
        // only) and a controller of its own, with its own metadata log.
        for (const [i, b] of ["broker1", "broker2", "broker3"].entries()) {
            t.is(activeUnits(cluster.lab, b), "zookeeper=inactive\nkafka-controller=active\nkafka=active\n", `${b}: ZooKeeper gone`);
            t.regex(onMachine(cluster.lab, b, "grep -E '^(process.roles|node.id)=' /etc/kafka/controller.properties"), new RegExp(`^process\\.roles=controller\nnode\\.id=${3001 + i}$`, "m"));
            t.notRegex(onMachine(cluster.lab, b, "cat /etc/kafka/controller.properties /etc/kafka/server.properties"), /^zookeeper\./m, `${b}: nothing of ZooKeeper left in its settings`);
            t.is(onMachine(cluster.lab, b, "ls /etc/kafka/zookeeper*.properties 2>/dev/null || true").trim(), "", `${b}: ZooKeeper's and its tools' settings removed`);
            t.regex(onMachine(cluster.lab, b, "ls /var/lib/kafka/controller"), /meta\.properties/, `${b}: the controller's metadata log has its own dir`);
        }
        const quorum = onMachine(cluster.lab, "broker1", `/opt/kafka/bin/kafka-metadata-quorum.sh ${asAdmin} describe --status`, 90);
        t.regex(quorum, /LeaderId:\s*300[123]\s*$/m, "a dedicated controller leads the quorum");
        t.deepEqual([...(/CurrentVoters:\s*(.*)$/m.exec(quorum)?.[1] ?? "").matchAll(/\b(300[123])\b/g)].map((m) => m[1]).sort(), ["3001", "3002", "3003"], `the voters are the three controllers: ${quorum}`);
        const smoke = run("node", ["scripts/smoke.mjs", "--stack", cluster.stack]);
        t.is(smoke.status, 0, smoke.stdout + smoke.stderr);
        const tools = assertToolsStart(t, cluster.lab, "broker1");

        // (On to 4.x from a migrated cluster: the sasl_ssl ensemble's case does it, controllers first.)
        const again = stackUp(cluster.stack, "--expect-no-changes");
        t.is(again.status, 0, `a second up changes nothing: ${again.stdout.slice(-3000)}`);
        record("3-broker KRaft cluster on 3.9, dedicated controllers", { kafka: DEFAULT_KAFKA_VERSION, migratedFromZookeeper: true, upSeconds: Math.round(seconds), tools: tools.scripts, toolsStarted: tools.started, toolsLeftOut: tools.leftOut });
        t.log(`ZooKeeper to KRaft: up ${seconds.toFixed(1)}s; finalized; smoke test passed; ${tools.started} tools started`);
    } finally {
        const clean = clusterDown(cluster);
        t.is(clean.status, 0, `the stack leaves the host clean: ${clean.stderr}`);
    }
});
