// Clusters (README: "Cluster", "Faults", "Day two", "Inside the lab: mutual TLS"): three brokers, KRaft on
// Kafka 4.x and a ZooKeeper ensemble on 3.9 (prod's security: sasl_ssl outside, mTLS inside), each on a bridge
// of its own; machines killed, networks cut, machines frozen, settings rolled; the ensemble migrated to KRaft.
import { Admin } from "@platformatic/kafka";
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_KAFKA_VERSION, KAFKA_4_VERSION } from "../../src/config";
import {
    REPO,
    labAccess,
    onMachine,
    pulumiCli,
    record,
    run,
    sshArgs,
    stackUp,
    tally,
    waitFor,
} from "../helpers/lab";
import {
    externalClient,
    e2e,
    runId,
    faultCommand,
    assertNothingLost,
    tryExternal,
    migrationState,
    alertsFiring,
    labStatus,
    secondsUntil,
    stackSecrets,
    filesHolding,
    errorText,
    secretsShown,
    quickBench,
    labTools,
    aclsOf,
    tlsAttempt,
    withForgedNodeCertificate,
    zookeeperWatchScript,
    servedCertificate,
    znodeAcl,
    zookeeperShell,
    activeUnits,
    NODE_ZNODE_ACL,
} from "./context";
import { shellQuote } from "../../src/render";
import { internalSans } from "../../src/credentials";
import { certificatesOf } from "../helpers/pem";
import { assertToolsStart } from "./tools";
import {
    ClusterLab,
    clusterUp,
    clusterDown,
    underReplicated,
    activeController,
    killMachine,
    produceThrough,
    readAll,
    clusterTopic,
    rollUnderLoad,
    assertRollLostNothing,
    withKafkaVersion,
    assertRunsRelease,
    assertRolledOnce,
    withSetting,
    migrationPhase,
    serviceCommandLine,
    ZOOKEEPERS,
} from "./cluster-lab";

/** The ZooKeeper ensemble starts on the 3.9 release before the lab's default, and is upgraded to it under load. */
const KAFKA_3_PREVIOUS = "3.9.1";

/**
 * Every 0.2 s, from broker1, each ZooKeeper node's state over its TLS client port (zookeeperWatchScript; as root,
 * which the node's key is readable by).
 * stop() ends the watch and returns its lines ("ms node=state ...").
 */
function watchEnsemble(cluster: ClusterLab) {
    let out = "";
    const p = spawn("ssh", [...sshArgs(cluster.lab, cluster.lab.outputs.hosts.broker1.publicIp), `sudo -n timeout 1500 python3 -u -c ${shellQuote(zookeeperWatchScript(ZOOKEEPERS))}`]);
    p.stdout.on("data", (d) => (out += d));
    return {
        stop: () => {
            p.kill();
            return out;
        },
    };
}

/** What the ensemble watch saw: samples with a majority of nodes down, and the longest time without a leader. */
function ensembleSeen(watched: string) {
    const samples = watched
        .split("\n")
        .filter((l) => /^\d+ /.test(l))
        .map((l) => {
            const [ms, ...nodes] = l.trim().split(" ");
            return { ms: Number(ms), states: Object.fromEntries(nodes.map((n) => n.split("="))) as Record<string, string> };
        });
    const majorityDown = samples.filter((s) => Object.values(s.states).filter((v) => v === "down").length >= 2).length;
    let longestLeaderless = 0;
    let since = 0;
    for (const s of samples) {
        const leader = Object.values(s.states).includes("leader");
        if (!leader && !since) since = s.ms;
        if (leader && since) {
            longestLeaderless = Math.max(longestLeaderless, s.ms - since);
            since = 0;
        }
    }
    return { samples: samples.length, majorityDown, longestLeaderlessSeconds: longestLeaderless / 1000 };
}

/** A ZooKeeper-mode patch upgrade under load: each ZooKeeper node, then each broker, restarted once, in order; nothing lost; quorum kept. */
function assertZookeeperUpgrade(t: any, cluster: ClusterLab, r: Awaited<ReturnType<typeof rollUnderLoad>>) {
    t.is(r.up.status, 0, r.up.out.slice(-4000));
    const zookeeperStarts = Object.fromEntries(ZOOKEEPERS.map((z) => [z, r.starts(z, "zookeeper")]));
    const kafkaStarts = Object.fromEntries(r.brokers.map((b) => [b, r.starts(b, "kafka")]));
    const seen = ensembleSeen(r.watched);
    t.log(`upgrade ${KAFKA_3_PREVIOUS} -> ${DEFAULT_KAFKA_VERSION} (ZooKeeper mode, SASL_SSL, mTLS inside, certificates renewed in the same roll): acknowledged ${r.sent.acked.length}, failed sends ${r.sent.failed}, group read ${r.numbers.received} (${r.rest.length} after the roll), lost ${r.numbers.lost}; in the topic: lost ${r.stored.lost}; longest gap between acknowledgements ${r.sent.longestGapSeconds}s; ensemble: ${seen.samples} samples, majority down in ${seen.majorityDown}, longest without a leader ${seen.longestLeaderlessSeconds}s`);
    record(`ZooKeeper mode: upgrade ${KAFKA_3_PREVIOUS} -> ${DEFAULT_KAFKA_VERSION} under load`, { ...r.numbers, failedSends: r.sent.failed, lostFromTheTopic: r.stored.lost, longestAckGapSeconds: r.sent.longestGapSeconds, ensembleSamples: seen.samples, samplesWithMajorityDown: seen.majorityDown, longestSecondsWithoutLeader: seen.longestLeaderlessSeconds, deploySeconds: Math.round((r.producing.to - r.producing.from) / 1000) });
    assertRolledOnce(t, "zookeeper", zookeeperStarts, ZOOKEEPERS, r.producing);
    assertRolledOnce(t, "kafka", kafkaStarts, r.brokers, r.producing);
    t.true(Math.max(...ZOOKEEPERS.map((z) => zookeeperStarts[z][0])) < Math.min(...r.brokers.map((b) => kafkaStarts[b][0])), "ZooKeeper first, then the brokers");
    t.true(seen.samples > 50, "the ensemble was watched through the deploy");
    t.is(seen.majorityDown, 0, "never two ZooKeeper nodes down at once: the quorum kept its majority");
    assertRollLostNothing(t, r);
    assertRunsRelease(t, cluster, r.brokers, DEFAULT_KAFKA_VERSION);
    for (const b of r.brokers) {
        t.regex(onMachine(cluster.lab, b, "grep '^inter.broker.protocol.version=' /etc/kafka/server.properties"), /=3\.9$/m, "the protocol stays 3.9 (a patch upgrade)");
    }
}


