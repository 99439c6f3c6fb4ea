// Pure rendering: topology and config in, file contents and step scripts out. No Pulumi here, so
// every rendered file can be tested by parsing it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { DeliveredArtifact } from "./artifact";
import { LabConfig } from "./config";
import { CONTROLLER_PORT, LabHost, ZOOKEEPER_PEER_PORTS, hasRole } from "./topology";

export const TEMPLATES_DIR = path.join(__dirname, "..", "templates");

export interface HostAddress {
    privateIp: string;
    publicIp: string;
}
/** Every host's addresses, by host name. */
export type LabAddresses = Record<string, HostAddress>;

/** Everything a host's provisioning depends on, with every value resolved. */
export interface ProvisionContext {
    config: LabConfig;
    addresses: LabAddresses;
    /** How the Kafka tarball reaches the host (uploaded, or fetched from a URL) and its expected SHA-512. */
    artifact: DeliveredArtifact;
    /** Candidate block devices of this host's data volume; none when the data dir needs no mount. */
    dataDevices: string[];
    /** The size of this host's data volume in GiB when provisioning grows its filesystem, else 0. */
    dataVolumeGiB: number;
    /** KRaft: the cluster's id, made once per stack and kept in its state ("" in ZooKeeper mode). */
    clusterId: string;
    /** This host's rack when the target decides it (AWS: the zone id); "" for the topology's own. */
    rack?: string;
    /** externalSecurity sasl_ssl: this broker's keystore and the SCRAM users' passwords (secrets). */
    credentials?: { keystore: string; adminPassword: string; clientPassword: string };
}

export const NOFILE_LIMIT = 100000;
/** The external listener's keystore on a broker (PEM: key, certificate, CA), readable by kafka alone. */
export const EXTERNAL_KEYSTORE = "/etc/kafka/tls/external.pem";
/** Where an uploaded tarball lands before it is verified (writable by the SSH user). */
export const UPLOAD_DIR = "/var/tmp";

const templateCache = new Map<string, string>();
function readTemplate(name: string): string {
    let text = templateCache.get(name);
    if (text === undefined) {
        text = fs.readFileSync(path.join(TEMPLATES_DIR, name), "utf8");
        templateCache.set(name, text);
    }
    return text;
}

/** Fills {{name}} placeholders; a placeholder without a value is an error, never an empty string. */
export function renderTemplate(name: string, vars: Record<string, string | number>): string {
    return readTemplate(name).replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, key: string) => {
        if (!(key in vars)) throw new Error(`template ${name} needs a value for {{${key}}}`);
        return String(vars[key]);
    });
}

export function tarballName(config: LabConfig): string {
    return `kafka_${config.kafka.scalaVersion}-${config.kafka.version}.tgz`;
}
export function kafkaDirName(config: LabConfig): string {
    return `kafka_${config.kafka.scalaVersion}-${config.kafka.version}`;
}

export function labHost(config: LabConfig, name: string): LabHost {
    const host = config.topology.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no host ${name} in the lab's topology`);
    return host;
}

/** Every broker's internal listener, as the lab's machines reach it (broker:9092, or broker1:9092,...). */
export function internalBootstrap(config: LabConfig): string {
    return config.topology.brokers.map((b) => `${b.name}:${config.kafka.internalPort}`).join(",");
}
/** Every broker's external listener, as outside clients reach it. */
export function externalBootstrap(config: LabConfig, addresses: LabAddresses): string {
    return config.topology.brokers.map((b) => `${addresses[b.name].publicIp}:${config.kafka.externalPort}`).join(",");
}

export function renderHosts(config: LabConfig, addresses: LabAddresses): string {
    const entries = config.topology.hosts.map((h) => `${addresses[h.name].privateIp}\t${h.name}`).join("\n");
    return renderTemplate("hosts", { stack: config.stack, entries });
}

export function renderZookeeperProperties(config: LabConfig): string {
    const zookeepers = config.topology.zookeepers;
    const ensemble =
        zookeepers.length > 1
            ? [
                  "# The ensemble: quorum and leader-election ports, open between its nodes only.",
                  ...zookeepers.map((z) => `server.${z.zookeeperId}=${z.name}:${ZOOKEEPER_PEER_PORTS[0]}:${ZOOKEEPER_PEER_PORTS[1]}`),
                  "# Listen on every address: a node's own name may resolve to loopback on some images.",
                  "quorumListenOnAllIPs=true",
              ].join("\n")
            : "# A single node (standalone): no ensemble.";
    return renderTemplate("zookeeper.properties", { stack: config.stack, data_dir: config.dataDir, zookeeper_port: config.kafka.zookeeperPort, ensemble });
}

