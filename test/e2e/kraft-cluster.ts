// The KRaft cluster (README: "Cluster", "Faults", "Day two", "Inside the lab: mutual TLS"): three brokers on
// Kafka 4.x with mTLS inside, on a bridge of its own; machines killed, networks cut, machines frozen, upgraded
// under load and grown to four brokers.
import { Admin } from "@platformatic/kafka";
import * as fs from "fs";
import * as path from "path";
import { KAFKA_4_VERSION } from "../../src/config";
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
    withKeysOf,
} from "../helpers/lab";
import {
    e2e,
    runId,
    faultCommand,
    assertNothingLost,
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
} from "./context";
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
} from "./cluster-lab";


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
        numbers = tally(sent.acked, withKeysOf(read, sent.acked));
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
        numbers = tally(sent.acked, withKeysOf(read, sent.acked));
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
