// Pure rendering: topology and config in, file contents and step scripts out. No Pulumi here, so
// every rendered file can be tested by parsing it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as Mustache from "mustache";
import type { DeliveredArtifact, DeliveredFile } from "./artifact";
import { KAFKA_PYTHON_WHEEL } from "./downloads";
import { LabConfig } from "./config";
import {
    AGENT_JAR,
    AGENT_RULES,
    DISK_ALERT_RATIO,
    LAG_ALERT_THRESHOLD,
    LAG_EXPORTER,
    PROMETHEUS_CONFIG_DIR,
    PROMETHEUS_DATA_DIR,
    WATCHED_GROUP,
    exporterPorts,
    runsJvmService,
    scrapeTargets,
} from "./monitoring";
import { CONTROLLER_JMX_PORT, CONTROLLER_PORT, LabHost, METRICS_PORTS, PROMETHEUS_PORT, ZOOKEEPER_PEER_PORTS, controllerNodeId, hasRole, keepsDedicatedController, runsCombinedController, runsDedicatedController } from "./topology";

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
    /** The JMX exporter agent and kafka-python's wheel that the deploying machine uploads, and their SHA-256. */
    agent: DeliveredFile;
    clientWheel: DeliveredFile;
    /** Candidate block devices of this host's data volume; none when the data dir needs no mount. */
    dataDevices: string[];
    /** The size of this host's data volume in GiB when provisioning grows its filesystem, else 0. */
    dataVolumeGiB: number;
    /** KRaft: the cluster's id, made once per stack and kept in its state ("" in ZooKeeper mode). */
    clusterId: string;
    /** This host's rack when the target decides it (AWS: the zone id); "" for the topology's own. */
    rack?: string;
    /** The stack's credentials as this host gets them ("" for what it does not get; secrets but the CA). */
    credentials?: HostCredentials;
}

export interface HostCredentials {
    /** sasl_ssl, brokers: the external listener's keystore; the first broker: the SCRAM users' passwords. */
    keystore: string;
    adminPassword: string;
    clientPassword: string;
    /** mtls: the stack's CA (every host), this node's keystore (Kafka nodes), the client's (client and monitoring hosts), the admin's (the first broker). */
    caCertificate: string;
    nodeKeystore: string;
    clientKeystore: string;
    adminKeystore: string;
}

export const NOFILE_LIMIT = 100000;
/** The external listener's keystore on a broker (PEM: key, certificate, CA), readable by kafka alone. */
export const EXTERNAL_KEYSTORE = "/etc/kafka/tls/external.pem";
/** internalSecurity mtls: the stack's CA, and the keystores of this host's identities (PEM: key, certificate, CA). */
export const TLS_FILES = {
    ca: "/etc/kafka/tls/ca.pem",
    node: "/etc/kafka/tls/node.pem",
    client: "/etc/kafka/tls/client.pem",
    admin: "/etc/kafka/tls/admin.pem",
} as const;
/**
 * What Kafka's tools on a lab machine connect with (--command-config and the like), one file per identity:
 * the node's own on the Kafka nodes (their local checks), the client's on the client machines, the admin's
 * on the first broker only. With internalSecurity plaintext they say PLAINTEXT, so every call is the same.
 */
export const TOOLS_PROPERTIES = {
    node: "/etc/kafka/node-tools.properties",
    client: "/etc/kafka/client-tools.properties",
    admin: "/etc/kafka/admin-tools.properties",
} as const;
export type LabIdentity = keyof typeof TOOLS_PROPERTIES;
/** internalSecurity mtls, ZooKeeper mode: ZooKeeper's tools on its nodes, as the node (the identity its znodes' ACLs name). */
export const ZOOKEEPER_TOOLS_PROPERTIES = "/etc/kafka/zookeeper-tools.properties";
/** A certificate of the lab's (CN=<name>,OU=internal,O=kafka-lab) is the principal User:<name>; any other keeps its whole subject. */
export const PRINCIPAL_MAPPING_RULES = "RULE:^CN=([a-z0-9-]+),OU=internal,O=kafka-lab$/$1/,DEFAULT";

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

/** What a template is rendered from: values, booleans that show or hide its sections, lists for repeated lines. */
export type TemplateValue = string | number | boolean | readonly TemplateValue[] | { readonly [key: string]: TemplateValue };
export type TemplateView = { readonly [key: string]: TemplateValue };

/**
 * Renders a Mustache template from templates/. A value is written as it is (no HTML escaping: these are
 * configuration files). A variable without a value is an error, never an empty string; a section may be
 * absent, and is then left out like a false one.
 */