let kraft: ClusterLab;
/** What the KRaft cluster's first `pulumi up` printed: no key may be in it. */
let kraftUpLog = "";

/** The KRaft cluster starts on the release before the newest, and is upgraded to the newest under load. */
const KAFKA_4_PREVIOUS = "4.3.1";

e2e("a 3-broker KRaft cluster on Kafka 4.x with mTLS inside: up, smoke test (RF 3, leaders spread, every listener; the example clients and tools by certificate), a second up changes nothing", (t) => {
    // On a fresh machine this file may be the one that builds the engine, the image and Kafka.
    t.timeout(45 * 60 * 1000);
    // It starts on the release before the newest: the upgrade case below takes it to the newest.
    const dist = run("bash", ["scripts/local/kafka-dist.sh", KAFKA_4_PREVIOUS, "2.13"]);
    t.is(dist.status, 0, dist.stderr);
    const { cluster, seconds, log } = clusterUp(t, "e2e-kraft", "10.76.0", { brokers: "3", kafkaVersion: KAFKA_4_PREVIOUS, internalSecurity: "mtls" });
    kraft = cluster;
    kraftUpLog = log;
    t.is(kraft.lab.outputs.metadata, "kraft");
    t.is(kraft.lab.outputs.internalSecurity, "mtls");
    t.is(kraft.lab.outputs.replicationFactor, 3);
    t.deepEqual(Object.keys(kraft.lab.outputs.hosts).sort(), ["broker1", "broker2", "broker3", "consumer", "producer"]);
    const smoke = run("node", ["scripts/smoke.mjs", "--stack", kraft.stack, "--report", path.join(REPO, "reports", "smoke-e2e-kraft.json")]);
    t.is(smoke.status, 0, smoke.stdout + smoke.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(REPO, "reports", "smoke-e2e-kraft.json"), "utf8"));
    t.true(report.partitions.every((p: any) => p.replicas.length === 3 && p.isr.length === 3));
    t.true(new Set(report.partitions.map((p: any) => p.leader)).size > 1, "leaders on more than one broker");
    const started = Date.now();
    const again = stackUp(kraft.stack, "--expect-no-changes");
    t.is(again.status, 0, again.stdout.slice(-3000));
    // Metrics: the smoke test saw every exporter scraped; status reads the cluster healthy from them.
    t.deepEqual(report.exporters, [...["broker1", "broker2", "broker3"].map((b) => `kafka ${b}`), "lag consumer", ...["broker1", "broker2", "broker3", "consumer", "producer"].map((h) => `node ${h}`)]);
    const status = labStatus(kraft.stack);
    t.is(status.status, 0, status.out);
    t.is(status.health.activeControllers.length, 1, "one active controller");
    t.deepEqual(status.health.disks.map((d: any) => d.host), ["broker1", "broker2", "broker3"]);
    record("3-broker KRaft cluster", { kafka: KAFKA_4_PREVIOUS, firstUpSeconds: Math.round(seconds), secondUpSeconds: Math.round((Date.now() - started) / 100) / 10 });
    t.log(`KRaft cluster: pulumi up ${seconds.toFixed(1)}s; smoke test passed; a second up changed nothing`);
});