const externalProtocol = (config: LabConfig) => (config.security.external === "sasl_ssl" ? "SASL_SSL" : "PLAINTEXT");

/**
 * sasl_ssl: TLS and SCRAM on the external listener, and an authorizer. The internal and controller
 * listeners stay plaintext inside the lab's network (SCRAM between controllers is a known failure); their
 * clients, the brokers themselves included, are User:ANONYMOUS and must be super users.
 */
function externalSecuritySettings(config: LabConfig): string {
    if (config.security.external === "plaintext") return "# The external listener is plaintext and unauthenticated (externalSecurity: plaintext).";
    const authorizer = config.topology.metadata === "kraft" ? "org.apache.kafka.metadata.authorizer.StandardAuthorizer" : "kafka.security.authorizer.AclAuthorizer";
    return [
        "# The external listener: TLS with the stack's own CA, SASL/SCRAM-SHA-512 users (externalSecurity: sasl_ssl).",
        "listener.name.external.sasl.enabled.mechanisms=SCRAM-SHA-512",
        "listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
        "listener.name.external.ssl.keystore.type=PEM",
        `listener.name.external.ssl.keystore.location=${EXTERNAL_KEYSTORE}`,
        "# ACLs decide what each user may do. Plaintext listeners inside the lab are ANONYMOUS: super users, as is the admin.",
        `authorizer.class.name=${authorizer}`,
        `super.users=User:ANONYMOUS;User:${config.security.adminUser}`,
        "allow.everyone.if.no.acl.found=false",
    ].join("\n");
}

/** The Kafka settings that depend on how the cluster keeps its metadata: ZooKeeper or KRaft. */
function metadataSettings(config: LabConfig, host: LabHost): { identity: string; listeners: string; protocols: string; settings: string } {
    const k = config.kafka;
    const topology = config.topology;
    const base = `INTERNAL://0.0.0.0:${k.internalPort},EXTERNAL://0.0.0.0:${k.externalPort}`;
    if (topology.metadata === "zookeeper") {
        // The broker on the only ZooKeeper node talks to it locally, as the guide's lab did.
        const connect = topology.zookeepers.map((z) => `${topology.zookeepers.length === 1 && z.name === host.name ? "localhost" : z.name}:${k.zookeeperPort}`).join(",");
        return {
            identity: `broker.id=${host.nodeId}`,
            listeners: base,
            protocols: `INTERNAL:PLAINTEXT,EXTERNAL:${externalProtocol(config)}`,
            settings: [
                `zookeeper.connect=${connect}`,
                "zookeeper.connection.timeout.ms=18000",
                "# The brokers' protocol, pinned to this release's: an upgrade rolls the brokers onto new binaries first",
                "# with the old protocol (step kafka-roll), then raises it in a second roll (step kafka-protocol).",
                `inter.broker.protocol.version=${protocolVersion(config)}`,
            ].join("\n"),
        };
    }
    const controller = hasRole(host, "controller");
    const voters = topology.controllers.map((c) => `${c.nodeId}@${c.name}:${CONTROLLER_PORT}`).join(",");
    return {
        identity: [`process.roles=${controller ? "broker,controller" : "broker"}`, `node.id=${host.nodeId}`].join("\n"),
        listeners: controller ? `${base},CONTROLLER://0.0.0.0:${CONTROLLER_PORT}` : base,
        protocols: `INTERNAL:PLAINTEXT,EXTERNAL:${externalProtocol(config)},CONTROLLER:PLAINTEXT`,
        // A static quorum: the controllers are fixed when the cluster is made (the lab refuses to change them).
        settings: [`controller.quorum.voters=${voters}`, "controller.listener.names=CONTROLLER"].join("\n"),
    };
}

export function renderServerProperties(config: LabConfig, hostName: string, addresses: LabAddresses, targetRack = ""): string {
    const host = labHost(config, hostName);
    const rack = targetRack || host.rack;
    const topology = config.topology;
    const m = metadataSettings(config, host);
    return renderTemplate("server.properties", {
        stack: config.stack,
        host: host.name,
        metadata: topology.metadata === "kraft" ? "KRaft" : "ZooKeeper",
        identity: m.identity,
        listeners: m.listeners,
        protocols: m.protocols,
        internal_port: config.kafka.internalPort,
        external_port: config.kafka.externalPort,
        internal_host: host.name,
        external_host: addresses[host.name].publicIp,
        metadata_settings: m.settings,
        external_security: externalSecuritySettings(config),
        rack: rack ? `broker.rack=${rack}` : "# No rack: racks are set on every broker or none.",
        data_dir: config.dataDir,
        partitions: config.kafka.topic.partitions,
        retention_hours: config.kafka.topic.retentionHours,
        replication_factor: topology.replicationFactor,
        min_insync_replicas: topology.minInsyncReplicas,
    });
}