export function renderTemplate(name: string, view: TemplateView): string {
    const text = readTemplate(name);
    requireValues(name, Mustache.parse(text), new Mustache.Context(view));
    return Mustache.render(text, view, {}, { escape: (value) => String(value) });
}

/** Walks the template as Mustache renders it: the sections it would show, each list item in turn. */
function requireValues(name: string, tokens: Mustache.TemplateSpans, context: Mustache.Context): void {
    for (const token of tokens) {
        const [type, key] = token;
        if (type === "name" || type === "&") {
            if (context.lookup(key) == null) throw new Error(`template ${name} needs a value for {{${key}}}`);
        } else if (type === "#" || type === "^") {
            const value = context.lookup(key);
            const inner = token[4] as Mustache.TemplateSpans;
            const shown = Array.isArray(value) ? value.length > 0 : Boolean(value);
            if (type === "^") {
                if (!shown) requireValues(name, inner, context);
            } else if (Array.isArray(value)) {
                for (const item of value) requireValues(name, inner, context.push(item));
            } else if (shown) {
                requireValues(name, inner, typeof value === "boolean" ? context : context.push(value));
            }
        } else if (type === ">") {
            throw new Error(`template ${name} includes {{>${key}}}: templates here have no partials`);
        }
    }
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
    const hosts = config.topology.hosts.map((h) => ({ address: addresses[h.name].privateIp, name: h.name }));
    return renderTemplate("hosts", { stack: config.stack, hosts });
}

export function renderZookeeperProperties(config: LabConfig): string {
    const zookeepers = config.topology.zookeepers;
    return renderTemplate("zookeeper.properties", {
        stack: config.stack,
        data_dir: config.dataDir,
        zookeeper_port: config.kafka.zookeeperPort,
        tls: config.security.internal === "mtls",
        keystore: TLS_FILES.node,
        ca_file: TLS_FILES.ca,
        ensemble: zookeepers.length > 1,
        servers: zookeepers.map((z) => ({ id: z.zookeeperId!, host: z.name })),
        quorum_port: ZOOKEEPER_PEER_PORTS[0],
        election_port: ZOOKEEPER_PEER_PORTS[1],
    });
}

/** The listeners' security settings that server.properties and controller.properties share. */
function securityView(config: LabConfig) {
    const s = config.security;
    const mtls = s.internal === "mtls";
    return {
        mtls,
        internal_protocol: mtls ? "SSL" : "PLAINTEXT",
        internal_keystore: TLS_FILES.node,
        ca_file: TLS_FILES.ca,
        principal_mapping_rules: PRINCIPAL_MAPPING_RULES,
        sasl_ssl: s.external === "sasl_ssl",
        authorizer: mtls || s.external === "sasl_ssl",
        super_users: mtls ? `User:${s.nodeUser}` : `User:ANONYMOUS;User:${s.adminUser}`,
        super_users_why: mtls
            ? `The nodes alone are super users (User:${s.nodeUser}, by their certificates); the admin and the client have ACLs, ANONYMOUS none but with a plaintext external listener the client's.`
            : "Plaintext listeners inside the lab are ANONYMOUS: super users, as is the admin.",
        controller_super_users_why: mtls
            ? `The brokers reach them over TLS as User:${s.nodeUser}, the only super user.`
            : "The brokers reach them over plaintext as ANONYMOUS: super users, as is the admin.",
    };
}

/**
 * A broker's server.properties. Its lines are all in the template, a section for each thing they depend
 * on (ZooKeeper or KRaft, controller, sasl_ssl, rack); here only their values.
 */
export function renderServerProperties(config: LabConfig, hostName: string, addresses: LabAddresses, targetRack = "", mode: BrokerMode = brokerMode(config)): string {
    const host = labHost(config, hostName);
    const topology = config.topology;
    const k = config.kafka;
    const zookeeper = mode !== "kraft";
    return renderTemplate("server.properties", {
        stack: config.stack,
        host: host.name,
        metadata: mode === "kraft" ? "KRaft" : mode === "migrating" ? "ZooKeeper (migrating to KRaft)" : "ZooKeeper",
        zookeeper,
        migrating: mode === "migrating",
        kraft: !zookeeper,
        controller: runsCombinedController(host),
        node_id: host.nodeId!,
        internal_port: k.internalPort,
        external_port: k.externalPort,
        controller_port: CONTROLLER_PORT,
        internal_host: host.name,
        external_host: addresses[host.name].publicIp,
        ...securityView(config),
        external_protocol: config.security.external === "sasl_ssl" ? "SASL_SSL" : "PLAINTEXT",
        external_keystore: EXTERNAL_KEYSTORE,
        zookeeper_connect: zookeeperConnect(config, host),
        protocol_version: protocolVersion(config),
        controller_quorum_voters: controllerQuorumVoters(config),
        rack: targetRack || host.rack || "",
        data_dir: config.dataDir,
        partitions: k.topic.partitions,
        retention_hours: k.topic.retentionHours,
        replication_factor: topology.replicationFactor,
        min_insync_replicas: topology.minInsyncReplicas,
    });
}