e2e("KRaft cluster, mTLS inside: refused, each with what the client or server reports: no certificate on 9092 or 9093, another CA's certificate, the client user outside its ACLs, ANONYMOUS's admin request; keys only where held, in no file, log, state or command line in plain text; the bench over mTLS beside plaintext", async (t) => {
    t.timeout(10 * 60 * 1000);
    const o = kraft.lab.outputs;
    // The client's own certificate gets in (the control); none, or one of another CA with the nodes' very subject, does not.
    t.is(tlsAttempt(kraft.lab, "producer", "broker1", 9092, "/etc/kafka/tls/client.pem"), "accepted", "the client's certificate on the internal listener");
    t.is(tlsAttempt(kraft.lab, "broker2", "broker1", 9093, "/etc/kafka/tls/node.pem"), "accepted", "a node's certificate on the controller listener");
    const noCertificate = tlsAttempt(kraft.lab, "producer", "broker2", 9092);
    t.regex(noCertificate, /^refused: .*CERTIFICATE_REQUIRED/, "no certificate on the internal listener");
    t.regex(tlsAttempt(kraft.lab, "broker2", "broker1", 9093), /^refused: .*CERTIFICATE_REQUIRED/, "no certificate on the controller listener");
    const [forgedInternal, forgedController] = withForgedNodeCertificate(kraft.lab, ["producer", "broker2"], "DNS:producer", (forged) => [
        tlsAttempt(kraft.lab, "producer", "broker1", 9092, forged),
        tlsAttempt(kraft.lab, "broker2", "broker3", 9093, forged),
    ]);
    t.regex(forgedInternal, /^refused: .*(CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE)/, "a certificate of another CA, with the nodes' subject, on the internal listener");
    t.regex(forgedController, /^refused: .*(CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE)/, "and on the controller listener");
    // The broker's side says why: a failed authentication in its log.
    t.regex(onMachine(kraft.lab, "broker1", "grep -h 'Failed authentication' /var/log/kafka/server.log* | tail -n 3 || true"), /Failed authentication with \/[\d.]+ \(channelId=.*\) \(SSL handshake failed\)/);

    // The example client (kafka-lab-client, by its certificate) where its ACLs do not reach: a topic the admin made.
    const privateTopic = `private-${runId}`;
    onMachine(kraft.lab, "broker1", `/opt/kafka/bin/kafka-topics.sh --bootstrap-server broker1:9092 ${labTools(kraft.lab, "broker1")} --create --topic ${privateTopic} --partitions 1 --replication-factor 3`, 90);
    const denied = run("ssh", [...sshArgs(kraft.lab, o.hosts.producer.publicIp), `timeout 90 python3 /opt/kafka-lab/clients/producer.py --topic ${privateTopic} --count 1 --format plain --timeout 20`]);
    t.not(denied.status, 0, "the example producer fails");
    t.regex(denied.stdout + denied.stderr, /TopicAuthorizationFailed/, "refused by the broker's ACLs, as kafka-python reports it");
    // ...and where they do: the lab's topic, as the SSH user (in the group kafka-lab-client), not root.
    const allowed = run("ssh", [...sshArgs(kraft.lab, o.hosts.producer.publicIp), "timeout 90 python3 /opt/kafka-lab/clients/producer.py --count 2 --format plain"]);
    t.is(allowed.status, 0, allowed.stderr);
    // ANONYMOUS, the external listener's clients (plaintext here), has the client's ACLs and no more: an admin request is refused.
    const anonymous = new Admin({ clientId: "kafka-lab-e2e-anonymous", bootstrapBrokers: o.bootstrapServers.split(","), connectTimeout: 10000, retries: 2 });
    let anonymousError = "";
    try {
        await anonymous.createTopics({ topics: [`anonymous-${runId}`], partitions: 1, replicas: 3 });
    } catch (e: any) {
        anonymousError = errorText(e);
    } finally {
        await anonymous.close();
    }
    t.regex(anonymousError, /TOPIC_AUTHORIZATION_FAILED/, "ANONYMOUS may not create a topic");
    t.false(onMachine(kraft.lab, "broker1", `/opt/kafka/bin/kafka-topics.sh --bootstrap-server broker1:9092 ${labTools(kraft.lab, "broker1")} --list`, 90).includes(`anonymous-${runId}`));
    const acls = onMachine(kraft.lab, "broker1", `/opt/kafka/bin/kafka-acls.sh --bootstrap-server broker1:9092 ${labTools(kraft.lab, "broker1")} --list`, 90);
    const granted = (principal: string) => aclsOf(acls, principal).sort();
    t.true(granted("User:kafka-lab-admin").includes("ALL on CLUSTER kafka-cluster (LITERAL)"), acls);
    t.true(granted("User:kafka-lab-admin").includes("ALL on TOPIC * (LITERAL)"), acls);
    t.deepEqual(granted("User:ANONYMOUS"), granted("User:kafka-lab-client"), "ANONYMOUS (the plaintext external listener) has the client's ACLs, no more");
    t.false(granted("User:kafka-lab-client").some((g) => / on CLUSTER |^(ALL|ALTER|ALTER_CONFIGS) /.test(g)), "and the client none on the cluster, none to alter");
    for (const b of ["broker1", "broker2", "broker3"]) {
        t.regex(onMachine(kraft.lab, b, "grep -E '^super\\.users=' /etc/kafka/server.properties"), /^super\.users=User:kafka-lab-node\n$/, `${b}: the nodes alone are super users`);
    }

    // Each key where its identity lives, readable by its own user only; nowhere else.
    const stat = (host: string, file: string) => onMachine(kraft.lab, host, `stat -c '%a %U:%G' ${file} 2>/dev/null || echo none`).trim();
    t.is(stat("broker1", "/etc/kafka/tls/admin.pem"), "600 root:root", "the admin's key on the first broker, root's alone");
    for (const b of ["broker1", "broker2", "broker3"]) t.is(stat(b, "/etc/kafka/tls/node.pem"), "600 kafka:kafka", b);
    for (const host of ["broker2", "broker3", "producer", "consumer"]) t.is(stat(host, "/etc/kafka/tls/admin.pem"), "none", `no admin key on ${host}`);
    for (const host of ["producer", "consumer"]) {
        t.is(stat(host, "/etc/kafka/tls/client.pem"), "640 root:kafka-lab-client", host);
        t.is(stat(host, "/etc/kafka/tls/node.pem"), "none", `no node key on ${host}`);
    }
    const secrets = stackSecrets(kraft.stack);
    t.true(secrets.length >= 5 * 20, "the private keys' bodies (CA, three nodes, client, admin), from the state");
    t.is(filesHolding(secrets, path.join(REPO, ".pulumi-state"), path.join(REPO, ".pulumi-home")), "", "no file of the backend or the Pulumi home holds a key in plain text");
    t.deepEqual(secrets.filter((x) => kraftUpLog.includes(x)), [], "pulumi up's output shows no key");
    const exported = pulumiCli("stack", "export", "-s", kraft.stack).stdout;
    t.false(exported.includes("PRIVATE KEY"), "the state holds no private key in plain text");
    for (const host of ["broker1", "broker2", "producer", "consumer"]) {
        const shown = secretsShown(kraft.lab, host, secrets);
        t.is(shown.commandLines, "", `${host}: no key on a running command line`);
        t.is(shown.files, "", `${host}: no world-readable file holds a key`);
    }

    // The cost, measured in one run: the bench's runs over the internal listener (mTLS, the client's
    // certificate) and 1 KiB acks=all again over the external one (plaintext here), same machines, same minute.
    const { bench, runs: benchRuns, byName } = quickBench(kraft.stack, "bench-e2e-mtls");
    t.is(bench.status, 0, bench.stdout.slice(-3000) + bench.stderr.slice(-2000));
    const overMtls = byName("produce 1 KiB acks=all");
    const overPlaintext = byName("produce 1 KiB acks=all PLAINTEXT external");
    t.is(overMtls.listener, "SSL (mTLS)");
    t.is(overPlaintext.listener, "PLAINTEXT");
    t.true(benchRuns.filter((r: any) => r.listener === "SSL (mTLS)").every((r: any) => r.records > 0), "every internal run produced or consumed over mTLS");
    t.true(byName("consume 1 KiB acks=all PLAINTEXT external").records > 0);
    t.regex(bench.stdout, /1 KiB acks=all: PLAINTEXT \(external\) [\d.]+ MB\/s against SSL \(mTLS\) \(internal\) [\d.]+ MB\/s/);
    const cost = { mtlsMbPerSec: overMtls.mbPerSec, plaintextMbPerSec: overPlaintext.mbPerSec, mtlsP99Ms: overMtls.latencyP99Ms, plaintextP99Ms: overPlaintext.latencyP99Ms };
    t.log(`bench (quick), produce 1 KiB acks=all: ${cost.mtlsMbPerSec.toFixed(1)} MB/s over mTLS (internal), ${cost.plaintextMbPerSec.toFixed(1)} MB/s plaintext (external)`);
    record("KRaft mTLS: refused", { noCertificate, forgedInternal, forgedController, anonymousAdmin: anonymousError.slice(0, 200), benchQuick: cost });
    t.log(`refused: no certificate (${noCertificate}); another CA (${forgedInternal}); ANONYMOUS admin (${anonymousError.slice(0, 120)})`);
});

