import test from "ava";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS, ConfigError, RawConfig, validateConfig } from "../src/config";
import { REPO } from "./helpers/lab";
import { tmpDir } from "./helpers/tmp";

const awsBase: RawConfig = { target: "aws", adminCidrs: ["203.0.113.0/24"], clientCidrs: ["203.0.113.0/24"] };
const aws = (extra: RawConfig, region = "eu-west-1") => validateConfig({ ...awsBase, ...extra }, { stack: "dev", awsRegion: region });

/** The message of the ConfigError that `fn` throws. */
function problemsOf(fn: () => unknown): string {
    const err = (() => {
        try {
            fn();
        } catch (e) {
            return e;
        }
        return undefined;
    })();
    if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
    return err.message;
}

test("defaults: local target, Kafka 3.9.2 on Scala 2.13, topic test with 7 days of retention", (t) => {
    const c = validateConfig({}, { stack: "local", cacheDir: "/c" });
    t.is(c.target, "local");
    t.is(c.kafka.version, "3.9.2");
    t.is(c.kafka.scalaVersion, "2.13");
    t.deepEqual(c.kafka.topic, { name: "test", partitions: 3, retentionHours: 168 });
    t.deepEqual([c.kafka.internalPort, c.kafka.externalPort, c.kafka.zookeeperPort], [9092, 9094, 2181]);
    t.deepEqual(c.kafka.artifact, { kind: "file", path: "/c/dist/kafka_2.13-3.9.2.tgz", sha512: undefined });
    t.deepEqual(c.network.adminCidrs, ["10.77.0.1/32"]);
    t.is(c.dataDir, "/var/lib/kafka");
    t.false(c.dataDir.startsWith("/tmp"));
});

test("aws defaults: CentOS Stream 9 and the Apache archive", (t) => {
    const c = aws({});
    t.is(c.aws!.imageFamily, "centos-stream-9");
    t.is(c.aws!.region, "eu-west-1");
    t.like(c.kafka.artifact, { kind: "url", url: "https://archive.apache.org/dist/kafka/3.9.2/kafka_2.13-3.9.2.tgz", sha512: undefined, delivery: "upload" });
});