/**
 * How a broker runs: in ZooKeeper mode, in ZooKeeper mode registered with the KRaft controllers too (a
 * migration's first roll, or a rollback's), or as a KRaft broker.
 */
export type BrokerMode = "zookeeper" | "migrating" | "kraft";

/** The mode a broker ends a `pulumi up` in: a migration's dual-write phase ends with KRaft brokers, a rollback with ZooKeeper ones. */
export function brokerMode(config: LabConfig): BrokerMode {
    const m = config.topology.migration;
    if (m === "dual-write" || m === "finalize") return "kraft";
    if (m === "rollback") return "zookeeper";
    return config.topology.metadata === "kraft" ? "kraft" : "zookeeper";
}

/**
 * ZooKeeper's connect string as a host sees it: the host running the only node talks to it locally, as the
 * guide's lab did, except over TLS (mtls), where the name must be one the node's certificate carries.
 */
export function zookeeperConnect(config: LabConfig, host: LabHost): string {
    const zookeepers = config.topology.zookeepers;
    const local = zookeepers.length === 1 && config.security.internal === "plaintext";
    return zookeepers.map((z) => `${local && z.name === host.name ? "localhost" : z.name}:${config.kafka.zookeeperPort}`).join(",");
}

/** What ZooKeeper's own tools (zookeeper-shell.sh -zk-tls-config-file) connect with as the node, over TLS (mtls). */
export function renderZookeeperToolsProperties(config: LabConfig): string {
    return [
        `# ZooKeeper tools on a ZooKeeper node (kafka-lab ${config.stack}), as ${config.security.nodeUser}: TLS with its certificate.`,
        `# e.g. /opt/kafka/bin/zookeeper-shell.sh ${zookeeperConnect(config, config.topology.zookeepers[0])} -zk-tls-config-file ${ZOOKEEPER_TOOLS_PROPERTIES} ls /`,
        "zookeeper.ssl.client.enable=true",
        "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
        "zookeeper.ssl.keystore.type=PEM",
        `zookeeper.ssl.keystore.location=${TLS_FILES.node}`,
        "zookeeper.ssl.truststore.type=PEM",
        `zookeeper.ssl.truststore.location=${TLS_FILES.ca}`,
    ].join("\n");
}

/** KRaft's static quorum: each controller's node id at its host's controller port. */
export function controllerQuorumVoters(config: LabConfig): string {
    return config.topology.controllers.map((c) => `${controllerNodeId(c)}@${c.name}:${CONTROLLER_PORT}`).join(",");
}

/** A dedicated controller's controller.properties (controllers: dedicated). */
export function renderControllerProperties(config: LabConfig, hostName: string): string {
    const host = labHost(config, hostName);
    if (!runsDedicatedController(host)) throw new Error(`${hostName} runs no dedicated controller`);
    return renderTemplate("controller.properties", {
        stack: config.stack,
        host: host.name,
        node_id: host.controllerId!,
        controller_port: CONTROLLER_PORT,
        controller_quorum_voters: controllerQuorumVoters(config),
        // dual-write: ZooKeeper's metadata copied, then written there too (finalize renders without it).
        migration: config.topology.migration === "dual-write",
        zookeeper_connect: zookeeperConnect(config, host),
        ...securityView(config),
        data_dir: config.dataDir,
        partitions: config.kafka.topic.partitions,
        replication_factor: config.topology.replicationFactor,
        min_insync_replicas: config.topology.minInsyncReplicas,
    });
}

export function renderControllerUnit(config: LabConfig): string {
    return renderTemplate("kafka-controller.service", { heap: config.kafka.controllerHeap, kafka_home: releaseHome(config), nofile: NOFILE_LIMIT, data_dir: config.dataDir, jmx_port: CONTROLLER_JMX_PORT, ...metricsAgent(METRICS_PORTS.controller), ...serviceJvm(config) });
}

