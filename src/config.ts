// The one place that reads stack config. Everything else receives a typed, validated LabConfig.
// Validation is a pure function over plain values so that bad input is rejected (with every
// problem listed at once) before a single resource is registered, and so that tests can call it.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { isInside, isNetworkOrBroadcast, isPrivateCidr, nextAddress, parseCidr, parseInterfaceAddress, subnetInside } from "./net";
import { BENCH_STREAM_PORT, CONTROLLER_JMX_PORT, CONTROLLER_PORT, ControllerMode, KRAFT_MIGRATIONS, KraftMigration, MAX_BROKERS, MetadataMode, Topology, ZOOKEEPER_PEER_PORTS, brokerNames, labTopology } from "./topology";

export const PROJECT = "kafka-lab";
export const TARGETS = ["local", "aws", "existing"] as const;
export type Target = (typeof TARGETS)[number];

/** AWS images per OS family: looked up by owner and name pattern, each with its own SSH user. */
export const IMAGE_FAMILIES = {
    "centos-stream-9": { owner: "125523088429", namePattern: "CentOS Stream 9 x86_64 *", sshUser: "ec2-user" },
    "rocky-9": { owner: "792107900819", namePattern: "Rocky-9-EC2-Base-9.*x86_64*", sshUser: "rocky" },
    "almalinux-9": { owner: "764336703387", namePattern: "AlmaLinux OS 9.*x86_64", sshUser: "ec2-user" },
} as const;
export type ImageFamily = keyof typeof IMAGE_FAMILIES;

/** Memory of the instance types we know, to refuse a heap that cannot fit. Unknown types are not checked. */
export const INSTANCE_MEMORY_MIB: Record<string, number> = {
    "t3.micro": 1024, "t3.small": 2048, "t3.medium": 4096, "t3.large": 8192, "t3.xlarge": 16384, "t3.2xlarge": 32768,
    "t3a.micro": 1024, "t3a.small": 2048, "t3a.medium": 4096, "t3a.large": 8192, "t3a.xlarge": 16384,
    "m5.large": 8192, "m5.xlarge": 16384, "m5.2xlarge": 32768,
    "m6i.large": 8192, "m6i.xlarge": 16384, "m6i.2xlarge": 32768,
    "m7i.large": 8192, "m7i.xlarge": 16384, "r6i.large": 16384, "r6i.xlarge": 32768,
};

export interface TopicConfig {
    name: string;
    partitions: number;
    retentionHours: number;
}

export interface KafkaConfig {
    version: string;
    scalaVersion: "2.12" | "2.13";
    /**
     * Where the Kafka tarball comes from: a URL, or a file on the deploying machine. A URL is fetched once
     * by the deploying machine and uploaded (delivery "upload") or fetched by every host ("download").
     */
    artifact: { kind: "url"; url: string; sha512?: string; delivery: ArtifactDelivery; cacheDir: string } | { kind: "file"; path: string; sha512?: string };
    brokerHeap: string;
    zookeeperHeap: string;
    /** KRaft, dedicated controllers: each controller process's heap. */
    controllerHeap: string;
    internalPort: number;
    externalPort: number;
    zookeeperPort: number;
    topic: TopicConfig;
}

export const ARTIFACT_DELIVERIES = ["upload", "download"] as const;
export type ArtifactDelivery = (typeof ARTIFACT_DELIVERIES)[number];

export interface NetworkConfig {
    /** Who may SSH into the machines. */
    adminCidrs: string[];
    /** Who may reach the broker's external listener. */
    clientCidrs: string[];
    /** Extra private ranges (besides the lab's brokers) that may reach ZooKeeper; plaintext stacks only. */
    zookeeperCidrs: string[];
}

export interface AwsTargetConfig {
    region: string;
    imageFamily: ImageFamily;
    brokerInstanceType: string;
    clientInstanceType: string;
    dataVolumeGiB: number;
    vpcCidr: string;
    subnetCidr: string;
    vpcId?: string;
    /** Existing public subnets, one per zone: brokers are spread over them round-robin. */
    subnetIds: string[];
    /** When given, the stack uses this key pair instead of generating one; sshPrivateKey must then be set. */
    sshPublicKey?: string;
    /** Zones (by name) the brokers spread over; empty: chosen at the first deploy and kept (src/targets/aws.ts). */
    zones: string[];
    /** The account's Elastic IP quota in the region: a stack needing more is refused. */
    elasticIpQuota: number;
    /** What `pulumi destroy` (or a replacement) may do to the brokers' data volumes. */
    dataVolumeOnDestroy: DataVolumeOnDestroy;
}

export const DATA_VOLUME_ON_DESTROY = ["protect", "retain", "delete"] as const;
export type DataVolumeOnDestroy = (typeof DATA_VOLUME_ON_DESTROY)[number];

export interface LocalTargetConfig {
    bridge: string;
    /** The host's own address on the lab bridge, with prefix, e.g. 10.77.0.1/24. */
    bridgeAddress: string;
    /** Each host's address on the bridge, by host name. */
    addresses: Record<string, string>;
    /** Prefix of the machine names on the host, so that two labs never collide. */
    machinePrefix: string;
    /** Size of the broker's data volume, e.g. 2G (a loop device in the local lab). */
    dataVolumeSize: string;
    /** Where the machines' state and the stack's SSH key live on the host. */
    stateDir: string;
    /** The Kafka tarball the lab builds from Maven Central, uploaded to each machine. */
    cacheDir: string;
}

export interface ExistingHost {
    /** Address inside the lab: what /etc/hosts lists. */
    address: string;
    /** Address for SSH and outside clients; the lab address when not given. */
    publicAddress: string;
}

export interface ExistingTargetConfig {
    /** Each host's addresses, by host name. */
    hosts: Record<string, ExistingHost>;
    sshUser: string;
    sshPort: number;
    /** A key file to read; otherwise the secret sshPrivateKey. */
    sshPrivateKeyPath?: string;
    purgeDataOnDestroy: boolean;
    /** Each machine's SSH host key (`ssh-ed25519 AAAA...`), by host name; a machine without one is refused. */
    hostKeys: Record<string, string>;
}

export const EXTERNAL_SECURITY = ["plaintext", "sasl_ssl"] as const;
export type ExternalSecurity = (typeof EXTERNAL_SECURITY)[number];
export const INTERNAL_SECURITY = ["plaintext", "mtls"] as const;
export type InternalSecurity = (typeof INTERNAL_SECURITY)[number];
/** A CA rotation's phase (one pulumi up each): the new CA trusted beside the old, then every certificate from it; none ends it. */
export const CA_ROTATION = ["none", "trust", "reissue"] as const;
export type CaRotation = (typeof CA_ROTATION)[number];

/** How outside clients reach the brokers, and how the lab's own machines reach them and each other. */
export interface SecurityConfig {
    external: ExternalSecurity;
    /** plaintext: the internal and controller listeners open to the lab's machines; mtls: TLS, each side with a certificate of the stack's CA. */
    internal: InternalSecurity;
    /** Changing it issues new credentials (CA, certificates, passwords) and rolls the brokers. */
    generation: number;
    /** Changing it issues new broker certificates only (same CA, same passwords) and rolls the brokers. */
    certificatesGeneration: number;
    /** A new generation's CA rolled in without a split: trusted beside the old (trust), then issuing (reissue), then alone (none). */
    caRotation: CaRotation;
    /**
     * The lab's identities: the admin (provisioning: topics, ACLs, SCRAM users) and the clients' user, whose
     * ACLs cover the lab's topics and groups; outside by SCRAM (sasl_ssl), inside by certificate (mtls). With
     * mtls the nodes share one more, the only super user.
     */
    adminUser: string;
    clientUser: string;
    nodeUser: string;
    /** What the client user may use: these topics and groups, literally, and every one with these prefixes. */
    clientTopics: string[];
    clientGroups: string[];
    clientPrefixes: string[];
}

