// ZooKeeper mode with mutual TLS inside (README: "Inside the lab: mutual TLS", ZooKeeper mode): a 3-broker
// ensemble on the default 3.9 release, on a bridge of its own. In the one-broker file (lab.e2e.test.ts),
// which has room beside the cluster file.
import { internalSans } from "../../src/credentials";
import { ZOOKEEPERS, assertRollLostNothing, assertRolledOnce, clusterDown, clusterUp, rollUnderLoad, withSetting } from "./cluster-lab";
import { NODE_ZNODE_ACL, e2e, runId, servedCertificate, tlsAttempt, withForgedNodeCertificate, znodeAcl, zookeeperShell } from "./context";
import { labAccess, onMachine, record, run, stackUp } from "../helpers/lab";
import { certificatesOf } from "../helpers/pem";


e2e("ZooKeeper mode with mTLS inside, 3 brokers: smoke test; ZooKeeper refuses a client without TLS, without a certificate or with another CA's, on its client and quorum ports; Kafka's znodes are the nodes' identity's alone to change; a second up changes nothing; certificates renewed under load, ZooKeeper and the brokers rolled, nothing lost", async (t) => {
    t.timeout(30 * 60 * 1000);
    const { cluster: zk, seconds } = clusterUp(t, "e2e-zkmtls", "10.71.0", { brokers: "3", internalSecurity: "mtls" });
    try {
        const o = zk.lab.outputs;
        t.is(o.metadata, "zookeeper");
        t.is(o.internalSecurity, "mtls");
        const smoke = run("node", ["scripts/smoke.mjs", "--stack", zk.stack]);
        t.is(smoke.status, 0, smoke.stdout + smoke.stderr);

        // The client port speaks TLS alone: a plaintext four-letter word gets no answer, a TLS one with the
        // node's certificate does; none, or another CA's with the nodes' subject, is refused.
        const plaintext = onMachine(zk.lab, "broker2", "(exec 3<>/dev/tcp/broker1/2181 && printf ruok >&3 && timeout 5 cat <&3) 2>&1; echo \" exit=$?\"");
        t.false(plaintext.includes("imok"), `plaintext: ${plaintext}`);
        t.is(tlsAttempt(zk.lab, "broker2", "broker1", 2181, "/etc/kafka/tls/node.pem", "ruok"), "accepted: imok");
        // ZooKeeper negotiates TLS 1.2 (its default): a missing certificate ends the handshake with handshake_failure.
        t.regex(tlsAttempt(zk.lab, "broker2", "broker1", 2181, "", "ruok"), /^refused: .*HANDSHAKE_FAILURE/, "no certificate");
        // The quorum runs over TLS (sslQuorum): the followers follow, so they passed the leader's handshake, and the
        // leader's quorum port (2888) and every election port (3888) take a node's certificate and nothing else.
        const modes = Object.fromEntries(ZOOKEEPERS.map((host) =>
            [host, /Mode: (\w+)/.exec(tlsAttempt(zk.lab, "broker2", host, 2181, "/etc/kafka/tls/node.pem", "srvr"))?.[1] ?? "none"]));
        t.deepEqual(Object.values(modes).sort(), ["follower", "follower", "leader"], `the ensemble's modes over TLS: ${JSON.stringify(modes)}`);
        const leader = Object.keys(modes).find((host) => modes[host] === "leader")!;
        const asker = leader === "broker2" ? "broker3" : "broker2";
        withForgedNodeCertificate(zk.lab, [asker], internalSans(asker, o.hosts[asker]), (forged) => {
            t.regex(tlsAttempt(zk.lab, asker, "broker1", 2181, forged, "ruok"), /^refused: .*(CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE)/, "another CA's certificate on the client port");
            t.is(tlsAttempt(zk.lab, asker, "broker1", 3888, "/etc/kafka/tls/node.pem"), "accepted", "a node's certificate on the election port");
            for (const [host, port] of [[leader, 2888], ["broker1", 3888]] as const) {
                t.regex(tlsAttempt(zk.lab, asker, host, port), /^refused: .*HANDSHAKE_FAILURE/, `no certificate on ${host}:${port}`);
                t.regex(tlsAttempt(zk.lab, asker, host, port, forged), /^refused: .*(CERTIFICATE_UNKNOWN|UNKNOWN_CA|BAD_CERTIFICATE)/, `another CA's on ${host}:${port}`);
            }
        });
        t.log(`ZooKeeper's quorum over TLS: ${JSON.stringify(modes)}`);

        // The znodes Kafka wrote: every change is the nodes' identity's (x509, the certificate's subject); at most, the world reads.
        for (const znode of ["/brokers/ids/1", "/brokers/topics/test", "/config/topics/test", "/controller"]) {
            const acl = znodeAcl(zk.lab, "broker1", znode);
            t.deepEqual(acl.entries.filter((e) => e !== "world:anyone:r"), [NODE_ZNODE_ACL], `${znode}: the nodes' alone to change: ${acl.shown}`);
        }
        t.true(zookeeperShell(zk.lab, "broker1", "ls /brokers/ids").includes("[1, 2, 3]"), "every broker registered over TLS");

        const again = stackUp(zk.stack, "--expect-no-changes");
        t.is(again.status, 0, again.stdout.slice(-3000));

        // Renewal (README: "Rotate"): a new certificates generation re-issues every node's certificate from the
        // same CA; ZooKeeper, then the brokers, restart one at a time and serve it, under load, nothing lost.
        const served = () => Object.fromEntries(ZOOKEEPERS.flatMap((host) => [2181, 9092].map((port) => [`${host}:${port}`, servedCertificate(zk.lab, "broker2", host, port)])));
        const before = served();
        const renewal = await rollUnderLoad(zk, `smoke-${runId}-renewal`, (file) => withSetting(file, "certificatesGeneration", "2"));
        t.is(renewal.up.status, 0, renewal.up.out.slice(-4000));
        assertRollLostNothing(t, renewal);
        assertRolledOnce(t, "zookeeper", Object.fromEntries(ZOOKEEPERS.map((z) => [z, renewal.starts(z, "zookeeper")])), ZOOKEEPERS, renewal.producing);
        assertRolledOnce(t, "kafka", Object.fromEntries(renewal.brokers.map((b) => [b, renewal.starts(b, "kafka")])), renewal.brokers, renewal.producing);
        const after = served();
        const [ca] = certificatesOf(o.caCertificate);
        for (const [endpoint, served] of Object.entries(after)) {
            t.true(served.verify(ca.publicKey), `${endpoint} serves a certificate the CA signed`);
            t.not(served.fingerprint256, before[endpoint].fingerprint256, `${endpoint} serves its renewed certificate`);
        }
        t.is(labAccess(zk.stack).outputs.caCertificate, o.caCertificate, "the same CA");
        const renewedSmoke = run("node", ["scripts/smoke.mjs", "--stack", zk.stack]);
        t.is(renewedSmoke.status, 0, renewedSmoke.stdout + renewedSmoke.stderr);
        const renewalSeconds = Math.round((renewal.producing.to - renewal.producing.from) / 1000);
        t.log(`renewal under load: acknowledged ${renewal.sent.acked.length}, failed sends ${renewal.sent.failed}, lost ${renewal.numbers.lost}; deploy ${renewalSeconds}s`);
        record("ZooKeeper mode with mTLS inside (3 brokers)", { upSeconds: Math.round(seconds), renewalDeploySeconds: renewalSeconds, renewalAcked: renewal.sent.acked.length, renewalFailedSends: renewal.sent.failed, renewalLost: renewal.numbers.lost, renewalLostFromTheTopic: renewal.stored.lost });
        t.log(`ZooKeeper + mtls: pulumi up ${seconds.toFixed(1)}s; smoke test passed; refusals as expected; a second up changed nothing`);
    } finally {
        const clean = clusterDown(zk);
        t.is(clean.status, 0, `the ZooKeeper mtls stack leaves the host clean: ${clean.stderr}`);
    }
});