/** An AWS instance's user data: cloud-init installs its SSH host key (made on the deploying machine) at first boot. */
export function renderUserData(hostName: string, key: { privateKey: string; publicKey: string }): string {
    return renderTemplate("cloud-init.yaml", { host: hostName, private_key_lines: key.privateKey.trimEnd().split("\n"), public_key: key.publicKey });
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
    return renderTemplate("zookeeper.service", { heap: config.kafka.zookeeperHeap, kafka_home: releaseHome(config), nofile: NOFILE_LIMIT, data_dir: config.dataDir, ...metricsAgent(METRICS_PORTS.zookeeper), ...serviceJvm(config) });
}

export function renderKafkaUnit(config: LabConfig, hostName: string, mode: BrokerMode = brokerMode(config)): string {
    const host = labHost(config, hostName);
    return renderTemplate("kafka.service", {
        heap: config.kafka.brokerHeap,
        kafka_home: releaseHome(config),
        nofile: NOFILE_LIMIT,
        data_dir: config.dataDir,
        // A KRaft broker has no use for the ZooKeeper beside it (dual-write): its unit is then the finalized one.
        local_zookeeper: hasRole(host, "zookeeper") && mode !== "kraft",
        local_controller: runsDedicatedController(host),
        ...metricsAgent(METRICS_PORTS.broker),
        ...serviceJvm(config),
    });
}

/** A JVM service's unit loads the JMX exporter agent, answering on its own port. */
const metricsAgent = (port: number) => ({ agent_jar: AGENT_JAR, agent_rules: AGENT_RULES, metrics_port: port });

/**
 * Kafka's own JVM options for its services (kafka-run-class.sh, 3.9 and 4.x), and the client compiler alone:
 * what the local target's services run with. Its machines share one small host, where a service's life is
 * restarts and light load: C2's compiles at every start cost more CPU than its faster code saves (measured:
 * README, "Inside the lab: mutual TLS", after the tools' properties). Other targets keep Kafka's defaults,
 * the unit sets nothing.
 */
const LOCAL_SERVICE_JVM_OPTS = "-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true -XX:TieredStopAtLevel=1";
const serviceJvm = (config: LabConfig) => ({ jvm_performance_opts: config.target === "local" ? LOCAL_SERVICE_JVM_OPTS : "" });

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
    // finalize keeps ZooKeeper's ports until its nodes are retired: the firewall step runs first, while the
    // controllers still write to ZooKeeper (nothing listens on them afterwards).
    const retiring = config.topology.retiredZookeepers.includes(host);
    if (hasRole(host, "zookeeper") || retiring) {
        // ZooKeeper holds the SCRAM credentials and ACLs, unauthenticated: only the brokers need it.
        rules.push(...[...from(config.topology.brokers), ...config.network.zookeeperCidrs].map((source) => ({ port: k.zookeeperPort, source, why: "zookeeper, from the brokers" })));
        const peers = from((retiring ? config.topology.retiredZookeepers : config.topology.zookeepers).filter((z) => z.name !== host.name));
        for (const port of ZOOKEEPER_PEER_PORTS) rules.push(...peers.map((source) => ({ port, source, why: "zookeeper ensemble peers" })));
    }
    // Metrics: the exporters only to the monitoring host's Prometheus; Prometheus (and its dashboard) to admins.
    const monitoring = from([config.topology.monitoring]);
    for (const port of exporterPorts(config.topology, host.name)) rules.push(...monitoring.map((source) => ({ port, source, why: "metrics, from the monitoring host" })));
    if (host === config.topology.monitoring) rules.push(...config.network.adminCidrs.map((source) => ({ port: PROMETHEUS_PORT, source, why: "prometheus and the dashboard, from admins" })));
    // One rule per (port, source): a source listed twice must not yield a duplicate firewalld rule.
    const seen = new Set<string>();
    return rules.filter((r) => {
        const id = `${r.port} ${r.source}`;
        return seen.has(id) ? false : (seen.add(id), true);
    });
}

export function renderFirewallZone(hostName: string, config: LabConfig, addresses: LabAddresses): string {
    const rules = firewallRules(hostName, config, addresses).map((r) => ({ source: r.source, port: r.port }));
    return renderTemplate("firewalld-zone.xml", { role: hostName, stack: config.stack, rules });
}

export function renderClientsEnv(config: LabConfig): string {
    const mtls = config.security.internal === "mtls";
    return [
        "# Written by kafka-lab: defaults of the example clients in /opt/kafka-lab/clients.",
        `BOOTSTRAP_SERVERS=${internalBootstrap(config)}`,
        `TOPIC=${config.kafka.topic.name}`,
        `SECURITY_PROTOCOL=${mtls ? "SSL" : "PLAINTEXT"}`,
        ...(mtls ? [`SSL_CAFILE=${TLS_FILES.ca}`, `SSL_KEYSTORE=${TLS_FILES.client}`] : []),
    ].join("\n");
}