/** An AWS instance's user data: cloud-init installs its SSH host key (made on the deploying machine) at first boot. */
export function renderUserData(hostName: string, key: { privateKey: string; publicKey: string }): string {
    const indented = key.privateKey.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
    return renderTemplate("cloud-init.yaml", { host: hostName, private_key: indented, public_key: key.publicKey });
}

/**
 * The release a service runs from: its own directory, not the /opt/kafka link, which an upgrade points at
 * the new release while the old one still runs (its JVM would load classes from the new jars).
 */
export function releaseHome(config: LabConfig): string {
    return `/opt/${kafkaDirName(config)}`;
}

/** A release's major.minor: its inter.broker.protocol.version (ZooKeeper mode), its features' release (KRaft). */
export function protocolVersion(config: LabConfig): string {
    return config.kafka.version.split(".").slice(0, 2).join(".");
}

export function renderZookeeperUnit(config: LabConfig): string {
    return renderTemplate("zookeeper.service", { heap: config.kafka.zookeeperHeap, kafka_home: releaseHome(config), nofile: NOFILE_LIMIT, data_dir: config.dataDir });
}

export function renderKafkaUnit(config: LabConfig, hostName: string): string {
    const host = labHost(config, hostName);
    const dependencies = hasRole(host, "zookeeper")
        ? [
              "# Kafka registers in ZooKeeper at start: its local ZooKeeper starts first. It does not go down with it",
              "# (Wants, not Requires): a rolling ZooKeeper restart must leave the broker running, connected to the others.",
              "Wants=zookeeper.service",
              "After=zookeeper.service network-online.target",
          ].join("\n")
        : "After=network-online.target";
    return renderTemplate("kafka.service", { heap: config.kafka.brokerHeap, kafka_home: releaseHome(config), nofile: NOFILE_LIMIT, data_dir: config.dataDir, dependencies });
}

export interface FirewallRule {
    port: number;
    source: string;
    why: string;
}

/** Who may reach which port of a host: the lab's machines themselves, admins, and clients. */
export function firewallRules(hostName: string, config: LabConfig, addresses: LabAddresses): FirewallRule[] {
    const host = labHost(config, hostName);
    const k = config.kafka;
    const from = (hosts: LabHost[]) => hosts.map((h) => `${addresses[h.name].privateIp}/32`);
    const lab = from(config.topology.hosts);
    const rules: FirewallRule[] = config.network.adminCidrs.map((source) => ({ port: 22, source, why: "ssh from admins" }));
    if (hasRole(host, "broker")) {
        rules.push(...lab.map((source) => ({ port: k.internalPort, source, why: "kafka inside the lab" })));
        rules.push(...config.network.clientCidrs.map((source) => ({ port: k.externalPort, source, why: "kafka for outside clients" })));
    }
    if (hasRole(host, "controller")) {
        rules.push(...from(config.topology.brokers).map((source) => ({ port: CONTROLLER_PORT, source, why: "kraft controllers, from the brokers" })));
    }
    if (hasRole(host, "zookeeper")) {
        // ZooKeeper holds the SCRAM credentials and ACLs, unauthenticated: only the brokers need it.
        rules.push(...[...from(config.topology.brokers), ...config.network.zookeeperCidrs].map((source) => ({ port: k.zookeeperPort, source, why: "zookeeper, from the brokers" })));
        const peers = from(config.topology.zookeepers.filter((z) => z.name !== host.name));
        for (const port of ZOOKEEPER_PEER_PORTS) rules.push(...peers.map((source) => ({ port, source, why: "zookeeper ensemble peers" })));
    }
    // One rule per (port, source): a source listed twice must not yield a duplicate firewalld rule.
    const seen = new Set<string>();
    return rules.filter((r) => {
        const id = `${r.port} ${r.source}`;
        return seen.has(id) ? false : (seen.add(id), true);
    });
}

export function renderFirewallZone(hostName: string, config: LabConfig, addresses: LabAddresses): string {
    const rules = firewallRules(hostName, config, addresses)
        .map((r) => `  <rule family="ipv4"><source address="${r.source}"/><port port="${r.port}" protocol="tcp"/><accept/></rule>`)
        .join("\n");
    return renderTemplate("firewalld-zone.xml", { role: hostName, stack: config.stack, rules });
}

