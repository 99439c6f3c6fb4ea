// What a running stack may not become in place: judged from its own last outputs, before anything is made.
import test from "ava";
import { validateConfig } from "../src/config";
import { deployedAuthorities, planAuthorities } from "../src/credentials";
import { transitionProblems } from "../src/transitions";

const config = (raw: Record<string, unknown>) => validateConfig(raw, { stack: "local", cacheDir: "/c" });

test("internalSecurity cannot switch on a running cluster (not yet rolled in place): refused with the ways out; rebuildCluster allows it", (t) => {
    const was = { brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0" };
    const mtls = config({ brokers: "3", kafkaVersion: "4.4.0", internalSecurity: "mtls" });
    const [problem] = transitionProblems(was, mtls);
    t.regex(problem, /kafka-lab:internalSecurity mtls on a cluster running with plaintext: the lab does not yet switch .* Keep plaintext, or set kafka-lab:rebuildCluster to true/);
    t.regex(transitionProblems({ ...was, internalSecurity: "mtls" }, config({ brokers: "3", kafkaVersion: "4.4.0" }))[0], /internalSecurity plaintext on a cluster running with mtls/);
    t.deepEqual(transitionProblems({ ...was, internalSecurity: "mtls" }, mtls), []);
    t.deepEqual(transitionProblems(was, config({ brokers: "3", kafkaVersion: "4.4.0", internalSecurity: "mtls", rebuildCluster: "true" })), []);
    t.deepEqual(transitionProblems(undefined, mtls), [], "a new stack starts with it");
});

test("a new CA on a running mtls cluster goes in through caRotation's phases, in order; in one roll it is refused", (t) => {
    const was = { brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0", internalSecurity: "mtls", credentialsGeneration: 1 };
    const mtls = (more: Record<string, string>) => config({ brokers: "3", kafkaVersion: "4.4.0", internalSecurity: "mtls", ...more });
    // Deployed before the output existed: its one CA is tls-ca, of its credentialsGeneration.
    const [oneRoll] = transitionProblems(was, mtls({ credentialsGeneration: "2" }));
    t.regex(oneRoll, /kafka-lab:credentialsGeneration 2 on a cluster running with internalSecurity mtls \(generation 1\): a new CA in one roll would cut each restarted node off from the others\. Roll it in with kafka-lab:caRotation: trust \(with kafka-lab:credentialsGeneration 2\), then reissue, then none/);
    t.regex(oneRoll, /renew the certificates with kafka-lab:certificatesGeneration \(same CA\), or set kafka-lab:rebuildCluster to true/);
    t.deepEqual(transitionProblems(was, mtls({ certificatesGeneration: "2" })), [], "renewal: same CA");
    t.deepEqual(transitionProblems({ ...was, internalSecurity: "plaintext" }, config({ brokers: "3", kafkaVersion: "4.4.0", credentialsGeneration: "2" })), [], "plaintext inside: a new CA in place, as before");
    t.deepEqual(transitionProblems(was, mtls({ credentialsGeneration: "2", rebuildCluster: "true" })), []);

    const one = { ...was, certificateAuthorities: [{ generation: 1, resource: "tls-ca" }], caRotation: "none" };
    t.deepEqual(transitionProblems(one, mtls({ credentialsGeneration: "2", caRotation: "trust" })), [], "phase 1: trust");
    t.regex(transitionProblems(one, mtls({ caRotation: "trust" }))[0], /kafka-lab:caRotation trust with kafka-lab:credentialsGeneration 1, the generation already running: set kafka-lab:credentialsGeneration to 2/);
    t.regex(transitionProblems(one, mtls({ credentialsGeneration: "2", caRotation: "reissue" }))[0], /kafka-lab:caRotation reissue before trust: the nodes would be shown certificates of a CA they do not trust yet/);

    const both = { ...one, credentialsGeneration: 2, certificateAuthorities: [{ generation: 1, resource: "tls-ca" }, { generation: 2, resource: "tls-ca-g2" }] };
    const trusting = { ...both, caRotation: "trust" };
    const reissued = { ...both, caRotation: "reissue" };
    t.deepEqual(transitionProblems(trusting, mtls({ credentialsGeneration: "2", caRotation: "trust" })), [], "trust again: nothing new");
    t.deepEqual(transitionProblems(trusting, mtls({ credentialsGeneration: "2", caRotation: "reissue" })), [], "phase 2: reissue");
    t.regex(transitionProblems(trusting, mtls({ credentialsGeneration: "2" }))[0], /kafka-lab:caRotation none while a rotation from generation 1 to 2 is under way \(kafka-lab:caRotation trust\): the certificates are still the old CA's/);
    t.deepEqual(transitionProblems(trusting, mtls({ credentialsGeneration: "1" })), [], "from trust, back to the old CA alone");
    t.deepEqual(transitionProblems(reissued, mtls({ credentialsGeneration: "2" })), [], "phase 3: none, the old CA dropped");
    t.deepEqual(transitionProblems(reissued, mtls({ credentialsGeneration: "2", caRotation: "trust" })), [], "from reissue, back to the old CA's certificates");
    t.regex(transitionProblems(reissued, mtls({ credentialsGeneration: "1" }))[0], /kafka-lab:credentialsGeneration 1 with kafka-lab:caRotation none while a rotation from generation 1 to 2 is under way \(kafka-lab:caRotation reissue\): the certificates are already the new CA's/);
    t.regex(transitionProblems(reissued, mtls({ credentialsGeneration: "3", caRotation: "trust" }))[0], /kafka-lab:credentialsGeneration 3 while a rotation from generation 1 to 2 is under way/);
    t.regex(transitionProblems(undefined, mtls({ credentialsGeneration: "2", caRotation: "trust" }))[0], /kafka-lab:caRotation trust on a stack with no CA deployed yet: there is nothing to rotate/);
});

test("planAuthorities: which CAs a deploy holds and which one issues, through a rotation and in place", (t) => {
    const ca = (generation: number, resource: string) => ({ generation, resource });
    const plan = (deployed: { generation: number; resource: string }[], raw: Record<string, string>) => planAuthorities(config({ internalSecurity: "mtls", ...raw }), deployed);
    t.deepEqual(plan([], {}), { trusted: [ca(1, "tls-ca")], issuing: ca(1, "tls-ca") }, "a new stack");
    t.deepEqual(plan([ca(1, "tls-ca")], {}), { trusted: [ca(1, "tls-ca")], issuing: ca(1, "tls-ca") }, "no change");
    t.deepEqual(plan([ca(1, "tls-ca")], { credentialsGeneration: "2", caRotation: "trust" }), { trusted: [ca(1, "tls-ca"), ca(2, "tls-ca-g2")], issuing: ca(1, "tls-ca") }, "trust: the new CA beside the old, which still issues");
    const both = [ca(1, "tls-ca"), ca(2, "tls-ca-g2")];
    t.deepEqual(plan(both, { credentialsGeneration: "2", caRotation: "reissue" }), { trusted: both, issuing: ca(2, "tls-ca-g2") }, "reissue: the new CA issues");
    t.deepEqual(plan(both, { credentialsGeneration: "2" }), { trusted: [ca(2, "tls-ca-g2")], issuing: ca(2, "tls-ca-g2") }, "none: the new CA alone");
    t.deepEqual(plan(both, { credentialsGeneration: "1" }), { trusted: [ca(1, "tls-ca")], issuing: ca(1, "tls-ca") }, "none from trust, back: the old CA alone");
    t.deepEqual(plan([ca(2, "tls-ca-g2")], { credentialsGeneration: "3" }), { trusted: [ca(3, "tls-ca-g2")], issuing: ca(3, "tls-ca-g2") }, "in place (plaintext inside, or a rebuild): the same resource, a new generation");
    t.deepEqual(deployedAuthorities({ externalSecurity: "sasl_ssl", credentialsGeneration: 3 }), [ca(3, "tls-ca")], "deployed before the output existed");
    t.deepEqual(deployedAuthorities({ externalSecurity: "plaintext", internalSecurity: "plaintext", credentialsGeneration: 1 }), [], "no CA deployed");
});

test("a first deploy, or no change of shape, is allowed", (t) => {
    t.deepEqual(transitionProblems(undefined, config({ brokers: "3" })), []);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "3", kafkaVersion: "4.4.0" })), []);
    t.deepEqual(transitionProblems({ brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokerHeap: "640m" })), []);
});