export interface LabConfig {
    stack: string;
    target: Target;
    /** Which hosts exist and what each runs: computed once from brokers, metadata and racks. */
    topology: Topology;
    network: NetworkConfig;
    kafka: KafkaConfig;
    aws?: AwsTargetConfig;
    local?: LocalTargetConfig;
    existing?: ExistingTargetConfig;
    security: SecurityConfig;
    /** Allow a change that rebuilds the cluster (see src/transitions.ts). */
    rebuildCluster: boolean;
    /** Data directory on the broker: a dedicated volume is mounted here. Never under /tmp. */
    dataDir: string;
    /** The deploying machine's cache: downloads it uploads to the machines (the JMX exporter agent, a tarball). */
    cacheDir: string;
}

type KeyType = "string" | "integer" | "boolean" | "array";
interface KeySpec {
    type: KeyType;
    /** The default when the key is not set; "" or [] where the default depends on the target. */
    default: string | number | boolean | string[];
    description: string;
}

/** Every key of the kafka-lab namespace. Pulumi.yaml declares the same schema (a test keeps them equal). */
export const CONFIG_KEYS: Record<string, KeySpec> = {
    target: { type: "string", default: "local", description: "Where the machines come from: local (default), aws, or existing (three machines you have)." },
    adminCidrs: { type: "array", default: [], description: "CIDRs allowed to SSH (port 22) into the machines." },
    clientCidrs: { type: "array", default: [], description: "CIDRs allowed to reach the broker's external Kafka listener." },
    zookeeperCidrs: { type: "array", default: [], description: "Extra private CIDRs allowed to reach ZooKeeper (never the internet)." },
    kafkaVersion: { type: "string", default: "3.9.2", description: "Kafka version: a 3.x release (ZooKeeper or KRaft) or a 4.x release (KRaft only). Default 3.9.2." },
    scalaVersion: { type: "string", default: "2.13", description: "Scala build of Kafka: 2.13 (default) or 2.12 (3.x only)." },
    brokers: { type: "integer", default: 1, description: "How many broker machines: 1 (default, the guide's lab: broker, producer, consumer) to 9 (broker1..brokerN)." },
    metadata: { type: "string", default: "", description: "zookeeper or kraft. Default: zookeeper on Kafka 3.x, kraft on 4.x (which has no ZooKeeper mode)." },
    kraftMigration: { type: "string", default: "none", description: "ZooKeeper to KRaft in place (Kafka 3.9.x), one phase per pulumi up: none (default), dual-write (dedicated controllers take the metadata over, the brokers become KRaft brokers, ZooKeeper still written), finalize (ZooKeeper left and removed; keep it set afterwards), or rollback (from dual-write: back to ZooKeeper mode)." },
    controllers: { type: "string", default: "", description: "KRaft: combined (the first min(brokers, 3) brokers are controllers too, in the same process; the default) or dedicated (a controller process of its own on each of those machines: own unit, port 9093, data dir and node id 3001..3003; the default, and the only choice, during a kraftMigration)." },
    racks: { type: "array", default: [], description: "local and existing: broker.rack of each broker, one per broker, or none. AWS: the zone id, always." },
    rebuildCluster: { type: "boolean", default: false, description: "Allow a change that rebuilds the cluster (fewer brokers, another controller set or ZooKeeper ensemble, ZooKeeper to KRaft): its data is lost." },
    internalSecurity: { type: "string", default: "", description: "The internal and controller listeners: plaintext (the guide's lab), or mtls (TLS with a certificate of the stack's CA on both sides; principals from the certificates; ACLs). Default: mtls on the staging and prod stacks on KRaft, plaintext elsewhere (ZooKeeper mode, and a kraftMigration, have mtls when asked: a running cluster cannot switch)." },
    externalSecurity: { type: "string", default: "", description: "The external listener: plaintext, or sasl_ssl (TLS with the stack's own CA, SASL/SCRAM-SHA-512 users, ACLs). Default: sasl_ssl on the prod stack, plaintext elsewhere." },
    credentialsGeneration: { type: "integer", default: 1, description: "sasl_ssl or mtls: change it (add one) to issue a new CA, certificates and SCRAM passwords; the brokers roll. With mtls on a running cluster, through caRotation. Default 1." },
    certificatesGeneration: { type: "integer", default: 1, description: "sasl_ssl or mtls: change it (add one) to renew the certificates only (same CA, same passwords: clients keep working); the brokers roll. Default 1." },
    caRotation: { type: "string", default: "none", description: "A new credentialsGeneration's CA rolled in without a split, one phase per pulumi up: trust (the new CA made and trusted beside the old; certificates unchanged), reissue (every certificate and password from the new CA; both trusted), then none (the default: the old CA no longer trusted, and deleted). Required with mtls on a running cluster." },
    artifactUrl: { type: "string", default: "", description: "URL of the Kafka tarball. Default: the Apache archive." },
    artifactFile: { type: "string", default: "", description: "Local Kafka tarball uploaded to each machine instead of a URL." },
    artifactSha512: { type: "string", default: "", description: "Expected SHA-512 of the tarball. Default: pinned in the program for the default release, else the .sha512 file beside it." },
    artifactDelivery: { type: "string", default: "", description: "aws and existing: upload (the deploying machine fetches the tarball once and uploads it to every machine; default on aws) or download (every machine fetches it; default on existing)." },
    brokerHeap: { type: "string", default: "1g", description: "Kafka broker JVM heap, e.g. 1g or 512m. Default 1g." },
    zookeeperHeap: { type: "string", default: "512m", description: "ZooKeeper JVM heap, e.g. 512m. Default 512m." },
    controllerHeap: { type: "string", default: "512m", description: "KRaft with dedicated controllers: each controller process's JVM heap, e.g. 512m. Default 512m." },
    kafkaPort: { type: "integer", default: 9092, description: "Kafka listener inside the lab (advertised as the broker's hostname). Default 9092." },
    kafkaExternalPort: { type: "integer", default: 9094, description: "Kafka listener for clients outside the lab (advertised as the public address). Default 9094." },
    zookeeperPort: { type: "integer", default: 2181, description: "ZooKeeper client port. Default 2181." },
    topic: { type: "string", default: "test", description: "The lab's default topic. Default test." },
    topicPartitions: { type: "integer", default: 3, description: "Partitions of the default topic. Default 3." },
    topicRetentionHours: { type: "integer", default: 168, description: "Retention of the default topic in hours. Default 168 (7 days)." },
    imageFamily: { type: "string", default: "centos-stream-9", description: "AWS: OS image family: centos-stream-9 (default), rocky-9 or almalinux-9." },
    brokerInstanceType: { type: "string", default: "t3.medium", description: "AWS: instance type of the broker. Default t3.medium." },
    clientInstanceType: { type: "string", default: "t3.small", description: "AWS: instance type of producer and consumer. Default t3.small." },
    dataVolumeGiB: { type: "integer", default: 20, description: "AWS: size of the broker's Kafka data volume in GiB. Default 20." },
    vpcCidr: { type: "string", default: "10.42.0.0/16", description: "AWS: CIDR of the VPC the stack creates. Default 10.42.0.0/16." },
    subnetCidr: { type: "string", default: "10.42.1.0/24", description: "AWS: CIDR of the public subnet the stack creates. Default 10.42.1.0/24." },
    zones: { type: "array", default: [], description: "AWS: the zones the brokers spread over, one per zone up to three (e.g. [eu-central-1a, eu-central-1b, eu-central-1c]). Default: chosen at the first deploy and kept." },
    elasticIpQuota: { type: "integer", default: 5, description: "AWS: your account's Elastic IP quota in the region (every broker takes one). Default 5, EC2's default quota." },
    dataVolumeOnDestroy: { type: "string", default: "", description: "AWS: what pulumi destroy does to the brokers' data volumes: protect (refuse; default on prod), retain (leave them in the account) or delete (default elsewhere)." },
    vpcId: { type: "string", default: "", description: "AWS: use this existing VPC instead of creating one (needs subnetId)." },
    subnetId: { type: "string", default: "", description: "AWS: use this existing public subnet (needs vpcId)." },
    subnetIds: { type: "array", default: [], description: "AWS: existing public subnets, one per zone (up to three), to spread brokers over (needs vpcId)." },
    sshPublicKey: { type: "string", default: "", description: "AWS: an OpenSSH public key to use instead of a generated key pair (needs sshPrivateKey)." },
    // Not marked secret in the schema: Pulumi would then demand it in every stack. It is read as a secret.
    sshPrivateKey: { type: "string", default: "", description: "The private key matching sshPublicKey (set it with --secret)." },
    bridge: { type: "string", default: "kl-br0", description: "local: name of the lab bridge on the host. Default kl-br0." },
    bridgeAddress: { type: "string", default: "10.77.0.1/24", description: "local: the host's address on the bridge, with prefix. Default 10.77.0.1/24." },
    brokerAddress: { type: "string", default: "", description: "local: the broker's address on the bridge (default 10.77.0.11); existing: the broker's address inside the lab (required)." },
    producerAddress: { type: "string", default: "", description: "local: the producer's address on the bridge (default 10.77.0.12); existing: the producer's address (required)." },
    consumerAddress: { type: "string", default: "", description: "local: the consumer's address on the bridge (default 10.77.0.13); existing: the consumer's address (required)." },
    brokerPublicAddress: { type: "string", default: "", description: "existing: the broker's address for SSH and outside clients, when not its lab address." },
    brokerAddresses: { type: "array", default: [], description: "existing, with brokers > 1: the brokers' addresses inside the lab, in order (broker1 first)." },
    brokerPublicAddresses: { type: "array", default: [], description: "existing, with brokers > 1: the brokers' addresses for SSH and outside clients, when not their lab addresses." },
    producerPublicAddress: { type: "string", default: "", description: "existing: the producer's address for SSH, when not its lab address." },
    consumerPublicAddress: { type: "string", default: "", description: "existing: the consumer's address for SSH, when not its lab address." },
    sshUser: { type: "string", default: "", description: "existing: the SSH user on the machines (root, or a user with passwordless sudo)." },
    sshPort: { type: "integer", default: 22, description: "existing: the SSH port of the machines. Default 22." },
    sshPrivateKeyPath: { type: "string", default: "", description: "existing: a private key file for SSH (or set sshPrivateKey as a secret)." },
    purgeDataOnDestroy: { type: "boolean", default: false, description: "existing: `pulumi destroy` also deletes Kafka's data. Default false: the data is kept." },
    sshHostKeys: { type: "array", default: [], description: "existing: each machine's SSH host key, one `HOST TYPE KEY` line per machine (e.g. \"broker ssh-ed25519 AAAA...\"); a machine without one is refused with the key it shows." },
    dataVolumeSize: { type: "string", default: "2G", description: "local: size of the broker's data volume, e.g. 2G. Default 2G." },
};

