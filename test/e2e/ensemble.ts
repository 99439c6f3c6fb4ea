// The ZooKeeper ensemble (README: "Cluster", "Faults", "Day two", "Inside the lab: mutual TLS"): three brokers
// on 3.9 with prod's security (sasl_ssl outside, mTLS inside), on a bridge of its own; a leader cut off and
// ZooKeeper's leader killed under load, a patch upgrade rolled under load, then migrated to KRaft in place.
import { spawn } from "child_process";
import { DEFAULT_KAFKA_VERSION } from "../../src/config";
import {
    labAccess,
    onMachine,
    record,
    run,
    sshArgs,
    stackUp,
    tally,
    waitFor,
    withKeysOf,
} from "../helpers/lab";
import {
    externalClient,
    e2e,
    runId,
    faultCommand,
    assertNothingLost,
    tryExternal,
    migrationState,
    labTools,
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
 * Every 0.5 s, from broker1, each ZooKeeper node's state over its TLS client port (zookeeperWatchScript; as root,
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
            numbers = tally(sent.acked, withKeysOf(read, sent.acked));
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