e2e("KRaft cluster: a broker's machine killed under load loses nothing acknowledged; back, its replicas rejoin", async (t) => {
    t.timeout(15 * 60 * 1000);
    const topic = `fault-${runId}-kill`;
    clusterTopic(kraft, topic);
    const victim = activeController(kraft) === 3 ? "broker2" : "broker3";
    let bootAgain: () => void = () => {};
    let sent: Awaited<ReturnType<typeof produceThrough>>;
    let numbers: ReturnType<typeof tally>;
    let killedAt = 0;
    let seen: ReturnType<typeof labStatus> | undefined;
    let firing: string[] = [];
    try {
        sent = await produceThrough(kraft, topic, 25, 5000, () => ((killedAt = Date.now()), (bootAgain = killMachine(kraft, victim))));
        const read = readAll(kraft, topic, victim, sent.acked);
        numbers = tally(sent.acked, read.filter((m) => sent.acked.includes(m.key)));
        // The metrics see it: status names the broker down and the under-replicated partitions, and exits 1;
        // Prometheus fires the alerts.
        waitFor(`lab status reports ${victim} down and partitions under-replicated`, 240, () => {
            seen = labStatus(kraft.stack);
            return seen.status === 1 && seen.health.targets.some((x: any) => x.host === victim && x.job === "kafka" && !x.up) && seen.health.underReplicated > 0;
        });
        waitFor("KafkaBrokerDown and KafkaUnderReplicatedPartitions firing", 240, () => {
            firing = alertsFiring(kraft.lab);
            return firing.includes(`KafkaBrokerDown ${victim}`) && firing.includes("KafkaUnderReplicatedPartitions");
        });
    } finally {
        bootAgain();
    }
    const alertSeconds = Math.round((Date.now() - killedAt) / 1000);
    const started = Date.now();
    waitFor("no partition under-replicated", 300, () => underReplicated(kraft) === "0");
    const rejoinSeconds = (Date.now() - started) / 1000;
    const clearedSeconds = secondsUntil("every alert cleared and lab status healthy", 240, () => alertsFiring(kraft.lab).length === 0 && labStatus(kraft.stack).status === 0);
    t.regex(seen!.out, new RegExp(`kafka on ${victim} is down`));
    t.regex(seen!.out, /\d+ partitions under-replicated/);
    t.true(firing.includes(`MachineDown ${victim}`), `the machine itself is reported: ${firing.join(", ")}`);
    record("KRaft: a broker's machine killed, seen in the metrics", { firing, secondsFromKillToAlertsFiring: alertSeconds, secondsFromInSyncToAlertsCleared: clearedSeconds });
    t.log(`metrics: ${firing.join(", ")} firing ${alertSeconds}s after the kill; cleared ${clearedSeconds}s after the replicas were back in sync`);
    t.log(`${victim} killed: acknowledged ${sent.acked.length}, failed sends ${sent.failed}, read ${numbers.received}, lost ${numbers.lost}, duplicated ${numbers.duplicated}; first ack ${sent.secondsToFirstAckAfterFault}s after the kill; back in sync ${rejoinSeconds.toFixed(1)}s after boot`);
    if (sent.errors.length) t.log(`errors: ${sent.errors.slice(0, 5).join(" | ")}`);
    record("KRaft: broker killed under load", { ...numbers, failedSends: sent.failed, secondsToFirstAckAfterKill: sent.secondsToFirstAckAfterFault, secondsUntilNoUnderReplicated: Math.round(rejoinSeconds) });
    t.true(sent.acked.length > 100);
    t.is(numbers.lost, 0);
    t.is(numbers.duplicated, 0);
    t.true(sent.secondsToFirstAckAfterFault >= 0, "producing went on after the kill");
});

e2e("KRaft cluster: the active controller's machine killed under load: a new one leads, nothing lost", async (t) => {
    t.timeout(15 * 60 * 1000);
    const topic = `fault-${runId}-controller`;
    clusterTopic(kraft, topic);
    const leader = activeController(kraft);
    const victim = `broker${leader}`;
    const asking = leader === 1 ? "broker2" : "broker1";
    let bootAgain: () => void = () => {};
    let sent: Awaited<ReturnType<typeof produceThrough>>;
    let numbers: ReturnType<typeof tally>;
    let newLeader: number;
    try {
        sent = await produceThrough(kraft, topic, 25, 5000, () => (bootAgain = killMachine(kraft, victim)));
        newLeader = activeController(kraft, asking);
        const read = readAll(kraft, topic, victim, sent.acked);
        numbers = tally(sent.acked, read.filter((m) => sent.acked.includes(m.key)));
    } finally {
        bootAgain();
    }
    waitFor("no partition under-replicated", 300, () => underReplicated(kraft) === "0");
    t.log(`active controller ${leader} killed: new leader ${newLeader}; acknowledged ${sent.acked.length}, lost ${numbers.lost}, duplicated ${numbers.duplicated}; first ack ${sent.secondsToFirstAckAfterFault}s after the kill`);
    t.log(`failed sends ${sent.failed}${sent.errors.length ? `; errors: ${sent.errors.slice(0, 5).join(" | ")}` : ""}`);
    record("KRaft: active controller killed under load", { ...numbers, failedSends: sent.failed, oldLeader: leader, newLeader, secondsToFirstAckAfterKill: sent.secondsToFirstAckAfterFault });
    t.not(newLeader, leader);
    t.true(sent.acked.length > 100);
    t.is(numbers.lost, 0);
    t.is(numbers.duplicated, 0);
    t.true(sent.secondsToFirstAckAfterFault >= 0, "producing went on after the kill");
});

// ---- The faults a network makes, through the fault command: the producer (idempotent, acks=all unless
// said otherwise) and a consumer group run from this host; every case ends healed and in sync.

/** A broker of the cluster that is not the active controller (a partition leader's fault without the controller's). */
const notController = (cluster: ClusterLab) => {
    const controller = activeController(cluster);
    return ["broker1", "broker2", "broker3"].find((b) => b !== `broker${controller}`)!;
};

e2e("KRaft cluster: the producer's partition leader cut off from the other brokers and controllers (a zombie leader), acks=all: nothing acknowledged lost", (t) => {
    t.timeout(15 * 60 * 1000);
    const victim = notController(kraft);
    const f = faultCommand(kraft.stack, "partition", victim, "--seconds", "25");
    assertNothingLost(t, `KRaft: partition leader ${victim} partitioned 25 s, acks=all`, f, { leaderHit: true });
    waitFor("no partition under-replicated", 300, () => underReplicated(kraft) === "0");
});

e2e("KRaft cluster: the same partition with acks=1: what a leader acknowledged alone and lost (measured, reported)", (t) => {
    t.timeout(15 * 60 * 1000);
    const victim = notController(kraft);
    const f = faultCommand(kraft.stack, "partition", victim, "--seconds", "25", "--acks", "1");
    t.is(f.status, 0, f.out.slice(-3000));
    const r = f.report;
    t.log(`acks=1, leader ${victim} partitioned 25 s: acknowledged ${r.acknowledged}, lost ${r.lost}, duplicated ${r.duplicated}; first ack ${r.secondsToFirstAckAfterFault}s into the fault, ${r.secondsToFirstAckAfterHeal}s after healing`);
    record("KRaft: partition leader partitioned 25 s, acks=1", { acks: r.acks, seconds: r.seconds, acknowledged: r.acknowledged, lost: r.lost, duplicated: r.duplicated, secondsToFirstAckAfterFault: r.secondsToFirstAckAfterFault, secondsToFirstAckAfterHeal: r.secondsToFirstAckAfterHeal });
    t.true(r.acknowledged > 100);
    t.true(r.verified.length > 0, `the partition was verified: ${r.verified}`);
    t.true(r.read > 0, "the topic was read back");
    t.is(r.lostKeys.length, Math.min(r.lost, 20), "the report names the lost keys");
    if (r.lost) t.regex(f.out, new RegExp(`acks=1: ${r.lost} acknowledged messages lost`), "the command says so");
    else t.notRegex(f.out, /acknowledged messages lost/);
    waitFor("no partition under-replicated", 300, () => underReplicated(kraft) === "0");
});