const bad: [string, RawConfig, RegExp][] = [
    ["an unknown image family", { imageFamily: "centos-8" }, /kafka-lab:imageFamily is "centos-8"; allowed: centos-stream-9, rocky-9, almalinux-9/],
    ["a malformed CIDR", { adminCidrs: ["10.0.0/8"] }, /kafka-lab:adminCidrs\[0\] "10.0.0\/8" is not a valid IPv4 CIDR/],
    ["a CIDR with host bits", { clientCidrs: ["10.1.2.3/16"] }, /host bits are set \(did you mean 10.1.0.0\/16\?\)/],
    ["a port out of range", { kafkaPort: "70000" }, /kafka-lab:kafkaPort is "70000"; allowed: a TCP port, a whole number from 1 to 65535/],
    ["a port that is not a number", { zookeeperPort: "zk" }, /kafka-lab:zookeeperPort is "zk"/],
    ["two listeners on one port", { kafkaExternalPort: "9092" }, /kafkaExternalPort and kafka-lab:kafkaPort are both 9092/],
    ["0.0.0.0/0 for ZooKeeper", { zookeeperCidrs: ["0.0.0.0/0"] }, /zookeeperCidrs\[0\] "0.0.0.0\/0" reaches beyond private address space; ZooKeeper must never be open to the internet/],
    ["a public range for ZooKeeper", { zookeeperCidrs: ["8.8.8.0/24"] }, /ZooKeeper must never be open to the internet/],
    ["ZooKeeper mode on Kafka 4.x", { kafkaVersion: "4.4.0", metadata: "zookeeper" }, /kafka-lab:metadata is zookeeper, but Kafka 4.4.0 has no ZooKeeper mode; allowed with 4.x: kraft/],
    ["Scala 2.12 on Kafka 4.x", { kafkaVersion: "4.4.0", scalaVersion: "2.12" }, /kafka-lab:scalaVersion is 2.12, but Kafka 4.4.0 is built for Scala 2.13 only/],
    ["no brokers", { brokers: "0" }, /kafka-lab:brokers is "0"; allowed: a broker count, a whole number from 1 to 9/],
    ["ten brokers", { brokers: "10" }, /kafka-lab:brokers is "10"; allowed: a broker count, a whole number from 1 to 9/],
    ["an unknown metadata mode", { metadata: "etcd" }, /kafka-lab:metadata is "etcd"; allowed: zookeeper, kraft/],
    ["subnets for three zones outside the VPC", { brokers: "3", vpcCidr: "10.42.0.0/23", subnetCidr: "10.42.1.0/24" }, /leaves no room in kafka-lab:vpcCidr 10.42.0.0\/23 for the 3 zone subnets of 3 brokers \(the last would be 10.42.3.0\/24\)/],
    ["Kafka 2.x", { kafkaVersion: "2.8.2" }, /kafkaVersion is "2.8.2"; allowed: a 3.x.y release \(ZooKeeper or KRaft\) or a 4.x.y release \(KRaft\)/],
    ["an unknown Scala build", { scalaVersion: "3" }, /scalaVersion is "3"; allowed: 2.13, 2.12/],
    ["an unknown target", { target: "gcp" }, /kafka-lab:target is "gcp"; allowed: local, aws/],
    ["a bad heap", { brokerHeap: "lots" }, /brokerHeap is "lots"; allowed: a JVM heap size such as 512m or 1g/],
    ["a heap larger than the instance", { brokerInstanceType: "t3.small", brokerHeap: "4g" }, /does not fit t3.small \(2048 MiB/],
    ["a bad topic name", { topic: "my topic" }, /kafka-lab:topic "my topic" is not a valid topic name/],
    ["zero partitions", { topicPartitions: "0" }, /topicPartitions is "0"; allowed: a partition count, a whole number from 1 to 1000/],
    ["both artifact sources", { artifactUrl: "https://example.org/k.tgz", artifactFile: "/k.tgz" }, /artifactUrl and kafka-lab:artifactFile are both set/],
    ["a bad checksum", { artifactSha512: "abc" }, /artifactSha512 must be 128 hexadecimal digits/],
    ["a typo in a key", { adminCidr: ["1.2.3.4/32"] }, /kafka-lab:adminCidr is not a known key \(did you mean kafka-lab:adminCidrs\?\)/],
    ["no admin CIDRs on AWS", { adminCidrs: [] }, /adminCidrs is empty/],
    ["a VPC without its subnet", { vpcId: "vpc-0123456789abcdef0" }, /vpcId and kafka-lab:subnetId \(or kafka-lab:subnetIds\) go together/],
    ["a subnet outside the VPC", { vpcCidr: "10.1.0.0/16", subnetCidr: "10.2.1.0/24" }, /subnetCidr 10.2.1.0\/24 is not inside kafka-lab:vpcCidr 10.1.0.0\/16/],
    ["a public key without its private key", { sshPublicKey: "ssh-ed25519 AAAAC3Nza" }, /sshPublicKey is set but kafka-lab:sshPrivateKey is not/],
    ["a local-only key on AWS", { bridge: "br0" }, /kafka-lab:bridge applies only to target local/],
    ["an ECDSA key, which EC2 refuses", { sshPublicKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNh me@laptop" }, /sshPublicKey is a ecdsa-sha2-nistp256 key, which EC2 refuses; allowed: ssh-ed25519 or ssh-rsa/],
    ["a private client range on AWS", { clientCidrs: ["10.43.0.0/16"] }, /clientCidrs\[0\] "10.43.0.0\/16" is a private range, which never reaches the external listener on AWS.*allowed: public ranges/],
    ["a listener on the KRaft controllers' port", { kafkaPort: "9093" }, /kafka-lab:kafkaPort is 9093, the port of the KRaft controllers' listener \(fixed in the lab\); allowed: any other port .* e\.g\. the default 9092/],
    ["a listener on the ensemble's quorum port", { zookeeperPort: "2888" }, /kafka-lab:zookeeperPort is 2888, the port of the ZooKeeper ensemble's quorum \(fixed in the lab\)/],
    ["a listener on the ensemble's election port", { kafkaExternalPort: "3888" }, /kafka-lab:kafkaExternalPort is 3888, the port of the ZooKeeper ensemble's leader election/],
    ["a listener on the bench's stream port", { kafkaPort: "5201" }, /kafka-lab:kafkaPort is 5201, the port of the bench's TCP stream \(fixed in the lab\)/],
    ["a listener on SSH's port", { zookeeperPort: "22" }, /kafka-lab:zookeeperPort is 22, the port of SSH/],
    ["ZooKeeper opened to a range beside sasl_ssl", { externalSecurity: "sasl_ssl", zookeeperCidrs: ["10.42.0.0/16"] }, /kafka-lab:zookeeperCidrs opens ZooKeeper, which holds the SCRAM credentials and ACLs without authentication, to 10\.42\.0\.0\/16.*allowed with sasl_ssl: none/],
    ["a Local Zone among the zones", { brokers: "3", zones: ["eu-west-1-lhr-1a", "eu-west-1a", "eu-west-1b"] }, /kafka-lab:zones\[0\] "eu-west-1-lhr-1a" is not one of eu-west-1's own zones \(e\.g\. eu-west-1a\); Local Zones and Wavelength Zones are not used/],
    ["too few zones for the brokers", { brokers: "3", zones: ["eu-west-1a", "eu-west-1b"] }, /kafka-lab:zones lists 2 zone\(s\) for 3 brokers; allowed: at least 3/],
    ["a zone twice", { brokers: "3", zones: ["eu-west-1a", "eu-west-1a", "eu-west-1b"] }, /kafka-lab:zones names a zone twice/],
    ["zones beside existing subnets", { vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-0123456789abcdef0", zones: ["eu-west-1a"] }, /kafka-lab:zones and kafka-lab:subnetIds are both set/],
    ["more Elastic IPs than the quota", { brokers: "6", kafkaVersion: "4.4.0" }, /kafka-lab:brokers 6 needs 6 Elastic IPs \(one per broker\), more than the quota of 5 \(kafka-lab:elasticIpQuota; EC2's default is 5 per region, shared by every stack there\)/],
    ["an unknown data volume policy", { dataVolumeOnDestroy: "keep" }, /kafka-lab:dataVolumeOnDestroy is "keep"; allowed: protect, retain, delete/],
    ["an unknown artifact delivery", { artifactDelivery: "torrent" }, /kafka-lab:artifactDelivery is "torrent"; allowed: upload, download/],
];
for (const [what, extra, expected] of bad) {
    test(`rejects ${what}, naming the key and what is allowed`, (t) => {
        t.regex(problemsOf(() => aws(extra)), expected);
    });
}

test("a missing AWS region is a clear error with the command that fixes it", (t) => {
    t.regex(problemsOf(() => aws({}, "")), /aws:region is not set; set it with: pulumi config set aws:region eu-west-1 -s dev/);
});

test("every problem is reported at once", (t) => {
    const message = problemsOf(() => aws({ imageFamily: "x", kafkaPort: "0", kafkaVersion: "2.1.0" }));
    t.is(message.split("\n").filter((l) => l.startsWith("  - ")).length, 3);
    t.regex(message, /nothing was created/);
});

test("the schema's defaults, as Pulumi fills them in, are a valid config for every target", (t) => {
    const defaults = Object.fromEntries(Object.entries(CONFIG_KEYS).map(([k, spec]) => [k, spec.default]));
    const local = validateConfig(defaults, { stack: "local" });
    t.deepEqual(local.network.adminCidrs, ["10.77.0.1/32"], "an empty list means: the target decides");
    const onAws = validateConfig({ ...defaults, target: "aws", adminCidrs: ["203.0.113.0/24"] }, { stack: "dev", awsRegion: "eu-west-1" });
    t.is(onAws.kafka.artifact.kind, "url");
    t.regex(problemsOf(() => validateConfig({ ...defaults, target: "aws" }, { stack: "dev", awsRegion: "eu-west-1" })), /adminCidrs is empty/);
});

test("AWS: data volumes are protected on prod and deleted elsewhere by default; the Elastic IP quota can be raised", (t) => {
    t.is(validateConfig({ ...awsBase }, { stack: "prod", awsRegion: "eu-central-1" }).aws!.dataVolumeOnDestroy, "protect");
    t.is(aws({}).aws!.dataVolumeOnDestroy, "delete");
    t.is(aws({ dataVolumeOnDestroy: "retain" }).aws!.dataVolumeOnDestroy, "retain");
    t.is(aws({ brokers: "6", kafkaVersion: "4.4.0", elasticIpQuota: "10" }).aws!.elasticIpQuota, 10);
    t.deepEqual(aws({ brokers: "3", zones: ["eu-west-1c", "eu-west-1a", "eu-west-1b", "eu-west-1d"] }).aws!.zones, ["eu-west-1c", "eu-west-1a", "eu-west-1b"], "the first min(brokers, 3), in the given order");
    t.deepEqual(aws({ brokers: "1", zones: ["eu-west-1b", "eu-west-1a"] }).aws!.zones, ["eu-west-1b"]);
});

test("existing target: host keys as known_hosts lines, each for a machine of the lab", (t) => {
    const base = { target: "existing", brokerAddress: "10.0.0.1", producerAddress: "10.0.0.2", consumerAddress: "10.0.0.3", sshUser: "admin", sshPrivateKey: "(secret)", adminCidrs: ["10.0.0.0/24"] };
    const keys = ["broker ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB", "producer ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== root@producer", "consumer ecdsa-sha2-nistp256 AAAAE2VjZHNh"];
    t.deepEqual(validateConfig({ ...base, sshHostKeys: keys }, { stack: "existing" }).existing!.hostKeys, {
        broker: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB",
        producer: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==",
        consumer: "ecdsa-sha2-nistp256 AAAAE2VjZHNh",
    });
    t.regex(problemsOf(() => validateConfig({ ...base, sshHostKeys: ["broker1 ssh-ed25519 AAAA"] }, { stack: "existing" })), /sshHostKeys\[0\] names broker1, which is no machine of this lab \(allowed: broker, producer, consumer\)/);
    t.regex(problemsOf(() => validateConfig({ ...base, sshHostKeys: ["ssh-ed25519 AAAA"] }, { stack: "existing" })), /sshHostKeys\[0\] "ssh-ed25519 AAAA" is not "HOST TYPE KEY"/);
    t.regex(problemsOf(() => validateConfig({ ...base, sshHostKeys: [keys[0], keys[0]] }, { stack: "existing" })), /sshHostKeys lists broker twice/);
    t.regex(problemsOf(() => aws({ sshHostKeys: [keys[0]] })), /kafka-lab:sshHostKeys applies only to target existing/);
});

test("local target: the clients keep .12 and .13 whatever the number of brokers; brokers skip the addresses taken", (t) => {
    const local = (extra: RawConfig) => validateConfig(extra, { stack: "local", cacheDir: "/c" }).local!.addresses;
    t.deepEqual(local({}), { broker: "10.77.0.11", producer: "10.77.0.12", consumer: "10.77.0.13" }, "the guide's lab");
    t.deepEqual(local({ brokers: "3" }), { broker1: "10.77.0.21", broker2: "10.77.0.22", broker3: "10.77.0.23", producer: "10.77.0.12", consumer: "10.77.0.13" });
    // README's Cluster recipe on a stack file that names the one-broker lab's address.
    t.deepEqual(local({ brokers: "3", brokerAddress: "10.77.0.11" }), { broker1: "10.77.0.11", broker2: "10.77.0.14", broker3: "10.77.0.15", producer: "10.77.0.12", consumer: "10.77.0.13" });
    t.regex(problemsOf(() => local({ brokers: "3", brokerAddress: "10.77.0.253" })), /brokerAddress 10\.77\.0\.255 \(broker3\) is the bridge network's own or broadcast address/);
    t.regex(problemsOf(() => local({ brokers: "3", brokerAddress: "10.77.0.254" })), /brokerAddress 10\.77\.1\.0 \(broker3\) is not inside the bridge network 10\.77\.0\.0\/24/);
});

test("local target: addresses must sit on the bridge network and not collide", (t) => {
    t.regex(problemsOf(() => validateConfig({ brokerAddress: "10.78.0.11" }, { stack: "local" })), /brokerAddress 10.78.0.11 is not inside the bridge network 10.77.0.0\/24/);
    t.regex(problemsOf(() => validateConfig({ consumerAddress: "10.77.0.12" }, { stack: "local" })), /consumerAddress 10.77.0.12 is already used by the producer/);
    t.regex(problemsOf(() => validateConfig({ brokerAddress: "10.77.0.13" }, { stack: "local" })), /brokerAddress 10.77.0.13 is already used by the consumer/);
    t.regex(problemsOf(() => validateConfig({ imageFamily: "rocky-9" }, { stack: "local" })), /imageFamily applies only to target aws/);
});

test("Pulumi.yaml declares exactly the keys the config module knows, with the same types", (t) => {
    const project = parse(fs.readFileSync(path.join(REPO, "Pulumi.yaml"), "utf8"));
    t.is(project.stackConfigDir, "stacks");
    t.deepEqual(Object.keys(project.config).sort(), Object.keys(CONFIG_KEYS).sort());
    for (const [k, spec] of Object.entries(CONFIG_KEYS)) {
        t.is(project.config[k].type, spec.type, k);
        t.deepEqual(project.config[k].default, spec.default, k);
    }
});

test("dev, staging and prod are valid AWS stacks with growing machines", (t) => {
    const load = (stack: string) => {
        const file = parse(fs.readFileSync(path.join(REPO, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config as Record<string, unknown>;
        const raw: RawConfig = {};
        for (const [k, v] of Object.entries(file)) if (k.startsWith("kafka-lab:")) raw[k.slice("kafka-lab:".length)] = v;
        return validateConfig(raw, { stack, awsRegion: file["aws:region"] as string });
    };
    const [dev, staging, prod] = ["dev", "staging", "prod"].map(load);
    for (const c of [dev, staging, prod]) t.is(c.target, "aws");
    t.deepEqual([dev, staging, prod].map((c) => c.aws!.imageFamily), ["centos-stream-9", "rocky-9", "almalinux-9"]);
    t.true(dev.aws!.dataVolumeGiB < staging.aws!.dataVolumeGiB && staging.aws!.dataVolumeGiB < prod.aws!.dataVolumeGiB);
    t.notDeepEqual(dev.network.adminCidrs, prod.network.adminCidrs);
});

const keyFile = path.join(tmpDir("kafka-lab-key-"), "id");
fs.writeFileSync(keyFile, "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
const existingBase: RawConfig = {
    target: "existing",
    brokerAddress: "192.168.56.11",
    producerAddress: "192.168.56.12",
    consumerAddress: "kafka-consumer.lab.example",
    brokerPublicAddress: "203.0.113.7",
    sshUser: "admin",
    sshPrivateKeyPath: keyFile,
    adminCidrs: ["192.168.56.1/32"],
};
const existing = (extra: RawConfig) => validateConfig({ ...existingBase, ...extra }, { stack: "existing" });

test("existing target: three machines by address or host name, the public address defaulting to the lab one", (t) => {
    const c = existing({});
    t.deepEqual(c.existing!.hosts, {
        broker: { address: "192.168.56.11", publicAddress: "203.0.113.7" },
        producer: { address: "192.168.56.12", publicAddress: "192.168.56.12" },
        consumer: { address: "kafka-consumer.lab.example", publicAddress: "kafka-consumer.lab.example" },
    });
    t.is(c.existing!.sshUser, "admin");
    t.is(c.existing!.sshPort, 22);
    t.false(c.existing!.purgeDataOnDestroy);
    t.is(c.kafka.artifact.kind, "url", "existing machines download Kafka like cloud ones");
    t.true(existing({ purgeDataOnDestroy: "true" }).existing!.purgeDataOnDestroy);
});

const badExisting: [string, RawConfig, RegExp][] = [
    ["a missing role", { producerAddress: "" }, /kafka-lab:producerAddress is not set; the existing target needs the address of each of broker, producer and consumer/],
    ["a malformed address", { brokerAddress: "192.168.56.300" }, /kafka-lab:brokerAddress "192.168.56.300" is neither an IPv4 address nor a host name/],
    ["two roles on one address", { consumerAddress: "192.168.56.12" }, /the machines need different addresses/],
    ["a cluster without its brokers' addresses", { brokers: "3" }, /kafka-lab:brokerAddresses lists 0 address\(es\) for 3 brokers; allowed: one per broker, in order/],
    ["a rack on some brokers but not all", { brokers: "3", brokerAddress: "", brokerAddresses: ["192.168.56.21", "192.168.56.22", "192.168.56.23"], racks: ["r1", "r2"] }, /kafka-lab:racks names 2 rack\(s\) for 3 broker\(s\); allowed: a rack for every broker, in order, or none/],
    ["no user", { sshUser: "" }, /kafka-lab:sshUser is not set/],
    ["no key", { sshPrivateKeyPath: "" }, /no SSH key: set kafka-lab:sshPrivateKeyPath to a key file, or kafka-lab:sshPrivateKey as a secret/],
    ["an unreadable key", { sshPrivateKeyPath: "/nonexistent/key" }, /kafka-lab:sshPrivateKeyPath \/nonexistent\/key cannot be read: ENOENT/],
    ["a file that is not a key", { sshPrivateKeyPath: path.join(REPO, "package.json") }, /is not a private key file/],
    ["no admin CIDRs", { adminCidrs: [] }, /adminCidrs is empty/],
    ["a key of the local target", { bridge: "br9" }, /kafka-lab:bridge applies only to target local, but target is existing/],
    ["a key of the AWS target", { imageFamily: "rocky-9" }, /kafka-lab:imageFamily applies only to target aws, but target is existing/],
    ["a port out of range", { sshPort: "0" }, /kafka-lab:sshPort is "0"; allowed: a TCP port/],
];
for (const [what, extra, expected] of badExisting) {
    test(`existing target rejects ${what}`, (t) => {
        t.regex(problemsOf(() => existing(extra)), expected);
    });
}

test("keys of the existing target are refused elsewhere", (t) => {
    t.regex(problemsOf(() => aws({ sshUser: "admin" })), /kafka-lab:sshUser applies only to target existing, but target is aws/);
});

test("a cluster: broker1..N, KRaft controllers or a ZooKeeper ensemble on the first three, replication to match", (t) => {
    const kraft = validateConfig({ brokers: "4", kafkaVersion: "4.4.0" }, { stack: "local", cacheDir: "/c" });
    t.is(kraft.topology.metadata, "kraft", "4.x means KRaft");
    t.deepEqual(kraft.topology.hosts.map((h) => [h.name, h.roles.join("+"), h.nodeId ?? null]), [
        ["broker1", "broker+controller", 1],
        ["broker2", "broker+controller", 2],
        ["broker3", "broker+controller", 3],
        ["broker4", "broker", 4],
        ["producer", "producer", null],
        ["consumer", "consumer+monitoring", null],
    ]);
    t.deepEqual([kraft.topology.replicationFactor, kraft.topology.minInsyncReplicas], [3, 2]);
    t.deepEqual(kraft.local!.addresses, { broker1: "10.77.0.21", broker2: "10.77.0.22", broker3: "10.77.0.23", broker4: "10.77.0.24", producer: "10.77.0.12", consumer: "10.77.0.13" });

    const ensemble = validateConfig({ brokers: "3" }, { stack: "local", cacheDir: "/c" });
    t.is(ensemble.topology.metadata, "zookeeper", "3.9 keeps the guide's ZooKeeper mode");
    t.deepEqual(ensemble.topology.zookeepers.map((z) => [z.name, z.zookeeperId]), [["broker1", 1], ["broker2", 2], ["broker3", 3]]);

    const two = validateConfig({ brokers: "2", racks: ["a", "b"] }, { stack: "local", cacheDir: "/c" });
    t.deepEqual([two.topology.zookeepers.length, two.topology.replicationFactor, two.topology.minInsyncReplicas], [1, 2, 1]);
    t.deepEqual(two.topology.brokers.map((b) => b.rack), ["a", "b"]);

    const one = validateConfig({}, { stack: "local", cacheDir: "/c" });
    t.deepEqual(one.topology.hosts.map((h) => h.name), ["broker", "producer", "consumer"], "the guide's lab is the cluster with one broker");
    t.deepEqual([one.topology.replicationFactor, one.topology.minInsyncReplicas], [1, 1]);
});

test("a cluster the local host cannot hold is refused, naming the key and what the host has", (t) => {
    const message = problemsOf(() => validateConfig({ brokers: "9", brokerHeap: "2g" }, { stack: "local", cacheDir: "/c", hostMemoryBytes: 8 * 1024 ** 3 }));
    t.regex(message, /kafka-lab:brokers 9 needs about \d+ MiB .* more than half of this host's 8192 MiB; allowed here: fewer brokers or smaller heaps/);
    t.notThrows(() => validateConfig({ brokers: "3", brokerHeap: "512m" }, { stack: "local", cacheDir: "/c", hostMemoryBytes: 16 * 1024 ** 3 }));
});

test("existing target: a cluster's brokers are listed in order", (t) => {
    const c = existing({ brokers: "3", brokerAddress: "", brokerPublicAddress: "", brokerAddresses: ["192.168.56.21", "192.168.56.22", "192.168.56.23"], racks: ["r1", "r2", "r3"] });
    t.deepEqual(Object.keys(c.existing!.hosts), ["broker1", "broker2", "broker3", "producer", "consumer"]);
    t.deepEqual(c.existing!.hosts.broker3, { address: "192.168.56.23", publicAddress: "192.168.56.23" });
    t.deepEqual(c.topology.brokers.map((b) => b.rack), ["r1", "r2", "r3"]);
});

test("internalSecurity: mtls by default on staging and prod on KRaft, plaintext elsewhere; allowed in ZooKeeper mode and through a migration; another value is refused, naming what is allowed", (t) => {
    const kraft = { ...awsBase, brokers: "3", kafkaVersion: "4.4.0" };
    t.is(validateConfig(kraft, { stack: "dev", awsRegion: "eu-west-1" }).security.internal, "plaintext");
    t.is(validateConfig(kraft, { stack: "staging", awsRegion: "eu-west-1" }).security.internal, "mtls");
    t.is(validateConfig(kraft, { stack: "prod", awsRegion: "eu-west-1" }).security.internal, "mtls");
    t.is(validateConfig({ ...kraft, internalSecurity: "plaintext" }, { stack: "prod", awsRegion: "eu-west-1" }).security.internal, "plaintext");
    t.is(validateConfig({ adminCidrs: "[]", internalSecurity: "mtls", kafkaVersion: "4.4.0" }, { stack: "local", cacheDir: "/c" }).security.internal, "mtls", "allowed on every target");
    t.is(validateConfig({ ...awsBase, brokers: "3" }, { stack: "staging", awsRegion: "eu-west-1" }).security.internal, "plaintext", "ZooKeeper mode when asked only (a running stack keeps what it was deployed with)");
    t.is(aws({ internalSecurity: "mtls" }).security.internal, "mtls", "the guide's one broker with ZooKeeper");
    const migrating = { ...awsBase, brokers: "3", kafkaVersion: "3.9.2", kraftMigration: "dual-write" };
    t.is(validateConfig(migrating, { stack: "prod", awsRegion: "eu-west-1" }).security.internal, "plaintext", "during a migration: plaintext");
    t.regex(problemsOf(() => aws({ internalSecurity: "tls" })), /kafka-lab:internalSecurity is "tls"; allowed: plaintext, mtls/);
    for (const phase of ["dual-write", "rollback", "finalize"]) {
        t.is(validateConfig({ ...migrating, kraftMigration: phase, internalSecurity: "mtls" }, { stack: "prod", awsRegion: "eu-west-1" }).security.internal, "mtls", `mtls through the migration (${phase})`);
    }
});

test("externalSecurity: sasl_ssl by default on prod only; another value or generation is refused naming what is allowed", (t) => {
    t.is(aws({}).security.external, "plaintext");
    t.is(validateConfig(awsBase, { stack: "prod", awsRegion: "eu-west-1" }).security.external, "sasl_ssl");
    t.is(aws({ externalSecurity: "sasl_ssl" }).security.external, "sasl_ssl");
    t.is(validateConfig({ ...awsBase, externalSecurity: "plaintext" }, { stack: "prod", awsRegion: "eu-west-1" }).security.external, "plaintext");
    t.regex(problemsOf(() => aws({ externalSecurity: "ssl" })), /kafka-lab:externalSecurity is "ssl"; allowed: plaintext, sasl_ssl/);
    t.regex(problemsOf(() => aws({ credentialsGeneration: "0" })), /kafka-lab:credentialsGeneration is "0"; allowed: a generation number/);
    // The client user may use the configured topic, the guide's group, and the smoke test's and bench's own.
    const c = aws({ topic: "orders" });
    t.deepEqual(c.security.clientTopics, ["orders"]);
    t.deepEqual(c.security.clientGroups, ["my-group"]);
    t.deepEqual(c.security.clientPrefixes, ["smoke", "bench", "fault"]);
});

test("local target: the default broker heap is sized from the host's memory; a heap set in config is taken as given", (t) => {
    const on = (gib: number, raw: RawConfig) => validateConfig(raw, { stack: "local", cacheDir: "/c", hostMemoryBytes: gib * 1024 ** 3 });
    t.is(on(24, { brokers: "3" }).kafka.brokerHeap, "1g", "three brokers fit this project's 24 GiB host at the default");
    t.is(on(24, { brokers: "9" }).kafka.brokerHeap, "512m", "nine share half of it");
    t.is(on(12, { brokers: "3" }).kafka.brokerHeap, "384m", "beside a three-node ZooKeeper ensemble");
    t.is(on(8, { brokers: "3", kafkaVersion: "4.4.0" }).kafka.brokerHeap, "640m", "KRaft: no ZooKeeper to make room for");
    t.is(on(24, { brokers: "5", brokerHeap: "768m" }).kafka.brokerHeap, "768m", "as set");
    t.regex(problemsOf(() => on(24, { brokers: "9", brokerHeap: "768m" })), /kafka-lab:brokers 9 needs about 14080 MiB \(kafka-lab:brokerHeap 768m per broker/, "and refused when it cannot fit");
    // Too small a host even at 256m per broker: refused, naming the key.
    t.regex(problemsOf(() => on(4, { brokers: "9" })), /kafka-lab:brokers 9 needs about \d+ MiB/);
});