/** What Kafka's tools connect to the internal listener with, as `identity` (see TOOLS_PROPERTIES). */
export function renderToolsProperties(config: LabConfig, identity: LabIdentity): string {
    const mtls = config.security.internal === "mtls";
    const user = { node: config.security.nodeUser, client: config.security.clientUser, admin: config.security.adminUser }[identity];
    return [
        `# Kafka tools inside the lab (kafka-lab ${config.stack}), ${mtls ? `as ${user}: TLS with its certificate` : "plaintext (internalSecurity: plaintext)"}.`,
        `# e.g. /opt/kafka/bin/kafka-topics.sh --bootstrap-server ${internalBootstrap(config).split(",")[0]} --command-config ${TOOLS_PROPERTIES[identity]} --list`,
        `security.protocol=${mtls ? "SSL" : "PLAINTEXT"}`,
        ...(mtls ? ["ssl.keystore.type=PEM", `ssl.keystore.location=${TLS_FILES[identity]}`, "ssl.truststore.type=PEM", `ssl.truststore.location=${TLS_FILES.ca}`] : []),
    ].join("\n");
}

/** The lab's Prometheus configuration: a job per kind of exporter, each target by its lab name. */
export function renderPrometheusConfig(config: LabConfig): string {
    const targets = scrapeTargets(config.topology);
    const why: Record<keyof typeof targets, string> = {
        kafka: "the brokers: the JMX exporter agent in each",
        "kafka-controller": "the dedicated KRaft controllers: the JMX exporter agent in each",
        zookeeper: "ZooKeeper: the JMX exporter agent in each node",
        node: "every machine: node_exporter (CPU, memory, disks, network)",
        lag: "consumer group lag, read from Kafka by the lag exporter on this machine",
    };
    const jobs = (Object.keys(targets) as (keyof typeof targets)[])
        .filter((job) => targets[job].length > 0)
        .map((job) => ({
            job,
            why: why[job],
            // The lag exporter answers on this machine's loopback only.
            targets: targets[job].map((t) => ({ host: t.host, address: `${job === "lag" ? "127.0.0.1" : t.host}:${t.port}` })),
        }));
    return renderTemplate("monitoring/prometheus.yml", { stack: config.stack, monitoring_host: config.topology.monitoring.name, rules_file: `${PROMETHEUS_CONFIG_DIR}/alerts.yml`, jobs });
}

/** What the alert rules and the dashboard are rendered from. */
const alertView = (config: LabConfig) => ({
    stack: config.stack,
    data_dir: config.dataDir,
    broker_hosts: config.topology.brokers.map((b) => b.name).join("|"),
    disk_ratio: DISK_ALERT_RATIO,
    disk_percent: Math.round(DISK_ALERT_RATIO * 100),
    group: WATCHED_GROUP,
    lag_threshold: LAG_ALERT_THRESHOLD,
});

export function renderAlertRules(config: LabConfig): string {
    return renderTemplate("monitoring/alerts.yml", alertView(config));
}