export const DEFAULT_KAFKA_VERSION = CONFIG_KEYS.kafkaVersion.default as string;
/** The newest 4.x release the local lab builds from Maven Central (scripts/local/kafka-dist.sh). */
export const KAFKA_4_VERSION = "4.4.0";

/**
 * An error the program stops on before anything is created: a RunError, which Pulumi shows as its message
 * alone. Its stack is the message too: the SDK formats the stack of every program error with util.inspect
 * even when it does not show it, which took 20-25 s here for a config error (it came in 26 s, not 4).
 */
export class LabError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = new.target.name;
        this.stack = `${this.name}: ${message}`;
    }
}

export class ConfigError extends LabError {
    constructor(readonly problems: string[]) {
        super(`Invalid kafka-lab stack config (nothing was created):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/** Plain values as found in stack config: strings, or arrays already parsed. */
export type RawConfig = Record<string, unknown>;

export interface ValidateOptions {
    stack: string;
    /** aws:region, read from the AWS provider's own namespace. */
    awsRegion?: string;
    /** Where the local target keeps its machines and key (default /var/lib/kafka-lab/<stack>). */
    localStateRoot?: string;
    /** Where the lab's build caches live (default $KAFKA_LAB_CACHE or /var/cache/kafka-lab). */
    cacheDir?: string;
    /** The deploying host's memory (default: this machine's), which the local target's machines share. */
    hostMemoryBytes?: number;
}

/** Turns raw stack config into a LabConfig, or throws a ConfigError listing every problem found. */
export function validateConfig(raw: RawConfig, opts: ValidateOptions): LabConfig {
    const problems: string[] = [];
    const key = (k: string) => `${PROJECT}:${k}`;

    for (const k of Object.keys(raw)) {
        if (!(k in CONFIG_KEYS)) {
            const near = Object.keys(CONFIG_KEYS).find((c) => c.toLowerCase().startsWith(k.toLowerCase().slice(0, 5)));
            problems.push(`${key(k)} is not a known key${near ? ` (did you mean ${key(near)}?)` : ""}; known keys are listed in Pulumi.yaml`);
        }
    }

    const dflt = (k: string) => CONFIG_KEYS[k].default;
    const isSet = (k: string) => raw[k] !== undefined && raw[k] !== null && raw[k] !== "" && !(Array.isArray(raw[k]) && (raw[k] as unknown[]).length === 0);
    const str = (k: string, dflt = String(CONFIG_KEYS[k].default)): string => {
        const v = raw[k];
        if (v === undefined || v === null || v === "") return dflt;
        if (typeof v !== "string") {
            problems.push(`${key(k)} must be a string, got ${JSON.stringify(v)}`);
            return dflt;
        }
        return v.trim();
    };
    const optStr = (k: string): string | undefined => {
        const v = str(k, "");
        return v === "" ? undefined : v;
    };
    const int = (k: string, min: number, max: number, what: string, dflt = Number(CONFIG_KEYS[k].default)): number => {
        const v = raw[k];
        if (v === undefined || v === null || v === "") return dflt;
        const s = String(v).trim();
        if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) {
            problems.push(`${key(k)} is ${JSON.stringify(v)}; allowed: ${what}, a whole number from ${min} to ${max}`);
            return dflt;
        }
        return Number(s);
    };
    const oneOf = <T extends string>(k: string, allowed: readonly T[], dflt = CONFIG_KEYS[k].default as T): T => {
        const v = str(k, dflt);
        if (!(allowed as readonly string[]).includes(v)) {
            problems.push(`${key(k)} is "${v}"; allowed: ${allowed.join(", ")}`);
            return dflt;
        }
        return v as T;
    };
    /** A list key's items (JSON, or comma-separated on the command line); undefined when not set (or empty). */
    const rawList = (k: string, what: string): unknown[] | undefined => {
        let v = raw[k];
        if (!isSet(k)) return undefined;
        if (typeof v === "string") {
            const text = v;
            try {
                v = JSON.parse(text);
            } catch {
                v = text.split(",").map((s) => s.trim()).filter(Boolean);
            }
        }
        if (!Array.isArray(v)) {
            problems.push(`${key(k)} must be a list of ${what}, got ${JSON.stringify(v)}`);
            return undefined;
        }
        return v;
    };
    /** The CIDRs of a list key; undefined when it is not set (or empty), so that the target can decide. */
    const cidrList = (k: string): string[] | undefined => {
        const v = rawList(k, 'CIDRs such as ["203.0.113.0/24"]');
        if (v === undefined) return undefined;
        const out: string[] = [];
        v.forEach((c, i) => {
            const err = typeof c === "string" ? parseCidr(c).error : "it is not a string";
            if (err) problems.push(`${key(k)}[${i}] ${JSON.stringify(c)} is not a valid IPv4 CIDR: ${err} (expected a.b.c.d/n, e.g. 203.0.113.0/24)`);
            else out.push(c as string);
        });
        return out;
    };
    /** A list of strings; undefined when not set. */
    const strList = (k: string): string[] | undefined => {
        const v = rawList(k, 'strings such as ["a", "b"]');
        if (v === undefined) return undefined;
        if (v.some((x) => typeof x !== "string")) {
            problems.push(`${key(k)} must be a list of strings such as ["a", "b"], got ${JSON.stringify(v)}`);
            return undefined;
        }
        return (v as string[]).map((x) => x.trim());
    };

    const target = oneOf<Target>("target", TARGETS);

    // Ports
    const internalPort = int("kafkaPort", 1, 65535, "a TCP port");
    const externalPort = int("kafkaExternalPort", 1, 65535, "a TCP port");
    const zookeeperPort = int("zookeeperPort", 1, 65535, "a TCP port");
    const ports = { kafkaPort: internalPort, kafkaExternalPort: externalPort, zookeeperPort };
    // The ports the lab fixes: a configured port must take none of them.
    const fixedPorts = new Map<number, string>([
        [22, "SSH"],
        [CONTROLLER_PORT, "the KRaft controllers' listener"],
        [CONTROLLER_JMX_PORT, "a dedicated controller's JMX (on its machine's loopback)"],
        [ZOOKEEPER_PEER_PORTS[0], "the ZooKeeper ensemble's quorum"],
        [ZOOKEEPER_PEER_PORTS[1], "the ZooKeeper ensemble's leader election"],
        [BENCH_STREAM_PORT, "the bench's TCP stream"],
    ]);
    const seen = new Map<number, string>();
    for (const [k, p] of Object.entries(ports)) {
        if (fixedPorts.has(p)) problems.push(`${key(k)} is ${p}, the port of ${fixedPorts.get(p)} (fixed in the lab); allowed: any other port from 1 to 65535, e.g. the default ${CONFIG_KEYS[k].default}`);
        if (seen.has(p)) problems.push(`${key(k)} and ${key(seen.get(p)!)} are both ${p}; each listener needs its own port`);
        seen.set(p, k);
    }

    // Kafka
    const version = str("kafkaVersion");
    const major = /^([34])\.\d+\.\d+$/.exec(version)?.[1];
    if (!major) problems.push(`${key("kafkaVersion")} is "${version}"; allowed: a 3.x.y release (ZooKeeper or KRaft) or a 4.x.y release (KRaft), e.g. ${DEFAULT_KAFKA_VERSION} or ${KAFKA_4_VERSION}`);
    const scalaVersion = oneOf("scalaVersion", ["2.13", "2.12"] as const);
    if (major === "4" && scalaVersion === "2.12") problems.push(`${key("scalaVersion")} is 2.12, but Kafka ${version} is built for Scala 2.13 only; allowed with 4.x: 2.13`);

    // The cluster: how many brokers, how they keep their metadata, their racks.
    const brokers = int("brokers", 1, MAX_BROKERS, "a broker count");
    const kraftMigration = oneOf<KraftMigration>("kraftMigration", KRAFT_MIGRATIONS);
    // A finalized migration left a KRaft cluster: that is the default from then on.
    const metadata = oneOf<MetadataMode>("metadata", ["zookeeper", "kraft"], major === "4" || kraftMigration === "finalize" ? "kraft" : "zookeeper");
    if (major === "4" && metadata === "zookeeper") {
        problems.push(`${key("metadata")} is zookeeper, but Kafka ${version} has no ZooKeeper mode; allowed with 4.x: kraft (or a 3.x release, e.g. ${DEFAULT_KAFKA_VERSION}, for ZooKeeper)`);
    }
    const controllers = oneOf<ControllerMode>("controllers", ["combined", "dedicated"], kraftMigration === "none" ? "combined" : "dedicated");
    if (kraftMigration !== "none") {
        const bridge = /^3\.9\.\d+$/.test(version);
        if (kraftMigration !== "finalize" && !bridge) {
            problems.push(`${key("kraftMigration")} ${kraftMigration} needs Kafka 3.9.x, the last release with ZooKeeper and the one the migration runs on; ${key("kafkaVersion")} is ${version}; allowed: a 3.9.x release, e.g. ${DEFAULT_KAFKA_VERSION} (upgrade to 3.9 first, and to 4.x once the migration is finalized)`);
        }
        if (kraftMigration === "finalize" && major === "3" && !bridge) {
            problems.push(`${key("kraftMigration")} finalize needs Kafka 3.9.x or, once finalized, 4.x; ${key("kafkaVersion")} is ${version}`);
        }
        if (kraftMigration !== "finalize" && metadata !== "zookeeper") {
            problems.push(`${key("kraftMigration")} ${kraftMigration} runs on a ZooKeeper-mode cluster: ${key("metadata")} stays zookeeper (or unset) until ${key("kraftMigration")} finalize; it is ${metadata}`);
        }
        if (kraftMigration === "finalize" && metadata !== "kraft") {
            problems.push(`${key("kraftMigration")} finalize makes the cluster KRaft: set ${key("metadata")} to kraft or leave it unset (it is ${metadata})`);
        }
        if (controllers !== "dedicated") {
            problems.push(`${key("kraftMigration")} ${kraftMigration} moves the metadata into dedicated controllers (KIP-866 does not migrate into combined broker+controller nodes): set ${key("controllers")} to dedicated or leave it unset`);
        }
    }
    if (controllers === "dedicated" && metadata === "zookeeper" && kraftMigration === "none") {
        problems.push(`${key("controllers")} is dedicated, but ${key("metadata")} is zookeeper: a ZooKeeper-mode cluster has no KRaft controllers; allowed: combined (the default) in ZooKeeper mode, dedicated with metadata kraft`);
    }
    const racks = strList("racks") ?? [];
    if (racks.length > 0) {
        if (racks.length !== brokers || racks.some((r) => r === "")) {
            problems.push(`${key("racks")} names ${racks.filter(Boolean).length} rack(s) for ${brokers} broker(s); allowed: a rack for every broker, in order, or none (Kafka refuses a cluster where only some brokers have broker.rack)`);
        }
        racks.forEach((r, i) => {
            if (r && !/^[A-Za-z0-9._-]{1,64}$/.test(r)) problems.push(`${key("racks")}[${i}] "${r}" is not a rack name (letters, digits, '.', '_', '-')`);
        });
    }
    const topology = labTopology(brokers, metadata, racks, controllers, kraftMigration);
    const rebuild = raw.rebuildCluster;
    if (rebuild !== undefined && !["true", "false", true, false].includes(rebuild as string | boolean)) problems.push(`${key("rebuildCluster")} is ${JSON.stringify(rebuild)}; allowed: true or false`);
    const brokerHostNames = brokerNames(brokers);
    const artifactUrl = optStr("artifactUrl");
    const artifactFile = optStr("artifactFile");
    const artifactSha512 = optStr("artifactSha512");
    if (artifactUrl && artifactFile) problems.push(`${key("artifactUrl")} and ${key("artifactFile")} are both set; set one of them`);
    if (artifactUrl && !/^https?:\/\/[^\s/]+\/\S*$/.test(artifactUrl)) problems.push(`${key("artifactUrl")} "${artifactUrl}" is not an http(s) URL`);
    if (artifactSha512 && !/^[0-9a-fA-F]{128}$/.test(artifactSha512.replace(/\s+/g, ""))) {
        problems.push(`${key("artifactSha512")} must be 128 hexadecimal digits (a SHA-512)`);
    }
    const heap = (k: string) => {
        const v = str(k);
        if (!/^[1-9]\d*[mMgG]$/.test(v)) {
            problems.push(`${key(k)} is "${v}"; allowed: a JVM heap size such as 512m or 1g`);
            return String(dflt(k));
        }
        return v.toLowerCase();
    };
    let brokerHeap = heap("brokerHeap");
    const zookeeperHeap = heap("zookeeperHeap");
    const controllerHeap = heap("controllerHeap");
    // What runs beside the brokers on their machines: ZooKeeper nodes, dedicated controllers (both during a migration).
    const sideJvms = [
        ...(topology.zookeepers.length ? [{ key: "zookeeperHeap", heap: zookeeperHeap, what: "ZooKeeper node", count: topology.zookeepers.length }] : []),
        ...(topology.controllerMode === "dedicated" ? [{ key: "controllerHeap", heap: controllerHeap, what: "controller", count: topology.controllers.length }] : []),
    ];

    const topicName = str("topic");
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topicName) || topicName === "." || topicName === "..") {
        problems.push(`${key("topic")} "${topicName}" is not a valid topic name; allowed: 1-249 of letters, digits, '.', '_', '-'`);
    }
    const topic: TopicConfig = {
        name: topicName,
        partitions: int("topicPartitions", 1, 1000, "a partition count"),
        retentionHours: int("topicRetentionHours", 1, 87600, "hours"),
    };

    // The external listener: plaintext in throwaway labs, TLS + SCRAM where it matters (prod by default).
    const security: SecurityConfig = {
        external: oneOf<ExternalSecurity>("externalSecurity", EXTERNAL_SECURITY, opts.stack === "prod" ? "sasl_ssl" : "plaintext"),
        // mtls by default where it matters, on KRaft: a ZooKeeper-mode cluster with mtls could not yet be
        // migrated to KRaft (see below), so ZooKeeper mode has it only when asked for.
        internal: oneOf<InternalSecurity>(
            "internalSecurity",
            INTERNAL_SECURITY,
            (opts.stack === "prod" || opts.stack === "staging") && topology.metadata === "kraft" && topology.migration === "none" ? "mtls" : "plaintext",
        ),
        generation: int("credentialsGeneration", 1, 1_000_000, "a generation number"),
        certificatesGeneration: int("certificatesGeneration", 1, 1_000_000, "a generation number"),
        caRotation: oneOf<CaRotation>("caRotation", CA_ROTATION),
        adminUser: "kafka-lab-admin",
        clientUser: "kafka-lab-client",
        nodeUser: "kafka-lab-node",
        // The guide's topic and group, and what the smoke test, the bench and the fault command make (smoke-..., bench-..., fault-...).
        clientTopics: [topicName],
        clientGroups: ["my-group"],
        clientPrefixes: ["smoke", "bench", "fault"],
    };

    // Network
    const adminCidrs = cidrList("adminCidrs");
    const clientCidrs = cidrList("clientCidrs");
    const network: NetworkConfig = { adminCidrs: adminCidrs ?? [], clientCidrs: clientCidrs ?? [], zookeeperCidrs: cidrList("zookeeperCidrs") ?? [] };
    network.zookeeperCidrs.forEach((c, i) => {
        if (!isPrivateCidr(c)) {
            problems.push(`${key("zookeeperCidrs")}[${i}] "${c}" reaches beyond private address space; ZooKeeper must never be open to the internet (allowed: ranges inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)`);
        }
    });
    if (security.caRotation !== "none" && security.external === "plaintext" && security.internal === "plaintext") {
        problems.push(`${key("caRotation")} is ${security.caRotation}, and this stack has no CA to rotate (${key("externalSecurity")} and ${key("internalSecurity")} are plaintext); allowed: none`);
    }
    if (network.zookeeperCidrs.length && security.external === "sasl_ssl" && security.internal === "plaintext") {
        // ZooKeeper keeps the SCRAM credentials and ACLs, unauthenticated: whoever reaches it can rewrite them.
        problems.push(`${key("zookeeperCidrs")} opens ZooKeeper, which holds the SCRAM credentials and ACLs without authentication, to ${network.zookeeperCidrs.join(", ")}: anything there could rewrite them and bypass ${key("externalSecurity")} sasl_ssl; allowed with sasl_ssl: none (only the lab's brokers reach ZooKeeper), or any with ${key("internalSecurity")} mtls (ZooKeeper then requires a certificate of the stack's CA)`);
    }

    // Pulumi fills in the schema's defaults, so a key of the other target only counts when changed.
    const setAwayFromDefault = (k: string) => isSet(k) && String(raw[k]) !== String(dflt(k));
    let aws: AwsTargetConfig | undefined;
    let local: LocalTargetConfig | undefined;
    let existing: ExistingTargetConfig | undefined;
    const only: Record<string, Target[]> = {
        imageFamily: ["aws"], brokerInstanceType: ["aws"], clientInstanceType: ["aws"], dataVolumeGiB: ["aws"], vpcCidr: ["aws"],
        zones: ["aws"], elasticIpQuota: ["aws"], dataVolumeOnDestroy: ["aws"], artifactDelivery: ["aws", "existing"], sshHostKeys: ["existing"],
        subnetCidr: ["aws"], vpcId: ["aws"], subnetId: ["aws"], subnetIds: ["aws"], sshPublicKey: ["aws"], racks: ["local", "existing"],
        brokerAddresses: ["existing"], brokerPublicAddresses: ["existing"],
        bridge: ["local"], bridgeAddress: ["local"], dataVolumeSize: ["local"],
        brokerAddress: ["local", "existing"], producerAddress: ["local", "existing"], consumerAddress: ["local", "existing"],
        brokerPublicAddress: ["existing"], producerPublicAddress: ["existing"], consumerPublicAddress: ["existing"],
        sshUser: ["existing"], sshPort: ["existing"], sshPrivateKeyPath: ["existing"], purgeDataOnDestroy: ["existing"],
    };
    for (const [k, targets] of Object.entries(only)) {
        if (!targets.includes(target) && setAwayFromDefault(k)) problems.push(`${key(k)} applies only to target ${targets.join(" or ")}, but target is ${target}`);
    }
    const requireAdminCidrs = () => {
        if (network.adminCidrs.length === 0) {
            problems.push(`${key("adminCidrs")} is empty; the deploying machine provisions over SSH, so list at least its address range, e.g. ["203.0.113.10/32"]`);
        }
    };

    if (target === "aws") {
        requireAdminCidrs();
        network.clientCidrs.forEach((c, i) => {
            if (isPrivateCidr(c)) {
                problems.push(
                    `${key("clientCidrs")}[${i}] "${c}" is a private range, which never reaches the external listener on AWS: it is advertised as the broker's public address, so clients arrive from their public addresses (through an internet or NAT gateway); allowed: public ranges, e.g. ["203.0.113.10/32"]. Machines inside the VPC use the internal listener (broker:9092).`,
                );
            }
        });
        const region = (opts.awsRegion ?? "").trim();
        if (!region) problems.push(`aws:region is not set; set it with: pulumi config set aws:region eu-west-1 -s ${opts.stack}`);
        else if (!/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/.test(region)) problems.push(`aws:region "${region}" is not an AWS region name (e.g. eu-west-1)`);
        const instanceType = (k: string) => {
            const v = str(k);
            if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(v)) problems.push(`${key(k)} "${v}" is not an EC2 instance type (e.g. t3.medium)`);
            return v;
        };
        const vpcCidr = str("vpcCidr");
        const subnetCidr = str("subnetCidr");
        for (const [k, c] of [["vpcCidr", vpcCidr], ["subnetCidr", subnetCidr]]) {
            const err = parseCidr(c).error;
            if (err) problems.push(`${key(k)} "${c}" is not a valid IPv4 CIDR: ${err}`);
        }
        if (!parseCidr(vpcCidr).error && !parseCidr(subnetCidr).error) {
            // One subnet per zone the brokers spread over, each the next block of subnetCidr's size.
            const zones = Math.min(brokers, 3);
            const last = subnetInside(subnetCidr, zones - 1);
            if (!isInside(subnetCidr, vpcCidr)) problems.push(`${key("subnetCidr")} ${subnetCidr} is not inside ${key("vpcCidr")} ${vpcCidr}`);
            else if (!isInside(last, vpcCidr)) problems.push(`${key("subnetCidr")} ${subnetCidr} leaves no room in ${key("vpcCidr")} ${vpcCidr} for the ${zones} zone subnets of ${brokers} brokers (the last would be ${last})`);
        }
        const vpcId = optStr("vpcId");
        const subnetId = optStr("subnetId");
        const subnetIdList = strList("subnetIds") ?? [];
        if (subnetId && subnetIdList.length) problems.push(`${key("subnetId")} and ${key("subnetIds")} are both set; set one of them`);
        const subnetIds = subnetId ? [subnetId] : subnetIdList;
        if (vpcId && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) problems.push(`${key("vpcId")} "${vpcId}" is not a VPC id (vpc-...)`);
        subnetIds.forEach((id, i) => {
            if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) problems.push(`${key(subnetId ? "subnetId" : `subnetIds[${i}]`)} "${id}" is not a subnet id (subnet-...)`);
        });
        if (subnetIds.length > 3) problems.push(`${key("subnetIds")} lists ${subnetIds.length} subnets; allowed: one per zone, up to three`);
        if (!!vpcId !== subnetIds.length > 0) problems.push(`${key("vpcId")} and ${key("subnetId")} (or ${key("subnetIds")}) go together: set both to use an existing network, or neither`);
        const sshPublicKey = optStr("sshPublicKey");
        if (sshPublicKey && /^(ecdsa-sha2-nistp\d+|sk-[a-z0-9-]+@openssh\.com) /.test(sshPublicKey)) {
            // EC2's ImportKeyPair takes RSA and ED25519 keys only; it would refuse this one half-way through the run.
            problems.push(`${key("sshPublicKey")} is a ${sshPublicKey.split(" ")[0]} key, which EC2 refuses; allowed: ssh-ed25519 or ssh-rsa (ssh-keygen -t ed25519)`);
        } else if (sshPublicKey && !/^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/.test(sshPublicKey)) {
            problems.push(`${key("sshPublicKey")} is not an OpenSSH public key (ssh-ed25519 AAAA... or ssh-rsa AAAA...)`);
        }
        if (sshPublicKey && !isSet("sshPrivateKey")) {
            problems.push(`${key("sshPublicKey")} is set but ${key("sshPrivateKey")} is not; provisioning needs the private key (pulumi config set --secret sshPrivateKey < key)`);
        }
        // The zones: given, or chosen at the first deploy and kept (src/targets/aws.ts).
        const zoneCount = Math.min(brokers, 3);
        const zones = strList("zones") ?? [];
        if (zones.length) {
            if (subnetIds.length) problems.push(`${key("zones")} and ${key("subnetIds")} are both set; existing subnets decide their zones, so set one of them`);
            zones.forEach((z, i) => {
                if (region && !new RegExp(`^${region}[a-z]$`).test(z)) problems.push(`${key("zones")}[${i}] "${z}" is not one of ${region}'s own zones (e.g. ${region}a); Local Zones and Wavelength Zones are not used`);
            });
            if (new Set(zones).size !== zones.length) problems.push(`${key("zones")} names a zone twice: ${zones.join(", ")}`);
            if (zones.length < zoneCount) problems.push(`${key("zones")} lists ${zones.length} zone(s) for ${brokers} brokers; allowed: at least ${zoneCount} (one per zone the brokers spread over, up to three), the first ${zoneCount} used`);
        }
        const elasticIpQuota = int("elasticIpQuota", 1, 10000, "a quota");
        if (brokers > elasticIpQuota) {
            problems.push(
                `${key("brokers")} ${brokers} needs ${brokers} Elastic IPs (one per broker), more than the quota of ${elasticIpQuota} (${key("elasticIpQuota")}; EC2's default is 5 per region, shared by every stack there); ask AWS for a higher quota and set ${key("elasticIpQuota")} to it, or use fewer brokers`,
            );
        }
        aws = {
            region,
            imageFamily: oneOf("imageFamily", Object.keys(IMAGE_FAMILIES) as ImageFamily[]),
            brokerInstanceType: instanceType("brokerInstanceType"),
            clientInstanceType: instanceType("clientInstanceType"),
            dataVolumeGiB: int("dataVolumeGiB", 1, 16384, "GiB"),
            vpcCidr,
            subnetCidr,
            vpcId,
            subnetIds,
            sshPublicKey,
            zones: zones.slice(0, zoneCount),
            elasticIpQuota,
            dataVolumeOnDestroy: oneOf<DataVolumeOnDestroy>("dataVolumeOnDestroy", DATA_VOLUME_ON_DESTROY, opts.stack === "prod" ? "protect" : "delete"),
        };
        const memory = INSTANCE_MEMORY_MIB[aws.brokerInstanceType];
        // A ZooKeeper node or a dedicated controller's machine carries both heaps.
        const heapMiB = heapToMiB(brokerHeap) + sideJvms.reduce((n, j) => n + heapToMiB(j.heap), 0);
        if (memory !== undefined && heapMiB > memory * 0.8) {
            problems.push(
                `${key("brokerHeap")} ${brokerHeap}${sideJvms.map((j) => ` plus ${key(j.key)} ${j.heap}`).join("")} (${heapMiB} MiB) does not fit ${aws.brokerInstanceType} (${memory} MiB; at most 80% may go to heaps, the rest is the OS page cache Kafka relies on)`,
            );
        }
    } else if (target === "existing") {
        requireAdminCidrs();
        const hostName = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
        const address = (k: string, required: boolean) => {
            const v = optStr(k);
            if (v === undefined) {
                if (required) problems.push(`${key(k)} is not set; the existing target needs the address of each of broker, producer and consumer`);
                return "";
            }
            const ipLike = /^[\d.]+$/.test(v);
            if (ipLike ? parseCidr(`${v}/32`).error : !hostName.test(v)) problems.push(`${key(k)} "${v}" is neither an IPv4 address nor a host name`);
            return v;
        };
        const checkAddress = (k: string, v: string) => {
            const ipLike = /^[\d.]+$/.test(v);
            if (ipLike ? parseCidr(`${v}/32`).error : !hostName.test(v)) problems.push(`${key(k)} "${v}" is neither an IPv4 address nor a host name`);
            return v;
        };
        const hosts: Record<string, ExistingHost> = {};
        if (brokers === 1) {
            const lab = address("brokerAddress", true);
            hosts.broker = { address: lab, publicAddress: address("brokerPublicAddress", false) || lab };
        } else {
            // A cluster's brokers come as lists, in node id order.
            if (isSet("brokerAddress") || isSet("brokerPublicAddress")) {
                problems.push(`${key("brokerAddress")} and ${key("brokerPublicAddress")} are for one broker; with ${key("brokers")} ${brokers}, list them in ${key("brokerAddresses")} (and ${key("brokerPublicAddresses")})`);
            }
            const labs = strList("brokerAddresses") ?? [];
            const publics = strList("brokerPublicAddresses") ?? [];
            if (labs.length !== brokers) problems.push(`${key("brokerAddresses")} lists ${labs.length} address(es) for ${brokers} brokers; allowed: one per broker, in order (broker1 first)`);
            if (publics.length > 0 && publics.length !== brokers) problems.push(`${key("brokerPublicAddresses")} lists ${publics.length} address(es) for ${brokers} brokers; allowed: one per broker, or none`);
            brokerHostNames.forEach((name, i) => {
                const lab = labs[i] ? checkAddress(`brokerAddresses`, labs[i]) : "";
                hosts[name] = { address: lab, publicAddress: publics[i] ? checkAddress("brokerPublicAddresses", publics[i]) : lab };
            });
        }
        for (const role of ["producer", "consumer"]) {
            const lab = address(`${role}Address`, true);
            hosts[role] = { address: lab, publicAddress: address(`${role}PublicAddress`, false) || lab };
        }
        const labAddresses = Object.values(hosts).map((h) => h.address).filter(Boolean);
        if (new Set(labAddresses).size !== labAddresses.length) problems.push(`the machines need different addresses; got ${labAddresses.join(", ")}`);
        const sshUser = str("sshUser");
        if (!sshUser) problems.push(`${key("sshUser")} is not set; give the SSH user of the machines (root, or a user with passwordless sudo)`);
        else if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(sshUser)) problems.push(`${key("sshUser")} "${sshUser}" is not a user name`);
        const sshPrivateKeyPath = optStr("sshPrivateKeyPath");
        if (sshPrivateKeyPath && isSet("sshPrivateKey")) problems.push(`${key("sshPrivateKeyPath")} and ${key("sshPrivateKey")} are both set; set one of them`);
        if (!sshPrivateKeyPath && !isSet("sshPrivateKey")) problems.push(`no SSH key: set ${key("sshPrivateKeyPath")} to a key file, or ${key("sshPrivateKey")} as a secret (pulumi config set --secret sshPrivateKey < key)`);
        if (sshPrivateKeyPath) {
            const file = expandHome(sshPrivateKeyPath);
            let text = "";
            try {
                text = fs.readFileSync(file, "utf8");
            } catch (e) {
                problems.push(`${key("sshPrivateKeyPath")} ${file} cannot be read: ${(e as Error).message.split(",")[0]}`);
            }
            if (text && !text.includes("PRIVATE KEY")) problems.push(`${key("sshPrivateKeyPath")} ${file} is not a private key file`);
        }
        // Known-hosts lines: "HOST TYPE KEY", one per machine of the topology.
        const hostKeys: Record<string, string> = {};
        (strList("sshHostKeys") ?? []).forEach((line, i) => {
            const m = /^(\S+)\s+((?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521))\s+[A-Za-z0-9+/]+={0,3})(?:\s.*)?$/.exec(line);
            if (!m) problems.push(`${key("sshHostKeys")}[${i}] "${line.slice(0, 60)}" is not "HOST TYPE KEY" (e.g. "broker ssh-ed25519 AAAAC3Nza...")`);
            else if (!(m[1] in hosts)) problems.push(`${key("sshHostKeys")}[${i}] names ${m[1]}, which is no machine of this lab (allowed: ${Object.keys(hosts).join(", ")})`);
            else if (hostKeys[m[1]]) problems.push(`${key("sshHostKeys")} lists ${m[1]} twice`);
            else hostKeys[m[1]] = m[2].replace(/\s+/g, " ");
        });
        const purge = raw.purgeDataOnDestroy;
        if (purge !== undefined && !["true", "false", true, false].includes(purge as string | boolean)) problems.push(`${key("purgeDataOnDestroy")} is ${JSON.stringify(purge)}; allowed: true or false`);
        existing = {
            hosts,
            sshUser,
            sshPort: int("sshPort", 1, 65535, "a TCP port"),
            sshPrivateKeyPath: sshPrivateKeyPath && expandHome(sshPrivateKeyPath),
            purgeDataOnDestroy: String(purge) === "true",
            hostKeys,
        };
    } else {
        const bridge = str("bridge");
        if (!/^[a-zA-Z][a-zA-Z0-9_-]{0,14}$/.test(bridge)) problems.push(`${key("bridge")} "${bridge}" is not a usable interface name (1-15 letters, digits, '-' or '_')`);
        const bridgeAddress = str("bridgeAddress");
        const bridgeNet = parseInterfaceAddress(bridgeAddress);
        if (bridgeNet.error) problems.push(`${key("bridgeAddress")} "${bridgeAddress}" must be an address with prefix such as 10.77.0.1/24: ${bridgeNet.error}`);
        // The guide's lab: broker .11, producer .12, consumer .13. A cluster's brokers take the addresses from
        // the first broker's on (default .21), skipping any another machine or the bridge has: the clients
        // keep theirs whatever the number of brokers, and brokerAddress .11 with three brokers gives .11, .14, .15.
        const addresses: Record<string, string> = {
            producer: str("producerAddress", "10.77.0.12"),
            consumer: str("consumerAddress", "10.77.0.13"),
        };
        // Who has which address, to name it when another machine asks for the same.
        const used = new Map<string, string>([[bridgeAddress.split("/")[0], "the bridge"]]);
        for (const [name, addr] of Object.entries(addresses)) {
            if (used.has(addr)) problems.push(`${key(`${name}Address`)} ${addr} is already used by ${used.get(addr)}`);
            used.set(addr, `the ${name}`);
        }
        const firstBroker = str("brokerAddress", brokers === 1 ? "10.77.0.11" : "10.77.0.21");
        if (used.has(firstBroker)) problems.push(`${key("brokerAddress")} ${firstBroker} is already used by ${used.get(firstBroker)}`);
        let next = firstBroker;
        for (const name of brokerHostNames) {
            while (used.has(next) && !parseCidr(`${next}/32`).error) next = nextAddress(next, 1);
            addresses[name] = next;
            used.set(next, name);
        }
        for (const [name, addr] of Object.entries(addresses)) {
            const k = brokerHostNames.includes(name) ? "brokerAddress" : `${name}Address`;
            if (parseCidr(`${addr}/32`).error) problems.push(`${key(k)} "${addr}" is not an IPv4 address`);
            else if (!bridgeNet.error && !isInside(`${addr}/32`, bridgeNet.network!)) problems.push(`${key(k)} ${addr}${name !== brokerHostNames[0] && k === "brokerAddress" ? ` (${name})` : ""} is not inside the bridge network ${bridgeNet.network}`);
            else if (!bridgeNet.error && isNetworkOrBroadcast(addr, bridgeNet.network!)) problems.push(`${key(k)} ${addr}${name !== brokerHostNames[0] && k === "brokerAddress" ? ` (${name})` : ""} is the bridge network's own or broadcast address`);
        }
        const dataVolumeSize = str("dataVolumeSize");
        if (!/^[1-9]\d*[MG]$/.test(dataVolumeSize)) problems.push(`${key("dataVolumeSize")} "${dataVolumeSize}" must be a size such as 512M or 2G`);
        // Every machine shares this host: the brokers' and ZooKeeper's heaps, with room for each JVM beyond
        // its heap and for the clients' tools, must fit in half of its memory (the rest: page cache, host).
        const hostMiB = Math.floor((opts.hostMemoryBytes ?? os.totalmem()) / 1048576);
        const othersMiB = sideJvms.reduce((n, j) => n + j.count * (heapToMiB(j.heap) + JVM_OVERHEAD_MIB), 0) + 2 * CLIENT_TOOLS_MIB;
        // The default heap is sized from this host's memory: what the brokers may share, down to 256m each.
        // A heap set in config is taken as given (and refused below if it cannot fit).
        if (brokerHeap === dflt("brokerHeap")) {
            const perBrokerMiB = Math.floor((hostMiB / 2 - othersMiB) / brokers) - JVM_OVERHEAD_MIB;
            const sizedMiB = Math.min(heapToMiB(brokerHeap), Math.floor(perBrokerMiB / 64) * 64);
            if (sizedMiB >= MIN_LOCAL_HEAP_MIB) brokerHeap = sizedMiB === 1024 ? "1g" : `${sizedMiB}m`;
        }
        const neededMiB = brokers * (heapToMiB(brokerHeap) + JVM_OVERHEAD_MIB) + othersMiB;
        if (neededMiB > hostMiB / 2) {
            problems.push(
                `${key("brokers")} ${brokers} needs about ${neededMiB} MiB (${key("brokerHeap")} ${brokerHeap} per broker${sideJvms.map((j) => `, ${key(j.key)} ${j.heap} per ${j.what}`).join("")}, and the JVMs beyond their heaps), more than half of this host's ${hostMiB} MiB; allowed here: fewer brokers or smaller heaps`,
            );
        }
        const hostAddress = `${bridgeAddress.split("/")[0]}/32`;
        // The deploying host reaches the machines from its bridge address: by default it is both admin and client.
        if (adminCidrs === undefined) network.adminCidrs = [hostAddress];
        if (clientCidrs === undefined) network.clientCidrs = [hostAddress];
        const stateRoot = opts.localStateRoot ?? "/var/lib/kafka-lab";
        local = {
            bridge,
            bridgeAddress,
            addresses,
            machinePrefix: `kl-${opts.stack}`.slice(0, 40),
            dataVolumeSize,
            stateDir: path.join(stateRoot, opts.stack),
            cacheDir: opts.cacheDir ?? process.env.KAFKA_LAB_CACHE ?? "/var/cache/kafka-lab",
        };
    }

    // The local lab's own build, or (aws, existing) where a tarball fetched by the deploying machine is kept.
    const cacheDir = local?.cacheDir ?? opts.cacheDir ?? process.env.KAFKA_LAB_CACHE ?? (process.getuid?.() === 0 ? "/var/cache/kafka-lab" : path.join(os.homedir(), ".cache", "kafka-lab"));
    const tarball = `kafka_${scalaVersion}-${version}.tgz`;
    // aws: the deploying machine fetches the tarball once and uploads it (one download from the throttled
    // archive instead of one per machine, checked before any machine gets it); existing: each machine
    // fetches it, as its owners' network may be closer to a mirror than the deploying machine.
    const delivery = target === "local" ? "upload" : oneOf<ArtifactDelivery>("artifactDelivery", ARTIFACT_DELIVERIES, target === "aws" ? "upload" : "download");
    if (artifactFile && isSet("artifactDelivery") && delivery === "download") problems.push(`${key("artifactDelivery")} download with ${key("artifactFile")}: a local file can only be uploaded; allowed: upload, or artifactUrl for download`);
    const artifact: KafkaConfig["artifact"] = artifactFile
        ? { kind: "file", path: expandHome(artifactFile), sha512: artifactSha512 }
        : target === "local" && !artifactUrl
          ? // Lab machines have no internet: the lab builds the tarball from Maven Central and uploads it.
            { kind: "file", path: path.join(cacheDir, "dist", tarball), sha512: artifactSha512 }
          : { kind: "url", url: artifactUrl ?? `https://archive.apache.org/dist/kafka/${version}/${tarball}`, sha512: artifactSha512, delivery, cacheDir };

    if (problems.length > 0) throw new ConfigError(problems);
    return {
        stack: opts.stack,
        target,
        topology,
        rebuildCluster: String(raw.rebuildCluster) === "true",
        security,
        network,
        kafka: { version, scalaVersion, artifact, brokerHeap, zookeeperHeap, controllerHeap, internalPort, externalPort, zookeeperPort, topic },
        aws,
        local,
        existing,
        dataDir: "/var/lib/kafka",
        cacheDir,
    };
}