test("brokers may be added from three on: the controllers and the ensemble stay as they are", (t) => {
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "4", kafkaVersion: "4.4.0" })), []);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "5" })), []);
});

test("ZooKeeper to Kafka 4.x is refused with what to do instead; rebuildCluster lets it through", (t) => {
    const [problem, ...rest] = transitionProblems({ brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3", kafkaVersion: "4.4.0" }));
    t.deepEqual(rest, []);
    t.regex(problem, /this stack runs Kafka 3\.9\.2 in ZooKeeper mode; kafka-lab:kafkaVersion 4\.4\.0 with kafka-lab:metadata kraft cannot take over its data directly \(Kafka 4\.x has no ZooKeeper mode\)\. Migrate it in place instead: kafka-lab:kraftMigration dual-write, then finalize \(one pulumi up each, on Kafka 3\.9\.x; see README "Day two"\), then the 4\.x kafkaVersion/);
    t.regex(problem, /Set kafka-lab:rebuildCluster to true/);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3", kafkaVersion: "4.4.0", rebuildCluster: "true" })), []);
});

test("a newer release is an upgrade in place; an older one is refused, saying why and what to keep", (t) => {
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "kraft", kafkaVersion: "4.3.1" }, config({ brokers: "3", kafkaVersion: "4.4.0" })), []);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.1" }, config({ brokers: "3", kafkaVersion: "3.9.2" })), []);
    const [kraft] = transitionProblems({ brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "3", kafkaVersion: "4.3.1" }));
    t.regex(kraft, /kafka-lab:kafkaVersion 4\.3\.1 is older than the running 4\.4\.0: the lab upgrades in place, never back \(its upgrade raised metadata\.version, which Kafka does not lower again\)\. Keep 4\.4\.0 or a newer release/);
    t.regex(transitionProblems({ brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ kafkaVersion: "3.9.1" }))[0], /older than the running 3\.9\.2.*inter\.broker\.protocol\.version/);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "kraft", kafkaVersion: "4.10.0" }, config({ brokers: "3", kafkaVersion: "4.9.0" })).length, 1, "compared as numbers");
});