export function renderDashboard(config: LabConfig): string {
    return renderTemplate("monitoring/dashboard.html", alertView(config));
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
    | "exporters"
    | "data-volume"
    | "install-kafka"
    | "identities"
    | "zookeeper"
    | "zookeeper-roll"
    | "kafka-controller"
    | "kafka-controller-roll"
    | "kafka-broker"
    | "kafka-migrate"
    | "migration-copied"
    | "kafka-controller-retire"
    | "zookeeper-unmigrate"
    | "kafka-roll"
    | "kafka-protocol"
    | "features"
    | "migration-finalized"
    | "zookeeper-retire"
    | "internal-acls"
    | "topic"
    | "scram-acls"
    | "clients"
    | "monitoring";

/**
 * The steps of one host, in the order they run, from its roles. The tarball is fetched and verified
 * right after the machine answers, so a bad checksum stops the run before anything is installed. The
 * first broker also makes the lab's topic, once every broker answers.
 */
export function stepsFor(config: LabConfig, hostName: string, hasDataVolume: boolean): StepName[] {
    const host = labHost(config, hostName);
    const { topology } = config;
    const first = host === topology.brokers[0];
    const migration = topology.migration;
    const steps: StepName[] = ["wait-ready", "stage-kafka", "hostname", "hosts-file", "firewall", "java", "exporters"];
    if (hasDataVolume && hasRole(host, "broker")) steps.push("data-volume");
    steps.push("install-kafka", "identities");
    if (hasRole(host, "zookeeper")) steps.push("zookeeper", "zookeeper-roll");
    if (keepsDedicatedController(topology, host)) steps.push("kafka-controller", "kafka-controller-roll");
    if (hasRole(host, "broker")) {
        steps.push("kafka-broker");
        // A migration's phases roll the brokers twice: dual-write into ZooKeeper mode with the migration's
        // settings, then as KRaft brokers; a rollback back into that mode, then as plain ZooKeeper brokers.
        if (migration === "dual-write") steps.push("kafka-migrate", ...(first ? (["migration-copied"] as StepName[]) : []));
        if (migration === "rollback") steps.push("kafka-migrate", ...(runsDedicatedController(host) ? (["kafka-controller-retire"] as StepName[]) : []), ...(first ? (["zookeeper-unmigrate"] as StepName[]) : []));
        steps.push("kafka-roll");
    }
    if (hasRole(host, "broker") && topology.metadata === "zookeeper" && migration !== "dual-write") steps.push("kafka-protocol");
    if (first && migration === "finalize") steps.push("migration-finalized");
    if (topology.retiredZookeepers.includes(host)) steps.push("zookeeper-retire");
    // The admin's ACLs come before its first use (features, the topic).
    if (first && config.security.internal === "mtls") steps.push("internal-acls");
    // metadata.version stays as it is during a migration (Kafka refuses a change before it is finalized).
    if (first && topology.metadata === "kraft") steps.push("features");
    if (first) steps.push("topic");
    if (first && config.security.external === "sasl_ssl") steps.push("scram-acls");
    if (hasRole(host, "producer") || hasRole(host, "consumer")) steps.push("clients");
    // After the clients: the lag exporter is a kafka-python client too.
    if (host === topology.monitoring) steps.push("monitoring");
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

/** Where the uploaded JMX exporter agent lands before the exporters step checks it. */
export const stagedAgentPath = () => `${UPLOAD_DIR}/jmx_prometheus_javaagent.jar`;
/** Where kafka-python's wheel lands before the clients step checks it (pip wants its own file name). */
export const stagedWheelPath = () => `${UPLOAD_DIR}/${KAFKA_PYTHON_WHEEL.file}`;

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
            case "exporters":
                return [
                    "exporters.sh",
                    {
                        AGENT_STAGED: runsJvmService(host) ? stagedAgentPath() : "",
                        AGENT_SHA256: ctx.agent.sha256,
                        AGENT_JAR,
                        AGENT_RULES_PATH: AGENT_RULES,
                        AGENT_RULES: runsJvmService(host) ? readTemplate("jmx-exporter.yaml") : "",
                        NODE_EXPORTER_PORT: METRICS_PORTS.node,
                    },
                ];
            case "data-volume":
                // The size is an input too: a grown volume re-runs the step, which grows the filesystem.
                return ["mount-data-volume.sh", { DATA_DEVICES: ctx.dataDevices.join(" "), DATA_DIR: config.dataDir, DATA_SIZE_GIB: ctx.dataVolumeGiB }];
            case "install-kafka":
                return [
                    "install-kafka.sh",
                    { TARBALL: tarballName(config), KAFKA_DIR_NAME: kafkaDirName(config), DATA_DIR: config.dataDir, ARTIFACT_SHA512: ctx.artifact.sha512 },
                ];
            case "identities": {
                const c = ctx.credentials;
                const mtls = config.security.internal === "mtls";
                if (mtls && !c?.caCertificate) throw new Error("the identities step needs the stack's credentials (internalSecurity mtls)");
                const holds = identitiesOf(config, host.name);
                const tools = (identity: LabIdentity) => (holds.includes(identity) ? renderToolsProperties(config, identity) : "");
                const keystore = (identity: LabIdentity) => (mtls && holds.includes(identity) ? { node: c!.nodeKeystore, client: c!.clientKeystore, admin: c!.adminKeystore }[identity] : "");
                return [
                    "identities.sh",
                    {
                        TLS_DIR: path.dirname(TLS_FILES.ca),
                        CA_PATH: TLS_FILES.ca,
                        CA_CERT: mtls ? c!.caCertificate : "",
                        NODE_KEYSTORE_PATH: TLS_FILES.node,
                        NODE_KEYSTORE: keystore("node"),
                        CLIENT_KEYSTORE_PATH: TLS_FILES.client,
                        CLIENT_KEYSTORE: keystore("client"),
                        ADMIN_KEYSTORE_PATH: TLS_FILES.admin,
                        ADMIN_KEYSTORE: keystore("admin"),
                        NODE_TOOLS_PATH: TOOLS_PROPERTIES.node,
                        NODE_TOOLS: tools("node"),
                        CLIENT_TOOLS_PATH: TOOLS_PROPERTIES.client,
                        CLIENT_TOOLS: tools("client"),
                        ADMIN_TOOLS_PATH: TOOLS_PROPERTIES.admin,
                        ADMIN_TOOLS: tools("admin"),
                        // Only where there is one: a plaintext stack's step keeps the inputs it always had.
                        ...(mtls && hasRole(host, "zookeeper") ? { ZOOKEEPER_TOOLS_PATH: ZOOKEEPER_TOOLS_PROPERTIES, ZOOKEEPER_TOOLS: renderZookeeperToolsProperties(config) } : {}),
                    },
                ];
            }
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
                        // mtls: the node's tools' properties, for asking ZooKeeper over TLS; a new certificate rolls it.
                        ...(config.security.internal === "mtls" ? { TOOLS: TOOLS_PROPERTIES.node, INTERNAL_TLS: internalTlsDigest(ctx) } : {}),
                    },
                ];
            case "kafka-controller":
            case "kafka-controller-roll":
                return [
                    "kafka-controller.sh",
                    {
                        CONTROLLER_PROPERTIES: renderControllerProperties(config, host.name),
                        CONTROLLER_UNIT: renderControllerUnit(config),
                        KAFKA_DIR_NAME: kafkaDirName(config),
                        CONTROLLER_ID: host.controllerId!,
                        CLUSTER_ID: ctx.clusterId,
                        CONTROLLER_PORT,
                        QUORUM_SIZE: config.topology.controllers.length,
                        DATA_DIR: config.dataDir,
                        INTERNAL_BOOTSTRAP: internalBootstrap(config),
                        REBUILD: String(config.rebuildCluster),
                        INTERNAL_TLS: internalTlsDigest(ctx),
                        TOOLS: TOOLS_PROPERTIES.node,
                    },
                ];
            case "kafka-broker":
            case "kafka-migrate":
            case "kafka-roll":
            case "kafka-protocol": {
                const mode = name === "kafka-migrate" ? "migrating" : brokerMode(config);
                const migration = config.topology.migration;
                return [
                    "kafka-broker.sh",
                    {
                        SERVER_PROPERTIES: renderServerProperties(config, host.name, addresses, ctx.rack, mode),
                        KAFKA_UNIT: renderKafkaUnit(config, host.name, mode),
                        KAFKA_DIR_NAME: kafkaDirName(config),
                        NODE_ID: host.nodeId!,
                        METADATA: mode === "kraft" ? "kraft" : "zookeeper",
                        MIGRATION: migration,
                        // The mode a broker must run in for the migration's roll to move it (dual-write: out of ZooKeeper mode; rollback: out of KRaft).
                        MIGRATE_FROM: name !== "kafka-migrate" ? "" : migration === "dual-write" ? "zookeeper" : "kraft",
                        CLUSTER_ID: ctx.clusterId,
                        CLUSTER: String(config.topology.brokers.length > 1),
                        OWN_LISTENER: `${host.name}:${k.internalPort}`,
                        CONTROLLER_PORT: runsCombinedController(host) ? CONTROLLER_PORT : "",
                        REBUILD: String(config.rebuildCluster),
                        EXTERNAL_KEYSTORE_PATH: EXTERNAL_KEYSTORE,
                        EXTERNAL_KEYSTORE: ctx.credentials?.keystore ?? "",
                        INTERNAL_TLS: internalTlsDigest(ctx),
                        TOOLS: TOOLS_PROPERTIES.node,
                    },
                ];
            }
            case "migration-copied":
            case "migration-finalized":
                return [
                    "migration-state.sh",
                    {
                        // ZkMigrationState: 1 MIGRATION (the metadata copied, dual-write), 3 POST_MIGRATION (finalized).
                        EXPECTED_STATE: name === "migration-copied" ? 1 : 3,
                        JMX_URL: `service:jmx:rmi:///jndi/rmi://127.0.0.1:${CONTROLLER_JMX_PORT}/jmxrmi`,
                    },
                ];
            case "kafka-controller-retire":
                return ["kafka-controller-retire.sh", { DATA_DIR: config.dataDir }];
            case "zookeeper-unmigrate":
                return [
                    "zookeeper-unmigrate.sh",
                    {
                        ZOOKEEPER_CONNECT: zookeeperConnect(config, host),
                        // Under mtls ZooKeeper takes TLS clients alone (the identities step wrote this file on its nodes).
                        ...(config.security.internal === "mtls" && { ZOOKEEPER_TOOLS_PROPERTIES }),
                    },
                ];
            case "zookeeper-retire":
                return ["zookeeper-retire.sh", { DATA_DIR: config.dataDir }];
            case "features":
                return ["features.sh", { INTERNAL_BOOTSTRAP: internalBootstrap(config), TOOLS: TOOLS_PROPERTIES.node, RELEASE: protocolVersion(config) }];
            case "internal-acls": {
                const s = config.security;
                return [
                    "internal-acls.sh",
                    {
                        INTERNAL_BOOTSTRAP: internalBootstrap(config),
                        TOOLS: TOOLS_PROPERTIES.node,
                        ADMIN_USER: s.adminUser,
                        CLIENT_USER: s.clientUser,
                        CLIENT_TOPICS: s.clientTopics.join(" "),
                        CLIENT_GROUPS: s.clientGroups.join(" "),
                        CLIENT_PREFIXES: s.clientPrefixes.join(" "),
                        ANONYMOUS_AS_CLIENT: String(s.external === "plaintext"),
                    },
                ];
            }
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
                        TOOLS: TOOLS_PROPERTIES.admin,
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
                        TOOLS: TOOLS_PROPERTIES.admin,
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
                        WHEEL: stagedWheelPath(),
                        WHEEL_SHA256: ctx.clientWheel.sha256,
                        KAFKA_PYTHON_VERSION: KAFKA_PYTHON_WHEEL.file.split("-")[1],
                    },
                ];
            case "monitoring":
                return [
                    "monitoring.sh",
                    {
                        PROMETHEUS_YML: renderPrometheusConfig(config),
                        ALERT_RULES: renderAlertRules(config),
                        DASHBOARD_HTML: renderDashboard(config),
                        PROMETHEUS_UNIT: renderTemplate("monitoring/prometheus.service", {
                            config_dir: PROMETHEUS_CONFIG_DIR,
                            data_dir: PROMETHEUS_DATA_DIR,
                            retention: "7d",
                            port: PROMETHEUS_PORT,
                        }),
                        CONFIG_DIR: PROMETHEUS_CONFIG_DIR,
                        DATA_DIR: PROMETHEUS_DATA_DIR,
                        PROMETHEUS_PORT,
                        LAG_EXPORTER_PY: readTemplate("monitoring/lag-exporter.py"),
                        LAG_EXPORTER_PATH: LAG_EXPORTER,
                        LAG_EXPORTER_UNIT: renderTemplate("monitoring/lag-exporter.service", {
                            script: LAG_EXPORTER,
                            bootstrap: internalBootstrap(config),
                            port: METRICS_PORTS.lag,
                            mtls: config.security.internal === "mtls",
                            client_keystore: TLS_FILES.client,
                            ca_file: TLS_FILES.ca,
                        }),
                        LAG_EXPORTER_PORT: METRICS_PORTS.lag,
                    },
                ];
        }
    })();
    const script = renderStepScript(name, template, inputs);
    return { name, script, fingerprint: crypto.createHash("sha256").update(script).digest("hex") };
}