export function renderClientsEnv(config: LabConfig): string {
    return [
        "# Written by kafka-lab: defaults of the example clients in /opt/kafka-lab/clients.",
        `BOOTSTRAP_SERVERS=${internalBootstrap(config)}`,
        `TOPIC=${config.kafka.topic.name}`,
    ].join("\n");
}

/** Quotes a value for bash, whatever it contains (newlines included). */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A step script: its inputs as shell variables, the shared helpers, then the step's own template. */
export function renderStepScript(step: string, template: string, inputs: Record<string, string | number>): string {
    const vars = Object.entries(inputs)
        .map(([k, v]) => `${k}=${shellQuote(String(v))}`)
        .join("\n");
    return [
        "#!/usr/bin/env bash",
        `# kafka-lab provisioning step "${step}" (rendered from templates/scripts/${template}).`,
        "set -euo pipefail",
        `STEP=${shellQuote(step)}`,
        vars,
        readTemplate("scripts/lib.sh"),
        readTemplate(`scripts/${template}`),
    ].join("\n");
}

export type StepName =
    | "wait-ready"
    | "stage-kafka"
    | "hostname"
    | "hosts-file"
    | "firewall"
    | "java"
    | "data-volume"
    | "install-kafka"
    | "zookeeper"
    | "zookeeper-roll"
    | "kafka-broker"
    | "kafka-roll"
    | "kafka-protocol"
    | "features"
    | "topic"
    | "scram-acls"
    | "clients";

/**
 * The steps of one host, in the order they run, from its roles. The tarball is fetched and verified
 * right after the machine answers, so a bad checksum stops the run before anything is installed. The
 * first broker also makes the lab's topic, once every broker answers.
 */
export function stepsFor(config: LabConfig, hostName: string, hasDataVolume: boolean): StepName[] {
    const host = labHost(config, hostName);
    const steps: StepName[] = ["wait-ready", "stage-kafka", "hostname", "hosts-file", "firewall", "java"];
    if (hasDataVolume && hasRole(host, "broker")) steps.push("data-volume");
    steps.push("install-kafka");
    if (hasRole(host, "zookeeper")) steps.push("zookeeper", "zookeeper-roll");
    if (hasRole(host, "broker")) steps.push("kafka-broker", "kafka-roll");
    if (hasRole(host, "broker") && config.topology.metadata === "zookeeper") steps.push("kafka-protocol");
    if (host === config.topology.brokers[0] && config.topology.metadata === "kraft") steps.push("features");
    if (host === config.topology.brokers[0]) steps.push("topic");
    if (host === config.topology.brokers[0] && config.security.external === "sasl_ssl") steps.push("scram-acls");
    if (hasRole(host, "producer") || hasRole(host, "consumer")) steps.push("clients");
    return steps;
}

export interface RenderedStep {
    name: StepName;
    script: string;
    /** Changes exactly when the script does: the step's Pulumi trigger. */
    fingerprint: string;
}

export function stagedUploadPath(config: LabConfig): string {
    return `${UPLOAD_DIR}/${tarballName(config)}`;
}