test("fewer brokers, or a change of the controller set or ensemble, is refused", (t) => {
    t.regex(transitionProblems({ brokers: 4, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "3", kafkaVersion: "4.4.0" }))[0], /kafka-lab:brokers 3 would remove brokers from the running 4-broker cluster/);
    t.regex(transitionProblems({ brokers: 2, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "3", kafkaVersion: "4.4.0" }))[0], /changes the KRaft controller quorum \(2 -> 3 controllers\)/);
    t.regex(transitionProblems({ brokers: 2, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3" }))[0], /changes the ZooKeeper ensemble \(1 -> 3 nodes\)/);
    t.regex(transitionProblems({ brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3" }))[0], /would turn the one-broker lab \(host broker\) into a cluster of broker1..broker3/);
});

test("combined and dedicated controllers: the choice is kept; a stack deployed before it had combined ones", (t) => {
    const kraft3 = { brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0" };
    t.regex(transitionProblems(kraft3, config({ brokers: "3", kafkaVersion: "4.4.0", controllers: "dedicated" }))[0], /kafka-lab:controllers dedicated on a cluster whose controllers are combined: the controller quorum .* is fixed when a KRaft cluster is made.*Keep combined\. Set kafka-lab:rebuildCluster to true/);
    t.regex(transitionProblems({ ...kraft3, controllers: "dedicated" }, config({ brokers: "3", kafkaVersion: "4.4.0" }))[0], /kafka-lab:controllers combined on a cluster whose controllers are dedicated.*Keep dedicated/);
    t.deepEqual(transitionProblems({ ...kraft3, controllers: "dedicated" }, config({ brokers: "4", kafkaVersion: "4.4.0", controllers: "dedicated" })), [], "a broker added to a cluster with dedicated controllers");
    t.deepEqual(transitionProblems(kraft3, config({ brokers: "3", kafkaVersion: "4.4.0", controllers: "combined" })), []);
    t.deepEqual(transitionProblems(kraft3, config({ brokers: "3", kafkaVersion: "4.4.0", controllers: "dedicated", rebuildCluster: "true" })), [], "rebuildCluster lets it through");
});

test("the local lab's refusals say how to start it anew; another target is refused", (t) => {
    t.regex(transitionProblems({ brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3" }))[0], /\(the local lab: npm run lab -- down, then npm run lab\)/);
    t.regex(transitionProblems({ target: "aws", brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({}))[0], /kafka-lab:target local on a stack deployed to aws: its machines cannot move to another target/);
});

test("AWS: what would replace every instance or move the data volumes is refused, whatever rebuildCluster says", (t) => {
    const aws = (raw: Record<string, unknown>, region = "eu-west-1") => validateConfig({ target: "aws", adminCidrs: ["203.0.113.0/24"], rebuildCluster: "true", ...raw }, { stack: "dev", awsRegion: region });
    const was = { region: "eu-west-1", imageFamily: "centos-stream-9", zones: ["eu-west-1a"], vpcCidr: "10.42.0.0/16", subnetCidr: "10.42.1.0/24", vpcId: "", subnetIds: [], sshPublicKey: "", dataVolumeGiB: 20 };
    const deployed = { target: "aws", brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2", aws: was };
    t.deepEqual(transitionProblems(deployed, aws({})), [], "no change");
    t.deepEqual(transitionProblems(deployed, aws({ dataVolumeGiB: "50", brokerInstanceType: "t3.large", zones: ["eu-west-1a"] })), [], "a larger volume, another instance type, the same zones");
    const refusals: [Record<string, unknown>, RegExp, string?][] = [
        [{ imageFamily: "rocky-9" }, /kafka-lab:imageFamily rocky-9 on a stack whose machines run centos-stream-9: .* SSH logs in as rocky instead of ec2-user/],
        [{}, /aws:region eu-central-1 on a stack deployed in eu-west-1/, "eu-central-1"],
        [{ vpcCidr: "10.50.0.0/16", subnetCidr: "10.50.1.0/24" }, /kafka-lab:vpcCidr 10\.50\.0\.0\/16 on a stack deployed with 10\.42\.0\.0\/16: every subnet would move/],
        [{ subnetCidr: "10.42.9.0/24" }, /kafka-lab:subnetCidr 10\.42\.9\.0\/24 on a stack deployed with 10\.42\.1\.0\/24/],
        [{ zones: ["eu-west-1b"] }, /kafka-lab:zones eu-west-1b on a stack deployed with eu-west-1a/],
        [{ vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-0123456789abcdef0" }, /kafka-lab:vpcId vpc-0123456789abcdef0 on a stack deployed with \(none\)/],
        [{ sshPublicKey: "ssh-ed25519 AAAAC3NzaUSER me", sshPrivateKey: "(secret)" }, /kafka-lab:sshPublicKey set to another key on a running stack: EC2 puts a key pair on an instance only at launch/],
        [{ dataVolumeGiB: "10" }, /kafka-lab:dataVolumeGiB 10 is smaller than the deployed 20 GiB: EBS volumes can grow, never shrink/],
    ];
    for (const [raw, expected, region] of refusals) t.regex(transitionProblems(deployed, aws(raw, region)).join("\n"), expected);
});

test("ZooKeeper to KRaft in place: dual-write from ZooKeeper mode on 3.9, then finalize or rollback; every other order refused, naming the phases", (t) => {
    const zk3 = { brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.2" };
    const phase = (m: string, extra: Record<string, string> = {}) => config({ brokers: "3", kraftMigration: m, ...extra });
    t.deepEqual(transitionProblems(zk3, phase("dual-write")), [], "ZooKeeper mode -> dual-write");
    t.deepEqual(transitionProblems({ ...zk3, kraftMigration: "dual-write" }, phase("dual-write")), [], "dual-write again (a re-run)");
    t.deepEqual(transitionProblems({ ...zk3, kraftMigration: "dual-write" }, phase("finalize")), [], "dual-write -> finalize");
    t.deepEqual(transitionProblems({ ...zk3, kraftMigration: "dual-write" }, phase("rollback")), [], "dual-write -> rollback");
    t.deepEqual(transitionProblems({ ...zk3, kraftMigration: "rollback" }, config({ brokers: "3" })), [], "rollback -> none");
    const finalized = { brokers: 3, metadata: "kraft", controllers: "dedicated", kraftMigration: "finalize", kafkaVersion: "3.9.2" };
    t.deepEqual(transitionProblems(finalized, phase("finalize", { kafkaVersion: "4.4.0" })), [], "finalized, then 4.x like any KRaft cluster");
    t.deepEqual(transitionProblems(finalized, phase("finalize", { brokers: "4" })), [], "a broker added once finalized");
    const refused: [object, Record<string, string>, RegExp][] = [
        [zk3, { kraftMigration: "finalize" }, /kraftMigration finalize after none: the migration starts with kafka-lab:kraftMigration dual-write/],
        [zk3, { kraftMigration: "rollback" }, /kraftMigration rollback after none/],
        [{ ...zk3, kraftMigration: "dual-write" }, { kraftMigration: "none" }, /kraftMigration none after dual-write: from dual-write the migration goes on to finalize, or back with rollback/],
        [{ ...zk3, kraftMigration: "rollback" }, { kraftMigration: "dual-write" }, /after a rollback, set kafka-lab:kraftMigration none \(a pulumi up\), then dual-write again/],
        [finalized, { kraftMigration: "rollback" }, /a finalized migration cannot be undone: ZooKeeper is gone/],
        [{ ...zk3, kafkaVersion: "3.9.1" }, { kraftMigration: "dual-write" }, /kafkaVersion 3\.9\.2 with kafka-lab:kraftMigration dual-write: a phase of the migration runs on the release it started on \(3\.9\.1\)/],
        [{ ...zk3, kraftMigration: "dual-write" }, { kraftMigration: "dual-write", brokers: "4" }, /brokers 3 -> 4 during a ZooKeeper to KRaft migration/],
        [{ brokers: 3, metadata: "kraft", kafkaVersion: "3.9.2" }, { kraftMigration: "dual-write" }, /on a cluster that already runs in KRaft mode: there is nothing to migrate/],
    ];
    for (const [deployed, raw, expected] of refused) {
        const problems = transitionProblems(deployed, config({ brokers: "3", ...raw }));
        t.true(problems.some((p) => expected.test(p)), `${JSON.stringify(raw)} after ${JSON.stringify(deployed)}: ${problems.join(" | ")}`);
    }
});