e2e("KRaft cluster: a broker isolated (all its traffic dropped, its process running), acks=all: nothing acknowledged lost", (t) => {
    t.timeout(15 * 60 * 1000);
    const victim = notController(kraft);
    const pid = onMachine(kraft.lab, victim, "systemctl show -p MainPID --value kafka").trim();
    const f = faultCommand(kraft.stack, "isolate", victim, "--seconds", "25");
    assertNothingLost(t, `KRaft: partition leader ${victim} isolated 25 s, acks=all`, f, { leaderHit: true });
    t.is(onMachine(kraft.lab, victim, "systemctl show -p MainPID --value kafka").trim(), pid, "the same Kafka process ran through it");
    waitFor("no partition under-replicated", 300, () => underReplicated(kraft) === "0");
});

e2e("KRaft cluster: the active controller's machine frozen past its timeouts, then a partition leader's: a new controller leads, nothing acknowledged lost", (t) => {
    t.timeout(20 * 60 * 1000);
    const controller = activeController(kraft);
    const frozen = `broker${controller}`;
    const leader = ["broker1", "broker2", "broker3"].find((b) => b !== frozen)!;
    const f = faultCommand(kraft.stack, "pause", frozen, "--seconds", "20", "--leader", leader);
    assertNothingLost(t, `KRaft: active controller ${frozen} frozen 20 s, acks=all`, f);
    const after = activeController(kraft, leader);
    t.log(`active controller was ${controller}; after the pause: ${after}`);
    t.not(after, 0);
    waitFor("no partition under-replicated", 300, () => underReplicated(kraft) === "0");
    const victim = notController(kraft);
    const g = faultCommand(kraft.stack, "pause", victim, "--seconds", "20");
    assertNothingLost(t, `KRaft: partition leader ${victim} frozen 20 s, acks=all`, g, { leaderHit: true });
    waitFor("no partition under-replicated", 300, () => underReplicated(kraft) === "0");
});

e2e(`KRaft cluster: Kafka ${KAFKA_4_PREVIOUS} -> ${KAFKA_4_VERSION} rolls one node at a time, controllers first, then raises metadata.version; the producer sees no failure, the group loses nothing; going back is refused`, async (t) => {
    t.timeout(25 * 60 * 1000);
    const dist = run("bash", ["scripts/local/kafka-dist.sh", KAFKA_4_VERSION, "2.13"]);
    t.is(dist.status, 0, dist.stderr);
    const features = () => onMachine(kraft.lab, "broker1", `/opt/kafka/bin/kafka-features.sh --bootstrap-server ${kraft.lab.outputs.internalBootstrapServers} ${labTools(kraft.lab, "broker1")} describe`, 90);
    const metadataVersion = (text: string) => /Feature: metadata\.version\s.*FinalizedVersionLevel: (\S+)/.exec(text)![1];
    const before = metadataVersion(features());
    t.regex(before, new RegExp(`^${KAFKA_4_PREVIOUS.replace(/\.\d+$/, "").replace(".", "\\.")}-IV`));
    const voters = onMachine(kraft.lab, "broker1", "grep '^controller.quorum.voters=' /etc/kafka/server.properties").trim();
    const r = await rollUnderLoad(kraft, `fault-${runId}-upgrade`, (file) => withKafkaVersion(file, KAFKA_4_VERSION));
    t.is(r.up.status, 0, r.up.out.slice(-4000));
    const starts = Object.fromEntries(r.brokers.map((b) => [b, r.starts(b, "kafka")]));
    const after = metadataVersion(features());
    t.log(`upgrade ${KAFKA_4_PREVIOUS} -> ${KAFKA_4_VERSION}: acknowledged ${r.sent.acked.length}, failed sends ${r.sent.failed}, group read ${r.numbers.received} (${r.rest.length} after the roll), lost ${r.numbers.lost}; in the topic: lost ${r.stored.lost}; metadata.version ${before} -> ${after}; longest gap between acknowledgements ${r.sent.longestGapSeconds}s`);
    record(`KRaft: upgrade ${KAFKA_4_PREVIOUS} -> ${KAFKA_4_VERSION} under load`, { ...r.numbers, failedSends: r.sent.failed, lostFromTheTopic: r.stored.lost, metadataVersionBefore: before, metadataVersionAfter: after, longestAckGapSeconds: r.sent.longestGapSeconds, deploySeconds: Math.round((r.producing.to - r.producing.from) / 1000) });
    // broker1..3 are the controllers: the chain restarts them first, one at a time.
    assertRolledOnce(t, "kafka", starts, r.brokers, r.producing);
    assertRollLostNothing(t, r);
    t.regex(after, new RegExp(`^${KAFKA_4_VERSION.replace(/\.\d+$/, "").replace(".", "\\.")}-IV`), "metadata.version raised to the new release");
    assertRunsRelease(t, kraft, r.brokers, KAFKA_4_VERSION);
    t.is(onMachine(kraft.lab, "broker1", "grep '^controller.quorum.voters=' /etc/kafka/server.properties").trim(), voters, "the static quorum keeps controller.quorum.voters");
    const again = stackUp(kraft.stack, "--expect-no-changes");
    t.is(again.status, 0, `a second up changes nothing: ${again.stdout.slice(-3000)}`);
    // Back to the older release is refused before anything changes.
    const upgraded = fs.readFileSync(kraft.file, "utf8");
    fs.writeFileSync(kraft.file, withKafkaVersion(upgraded, KAFKA_4_PREVIOUS));
    const back = stackUp(kraft.stack);
    fs.writeFileSync(kraft.file, upgraded);
    t.not(back.status, 0);
    t.regex(back.stdout + back.stderr, new RegExp(`kafkaVersion ${KAFKA_4_PREVIOUS.replace(/\./g, "\\.")} is older than the running ${KAFKA_4_VERSION.replace(/\./g, "\\.")}.*metadata\\.version`, "s"));
});