/** What a JVM takes beyond its heap (metaspace, threads, buffers), and a client tool's JVM, roughly. */
const JVM_OVERHEAD_MIB = 384;
/** The smallest broker heap the local target sizes down to. */
const MIN_LOCAL_HEAP_MIB = 256;
const CLIENT_TOOLS_MIB = 512;

function heapToMiB(heap: string): number {
    const n = parseInt(heap, 10);
    return heap.endsWith("g") ? n * 1024 : n;
}

function expandHome(p: string): string {
    return p.startsWith("~/") ? path.join(os.homedir(), p.slice(2)) : p;
}

/** Reads the kafka-lab namespace (and aws:region) of the current stack and validates it. */
export function loadLabConfig(): { config: LabConfig; sshPrivateKey?: pulumi.Output<string> } {
    const cfg = new pulumi.Config(PROJECT);
    const raw: RawConfig = {};
    const all = pulumi.runtime.allConfig();
    for (const fullKey of Object.keys(all)) {
        const [ns, k] = fullKey.split(":");
        if (ns !== PROJECT || k === undefined || k === "sshPrivateKey") continue;
        raw[k] = CONFIG_KEYS[k]?.type === "array" ? cfg.getObject<unknown>(k) : cfg.get(k);
    }
    const hasPrivateKey = (cfg.get("sshPrivateKey") ?? "") !== "";
    const sshPrivateKey = hasPrivateKey ? cfg.requireSecret("sshPrivateKey") : undefined;
    if (hasPrivateKey) raw.sshPrivateKey = "(secret)";
    const config = validateConfig(raw, { stack: pulumi.getStack(), awsRegion: new pulumi.Config("aws").get("region") });
    return { config, sshPrivateKey };
}