/** The identities a host holds: the node's on Kafka nodes, the admin's on the first broker, the client's on the client and monitoring machines. */
export function identitiesOf(config: LabConfig, hostName: string): LabIdentity[] {
    const host = labHost(config, hostName);
    const held: LabIdentity[] = [];
    if (hasRole(host, "broker") || hasRole(host, "controller") || hasRole(host, "zookeeper")) held.push("node");
    if (host === config.topology.brokers[0]) held.push("admin");
    if (hasRole(host, "producer") || hasRole(host, "consumer") || host === config.topology.monitoring) held.push("client");
    return held;
}

/** A digest of a Kafka node's internal keystore and CA (mtls; "" otherwise): a new one restarts the node, the secret stays out of its step. */
function internalTlsDigest(ctx: ProvisionContext): string {
    const c = ctx.credentials;
    if (ctx.config.security.internal !== "mtls" || !c?.nodeKeystore) return "";
    return crypto.createHash("sha256").update(c.nodeKeystore).update(c.caCertificate).digest("hex");
}

/** What `pulumi destroy` runs on a machine that outlives the stack (the existing target). */
export function renderUninstall(config: LabConfig, purgeData: boolean): string {
    return renderStepScript("uninstall", "uninstall.sh", { DATA_DIR: config.dataDir, PURGE_DATA: String(purgeData) });
}

/** All steps of a host, rendered. */
export function renderHostSteps(hostName: string, ctx: ProvisionContext): RenderedStep[] {
    return stepsFor(ctx.config, hostName, ctx.dataDevices.length > 0).map((s) => renderStep(s, hostName, ctx));
}