e2e("KRaft cluster: brokers 3 -> 4 adds a broker-only node that joins; the others keep running; 4 -> 3 is refused", (t) => {
    t.timeout(20 * 60 * 1000);
    const pids = Object.fromEntries(["broker1", "broker2", "broker3"].map((b) => [b, onMachine(kraft.lab, b, "systemctl show -p MainPID --value kafka").trim()]));
    const original = fs.readFileSync(kraft.file, "utf8");
    // Pulumi rewrites the stack file and may quote the number.
    const withBrokers = (n: number) => original.replace(/kafka-lab:brokers: "?\d+"?/, `kafka-lab:brokers: ${n}`);
    t.not(withBrokers(4), original);
    fs.writeFileSync(kraft.file, withBrokers(4));
    const up = stackUp(kraft.stack);
    t.is(up.status, 0, up.stdout.slice(-4000));
    kraft.lab = labAccess(kraft.stack);
    t.deepEqual(Object.keys(kraft.lab.outputs.hosts).sort(), ["broker1", "broker2", "broker3", "broker4", "consumer", "producer"]);
    const restarted = ["broker1", "broker2", "broker3"].filter((b) => onMachine(kraft.lab, b, "systemctl show -p MainPID --value kafka").trim() !== pids[b]);
    record("KRaft: a broker added", { restarted });
    for (const b of restarted) t.log(`${b}'s Kafka was restarted:\n${onMachine(kraft.lab, b, "journalctl -u kafka --no-pager -n 15 -o short-precise; dmesg 2>/dev/null | tail -n 5 || true", 60)}`);
    t.deepEqual(restarted, [], "broker1..3 kept running");
    t.regex(onMachine(kraft.lab, "broker4", "grep '^process.roles=' /etc/kafka/server.properties"), /^process\.roles=broker$/m, "a broker-only node");
    t.is(onMachine(kraft.lab, "producer", `/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server ${kraft.lab.outputs.internalBootstrapServers} ${labTools(kraft.lab, "producer")} | grep -c '(id: '`).trim(), "4");
    // Removing it again is refused before anything is made.
    const down = stackUp(kraft.stack);
    t.is(down.status, 0, "no change with the same config");
    fs.writeFileSync(kraft.file, withBrokers(3));
    const refused = stackUp(kraft.stack);
    t.not(refused.status, 0);
    t.regex(refused.stdout + refused.stderr, /kafka-lab:brokers 3 would remove brokers from the running 4-broker cluster/);
    fs.writeFileSync(kraft.file, withBrokers(4));
    t.log(`broker4 added and registered; restarted on the way: ${restarted.join(", ") || "none"}; going back to 3 refused`);
});

e2e("the KRaft cluster is destroyed and leaves the host clean", (t) => {
    t.timeout(10 * 60 * 1000);
    const clean = clusterDown(kraft);
    t.is(clean.status, 0, clean.stderr);
});