export function renderStep(name: StepName, hostName: string, ctx: ProvisionContext): RenderedStep {
    const { config, addresses } = ctx;
    const host = labHost(config, hostName);
    const k = config.kafka;
    const [template, inputs]: [string, Record<string, string | number>] = (() => {
        switch (name) {
            case "wait-ready":
                return ["wait-ready.sh", { BOOT_TIMEOUT: 300 }];
            case "stage-kafka":
                return [
                    "stage-kafka.sh",
                    {
                        TARBALL: tarballName(config),
                        ARTIFACT_URL: ctx.artifact.upload ? "" : ctx.artifact.url!,
                        STAGED: ctx.artifact.upload ? stagedUploadPath(config) : "",
                        EXPECTED_SHA512: ctx.artifact.sha512,
                    },
                ];
            case "hostname":
                return ["set-hostname.sh", { LAB_HOSTNAME: host.name }];
            case "hosts-file":
                return ["write-hosts.sh", { HOSTS_BLOCK: renderHosts(config, addresses) }];
            case "firewall":
                return ["firewall.sh", { ZONE_XML: renderFirewallZone(host.name, config, addresses) }];
            case "java":
                return ["install-java.sh", {}];
            case "data-volume":
                // The size is an input too: a grown volume re-runs the step, which grows the filesystem.
                return ["mount-data-volume.sh", { DATA_DEVICES: ctx.dataDevices.join(" "), DATA_DIR: config.dataDir, DATA_SIZE_GIB: ctx.dataVolumeGiB }];
            case "install-kafka":
                return [
                    "install-kafka.sh",
                    { TARBALL: tarballName(config), KAFKA_DIR_NAME: kafkaDirName(config), DATA_DIR: config.dataDir, ARTIFACT_SHA512: ctx.artifact.sha512 },
                ];
            case "zookeeper":
            case "zookeeper-roll":
                return [
                    "zookeeper.sh",
                    {
                        ZOOKEEPER_PROPERTIES: renderZookeeperProperties(config),
                        ZOOKEEPER_UNIT: renderZookeeperUnit(config),
                        ZOOKEEPER_PORT: k.zookeeperPort,
                        ZOOKEEPER_ID: host.zookeeperId ?? 0,
                        ENSEMBLE_SIZE: config.topology.zookeepers.length,
                        KAFKA_DIR_NAME: kafkaDirName(config),
                    },
                ];
            case "kafka-broker":
            case "kafka-roll":
            case "kafka-protocol":
                return [
                    "kafka-broker.sh",
                    {
                        SERVER_PROPERTIES: renderServerProperties(config, host.name, addresses, ctx.rack),
                        KAFKA_UNIT: renderKafkaUnit(config, host.name),
                        KAFKA_DIR_NAME: kafkaDirName(config),
                        NODE_ID: host.nodeId!,
                        METADATA: config.topology.metadata,
                        CLUSTER_ID: ctx.clusterId,
                        CLUSTER: String(config.topology.brokers.length > 1),
                        OWN_LISTENER: `${host.name}:${k.internalPort}`,
                        CONTROLLER_PORT: hasRole(host, "controller") ? CONTROLLER_PORT : "",
                        REBUILD: String(config.rebuildCluster),
                        EXTERNAL_KEYSTORE_PATH: EXTERNAL_KEYSTORE,
                        EXTERNAL_KEYSTORE: ctx.credentials?.keystore ?? "",
                    },
                ];
            case "features":
                return ["features.sh", { INTERNAL_BOOTSTRAP: internalBootstrap(config), RELEASE: protocolVersion(config) }];
            case "topic":
                return [
                    "create-topic.sh",
                    {
                        TOPIC: k.topic.name,
                        PARTITIONS: k.topic.partitions,
                        REPLICATION_FACTOR: config.topology.replicationFactor,
                        BROKERS: config.topology.brokers.length,
                        RETENTION_MS: k.topic.retentionHours * 3600 * 1000,
                        INTERNAL_BOOTSTRAP: internalBootstrap(config),
                    },
                ];
            case "scram-acls": {
                const s = config.security;
                if (!ctx.credentials) throw new Error("the scram-acls step needs the stack's credentials");
                return [
                    "scram-acls.sh",
                    {
                        INTERNAL_BOOTSTRAP: internalBootstrap(config),
                        ADMIN_USER: s.adminUser,
                        ADMIN_PASSWORD: ctx.credentials.adminPassword,
                        CLIENT_USER: s.clientUser,
                        CLIENT_PASSWORD: ctx.credentials.clientPassword,
                        CLIENT_TOPICS: s.clientTopics.join(" "),
                        CLIENT_GROUPS: s.clientGroups.join(" "),
                        CLIENT_PREFIXES: s.clientPrefixes.join(" "),
                    },
                ];
            }
            case "clients":
                return [
                    "install-clients.sh",
                    {
                        PRODUCER_PY: readTemplate("clients/producer.py"),
                        CONSUMER_PY: readTemplate("clients/consumer.py"),
                        LABENV_PY: readTemplate("clients/labenv.py"),
                        CLIENTS_ENV: renderClientsEnv(config),
                    },
                ];
        }
    })();
    const script = renderStepScript(name, template, inputs);
    return { name, script, fingerprint: crypto.createHash("sha256").update(script).digest("hex") };
}

/** What `pulumi destroy` runs on a machine that outlives the stack (the existing target). */
export function renderUninstall(config: LabConfig, purgeData: boolean): string {
    return renderStepScript("uninstall", "uninstall.sh", { DATA_DIR: config.dataDir, PURGE_DATA: String(purgeData) });
}

/** All steps of a host, rendered. */
export function renderHostSteps(hostName: string, ctx: ProvisionContext): RenderedStep[] {
    return stepsFor(ctx.config, hostName, ctx.dataDevices.length > 0).map((s) => renderStep(s, hostName, ctx));
}