e2e(`a 3-broker ZooKeeper ensemble on Kafka ${KAFKA_3_PREVIOUS} with sasl_ssl and mTLS inside (prod's defaults): up, smoke test; ZooKeeper refuses a client without TLS, without a certificate or with another CA's, on its client and quorum ports; Kafka's znodes are the nodes' identity's alone; a partition leader cut off and the ZooKeeper leader killed under load lose nothing; upgraded to ${DEFAULT_KAFKA_VERSION} under load with every certificate renewed in the same roll, one ZooKeeper node and one broker at a time, the quorum kept; then ZooKeeper to KRaft in place under load (dual-write, finalize: the controllers on ZooKeeper over TLS as the nodes; SCRAM users, ACLs and topic configs kept; ZooKeeper gone), every tool of the release on the KRaft cluster it became (on to 4.x: the one-broker lab's migration case)`, async (t) => {
    t.timeout(75 * 60 * 1000);
    const dist = run("bash", ["scripts/local/kafka-dist.sh", KAFKA_3_PREVIOUS, "2.13"]);
    t.is(dist.status, 0, dist.stderr);
    const { cluster, seconds } = clusterUp(t, "e2e-zk3", "10.75.0", { brokers: "3", externalSecurity: "sasl_ssl", internalSecurity: "mtls", kafkaVersion: KAFKA_3_PREVIOUS, controllerHeap: "256m" });
    try {
        const o = cluster.lab.outputs;
        t.is(o.metadata, "zookeeper");
        t.is(o.externalSecurity, "sasl_ssl");
        t.is(o.internalSecurity, "mtls");
        const smoke = run("node", ["scripts/smoke.mjs", "--stack", cluster.stack]);
        t.is(smoke.status, 0, smoke.stdout + smoke.stderr);
        t.regex(smoke.stdout, /external consumer, fresh group, from earliest \(SASL_SSL as kafka-lab-client, CA and hostname checked\)/);
        t.regex(onMachine(cluster.lab, "broker2", "grep ^authorizer.class.name= /etc/kafka/server.properties"), /kafka\.security\.authorizer\.AclAuthorizer/);

        // ZooKeeper's client port speaks TLS alone: a plaintext four-letter word gets no answer, a TLS one with the
        // node's certificate does; none, or another CA's with the nodes' subject, is refused.
        const plaintext = onMachine(cluster.lab, "broker2", "(exec 3<>/dev/tcp/broker1/2181 && printf ruok >&3 && timeout 5 cat <&3) 2>&1; echo \" exit=$?\"");
        t.false(plaintext.includes("imok"), `plaintext: ${plaintext}`);
        t.is(tlsAttempt(cluster.lab, "broker2", "broker1", 2181, "/etc/kafka/tls/node.pem", "ruok"), "accepted: imok");
        // ZooKeeper negotiates TLS 1.2 (its default): a missing certificate ends the handshake with handshake_failure.
        t.regex(tlsAttempt(cluster.lab, "broker2", "broker1", 2181, "", "ruok"), /^refused: .*HANDSHAKE_FAILURE/, "no certificate");
        // Each node's mode, asked on its own TLS client port.
        const mode = (b: string) => /Mode: (\w+)/.exec(tlsAttempt(cluster.lab, b, b, 2181, "/etc/kafka/tls/node.pem", "srvr"))?.[1] ?? "none";
        // The quorum runs over TLS (sslQuorum): the followers follow, so they passed the leader's handshake, and the
        // leader's quorum port (2888) and every election port (3888) take a node's certificate and nothing else.
        const modes = Object.fromEntries(ZOOKEEPERS.map((b) => [b, mode(b)]));
        t.deepEqual(Object.values(modes).sort(), ["follower", "follower", "leader"], `the ensemble's modes over TLS: ${JSON.stringify(modes)}`);
        const leader = ZOOKEEPERS.find((b) => modes[b] === "leader")!;
        const asker = leader === "broker2" ? "broker3" : "broker2";
        withForgedNodeCertificate(cluster.lab, [asker], internalSans(asker, o.hosts[asker]), (forged) => {
            t.regex(tlsAttempt(cluster.lab, asker, "broker1", 2181, forged, "ruok"), /^refused: .*(CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE)/, "another CA's certificate on the client port");
            t.is(tlsAttempt(cluster.lab, asker, "broker1", 3888, "/etc/kafka/tls/node.pem"), "accepted", "a node's certificate on the election port");
            for (const [host, port] of [[leader, 2888], ["broker1", 3888]] as const) {
                t.regex(tlsAttempt(cluster.lab, asker, host, port), /^refused: .*HANDSHAKE_FAILURE/, `no certificate on ${host}:${port}`);
                t.regex(tlsAttempt(cluster.lab, asker, host, port, forged), /^refused: .*(CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE)/, `another CA's on ${host}:${port}`);
            }
        });
        // The znodes Kafka wrote, the SCRAM credentials among them: every change is the nodes' identity's (x509, the
        // certificate's subject); at most, the world reads.
        for (const znode of ["/brokers/ids/1", "/brokers/topics/test", "/config/topics/test", "/config/users/kafka-lab-client", "/controller"]) {
            const acl = znodeAcl(cluster.lab, "broker1", znode);
            t.deepEqual(acl.entries.filter((e) => e !== "world:anyone:r"), [NODE_ZNODE_ACL], `${znode}: the nodes' alone to change: ${acl.shown}`);
        }
        t.true(zookeeperShell(cluster.lab, "broker1", "ls /brokers/ids").includes("[1, 2, 3]"), "every broker registered over TLS");
        const again = stackUp(cluster.stack, "--expect-no-changes");
        t.is(again.status, 0, `a second up changes nothing: ${again.stdout.slice(-3000)}`);
        t.log(`ZooKeeper ensemble (sasl_ssl, mtls inside): pulumi up ${seconds.toFixed(1)}s; quorum over TLS ${JSON.stringify(modes)}; refusals as expected; a second up changed nothing`);

        // The zombie leader in ZooKeeper mode: cut off from ZooKeeper and the other brokers past the session timeout.
        const zombie = ZOOKEEPERS.find((b) => b !== leader)!;
        const partitioned = faultCommand(cluster.stack, "partition", zombie, "--seconds", "30");
        assertNothingLost(t, `ZooKeeper ensemble: partition leader ${zombie} partitioned 30 s, acks=all (SASL_SSL)`, partitioned, { leaderHit: true });
        waitFor("no partition under-replicated", 300, () => underReplicated(cluster) === "0");
        // A smoke-... topic: the client user's ACLs cover it (the producer goes through the SASL_SSL listener).
        const topic = `smoke-${runId}-zk`;
        clusterTopic(cluster, topic);
        let bootAgain: () => void = () => {};
        let sent: Awaited<ReturnType<typeof produceThrough>>;
        let numbers: ReturnType<typeof tally>;
        let newLeader: string | undefined;
        try {
            sent = await produceThrough(cluster, topic, 25, 5000, () => (bootAgain = killMachine(cluster, leader)));
            newLeader = ZOOKEEPERS.filter((b) => b !== leader).find((b) => mode(b) === "leader");
            const read = readAll(cluster, topic, leader, sent.acked);
            numbers = tally(sent.acked, read.filter((m) => sent.acked.includes(m.key)));
        } finally {
            bootAgain();
        }
        t.log(`ZooKeeper ensemble: up ${seconds.toFixed(1)}s; leader ${leader} killed, new leader ${newLeader}; acknowledged ${sent.acked.length}, lost ${numbers.lost}, duplicated ${numbers.duplicated}`);
        record("ZooKeeper ensemble: leader killed under load", { ...numbers, failedSends: sent.failed, upSeconds: Math.round(seconds), oldLeader: leader, newLeader });
        t.truthy(newLeader, "a new ZooKeeper leader");
        t.true(sent.acked.length > 100, `the producer got acknowledgements over SASL_SSL: ${sent.errors.slice(0, 3).join("; ")}`);
        t.is(numbers.lost, 0);
        t.is(numbers.duplicated, 0);
        t.true(sent.secondsToFirstAckAfterFault >= 0, "producing went on after the kill");
        // The killed leader's machine is back: its broker registered and every replica in sync before the upgrade.
        const registered = () => onMachine(cluster.lab, "producer", `/opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server ${o.internalBootstrapServers} ${labTools(cluster.lab, "producer")} | grep -c '(id: '`, 90).trim();
        waitFor("every broker registered and no partition under-replicated", 300, () => registered() === "3" && underReplicated(cluster) === "0");

        // The patch upgrade and a certificate renewal (README: "Rotate") in one roll: every node's certificate
        // re-issued from the same CA; ZooKeeper, then the brokers, restart once each, under load, and serve it.
        const served = () => Object.fromEntries(ZOOKEEPERS.flatMap((host) => [2181, 9092].map((port) => [`${host}:${port}`, servedCertificate(cluster.lab, "broker2", host, port)])));
        const before = served();
        assertZookeeperUpgrade(t, cluster, await rollUnderLoad(cluster, `smoke-${runId}-upgrade`, (file) => withSetting(withKafkaVersion(file, DEFAULT_KAFKA_VERSION), "certificatesGeneration", "2"), () => watchEnsemble(cluster)));
        const [ca] = certificatesOf(o.caCertificate);
        for (const [endpoint, now] of Object.entries(served())) {
            t.true(now.verify(ca.publicKey), `${endpoint} serves a certificate the CA signed`);
            t.not(now.fingerprint256, before[endpoint].fingerprint256, `${endpoint} serves its renewed certificate`);
        }
        t.is(labAccess(cluster.stack).outputs.caCertificate, o.caCertificate, "the same CA");

        // Then ZooKeeper to KRaft in place: the SCRAM users and the ACLs move from ZooKeeper into the metadata log;
        // the client user still gets in where its ACLs say, and still not elsewhere. Every tool call is the admin's,
        // over mTLS (broker1's tools' properties).
        const asAdmin = `--bootstrap-server ${o.internalBootstrapServers} ${labTools(cluster.lab, "broker1")}`;
        const privateTopic = `private-${runId}-zk`;
        onMachine(cluster.lab, "broker1", `/opt/kafka/bin/kafka-topics.sh ${asAdmin} --create --topic ${privateTopic} --partitions 1 --replication-factor 3 --config retention.ms=123456789`, 90);
        const topicConfig = () => onMachine(cluster.lab, "broker1", `/opt/kafka/bin/kafka-configs.sh ${asAdmin} --describe --entity-type topics --entity-name ${privateTopic}`, 90);
        t.regex(topicConfig(), /retention\.ms=123456789/);
        const acls = () => onMachine(cluster.lab, "broker1", `/opt/kafka/bin/kafka-acls.sh ${asAdmin} --list`, 90).split("\n").map((l) => l.trim()).filter((l) => l.startsWith("(principal=")).sort();
        const aclsBefore = acls();
        t.true(aclsBefore.length > 0, "the client user has ACLs in ZooKeeper");
        const refusedOnPrivate = async () => (await tryExternal(o, externalClient(o), privateTopic)).errors.join(" | ");
        t.regex(await refusedOnPrivate(), /TOPIC_AUTHORIZATION_FAILED|not authorized/i, "before: refused on a topic its ACLs do not cover");

        const dualWrite = await migrationPhase(t, cluster, "dual-write (SASL_SSL)", (f) => withSetting(f, "kraftMigration", "dual-write"));
        for (const b of dualWrite.brokers) t.deepEqual(dualWrite.restarts[b], { zookeeper: 0, "kafka-controller": 1, kafka: 2 }, `dual-write: ${b}'s controller started once, its broker rolled twice (migration settings, then KRaft), its ZooKeeper kept`);
        t.is(migrationState(cluster.lab, "broker1"), "1", "the controllers report MIGRATION: the metadata copied, ZooKeeper still written");
        // The controllers write ZooKeeper over TLS as the nodes: what they made there is that identity's alone.
        const migrationAcl = znodeAcl(cluster.lab, "broker1", "/migration");
        t.deepEqual(migrationAcl.entries.filter((e) => e !== "world:anyone:r"), [NODE_ZNODE_ACL], `/migration: ${migrationAcl.shown}`);
        const controllerSettings = onMachine(cluster.lab, "broker1", "grep -E '^(zookeeper.ssl.client.enable|listener.security.protocol.map)=' /etc/kafka/controller.properties");
        t.regex(controllerSettings, /^listener\.security\.protocol\.map=CONTROLLER:SSL,INTERNAL:SSL\b/m, "the controllers reach the brokers over TLS");
        t.regex(controllerSettings, /^zookeeper\.ssl\.client\.enable=true$/m, "and ZooKeeper too");
        t.regex(onMachine(cluster.lab, "broker2", "grep ^authorizer.class.name= /etc/kafka/server.properties"), /StandardAuthorizer/, "the KRaft brokers authorize with the metadata log's ACLs");
        for (const b of ZOOKEEPERS) {
            t.is(activeUnits(cluster.lab, b), "zookeeper=active\nkafka-controller=active\nkafka=active\n", b);
            t.regex(onMachine(cluster.lab, b, "grep -E '^(process.roles|node.id)=' /etc/kafka/server.properties"), /^process\.roles=broker\nnode\.id=\d$/m, `${b}: a KRaft broker`);
        }

        // With a controller setting changed at the same time: finalize rolls the controllers anyway, one at a time.
        const finalized = await migrationPhase(t, cluster, "finalize (SASL_SSL)", (f) => withSetting(withSetting(f, "kraftMigration", "finalize"), "controllerHeap", "320m"));
        assertRolledOnce(t, "finalize: controllers", Object.fromEntries(finalized.brokers.map((b) => [b, finalized.starts(b, "kafka-controller")])), finalized.brokers, finalized.producing);
        for (const b of finalized.brokers) t.is(finalized.restarts[b].kafka, 0, `finalize: ${b}'s broker not restarted (it already ran as a KRaft broker)`);
        t.regex(serviceCommandLine(cluster, "broker2", "kafka-controller"), /-Xmx320m/, "the controllers run the new heap");
        t.is(migrationState(cluster.lab, "broker1"), "3", "the controllers report POST_MIGRATION");
        const migrated = labAccess(cluster.stack).outputs;
        t.is(migrated.metadata, "kraft", "the stack's outputs say KRaft");
        t.is(migrated.controllers, "dedicated");
        t.regex(topicConfig(), /retention\.ms=123456789/, "the topic's config came through the migration");
        t.deepEqual(acls(), aclsBefore, "the ACLs came through the migration");
        t.regex(await refusedOnPrivate(), /TOPIC_AUTHORIZATION_FAILED|not authorized/i, "after: still refused where its ACLs say");
        // A 3-broker KRaft cluster on 3.9 with dedicated controllers: each of broker1..3 runs its broker (a broker
        // only) and a controller of its own, with its own metadata log.
        for (const [i, b] of ZOOKEEPERS.entries()) {
            t.is(activeUnits(cluster.lab, b), "zookeeper=inactive\nkafka-controller=active\nkafka=active\n", `${b}: ZooKeeper gone`);
            t.regex(onMachine(cluster.lab, b, "grep -E '^(process.roles|node.id)=' /etc/kafka/controller.properties"), new RegExp(`^process\\.roles=controller\nnode\\.id=${3001 + i}$`, "m"));
            t.notRegex(onMachine(cluster.lab, b, "cat /etc/kafka/controller.properties /etc/kafka/server.properties"), /^zookeeper\./m, `${b}: nothing of ZooKeeper left in its settings`);
            t.is(onMachine(cluster.lab, b, "ls /etc/kafka/zookeeper*.properties 2>/dev/null || true").trim(), "", `${b}: ZooKeeper's and its tools' settings removed`);
            t.regex(onMachine(cluster.lab, b, "ls /var/lib/kafka/controller"), /meta\.properties/, `${b}: the controller's metadata log has its own dir`);
        }
        const quorum = onMachine(cluster.lab, "broker1", `/opt/kafka/bin/kafka-metadata-quorum.sh ${asAdmin} describe --status`, 90);
        t.regex(quorum, /LeaderId:\s*300[123]\s*$/m, "a dedicated controller leads the quorum");
        t.deepEqual([...(/CurrentVoters:\s*(.*)$/m.exec(quorum)?.[1] ?? "").matchAll(/\b(300[123])\b/g)].map((m) => m[1]).sort(), ["3001", "3002", "3003"], `the voters are the three controllers: ${quorum}`);
        const migratedSmoke = run("node", ["scripts/smoke.mjs", "--stack", cluster.stack]);
        t.is(migratedSmoke.status, 0, `the client user (its SCRAM credentials migrated) produces and consumes: ${migratedSmoke.stdout}${migratedSmoke.stderr}`);
        const tools = assertToolsStart(t, cluster.lab, "broker1");
        const migratedAgain = stackUp(cluster.stack, "--expect-no-changes");
        t.is(migratedAgain.status, 0, `after the migration, a second up changes nothing: ${migratedAgain.stdout.slice(-3000)}`);
        record("3-broker KRaft cluster on 3.9, dedicated controllers", { kafka: DEFAULT_KAFKA_VERSION, migratedFromZookeeper: true, upSeconds: Math.round(seconds), tools: tools.scripts, toolsStarted: tools.started, toolsLeftOut: tools.leftOut });
    } finally {
        const clean = clusterDown(cluster);
        t.is(clean.status, 0, `the ensemble's stack leaves the host clean: ${clean.stderr}`);
    }
});
