// Pure rendering: topology and config in, file contents and step scripts out. No Pulumi here, so
// every rendered file can be tested by parsing it.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LabConfig } from "./config";
import { ROLES, Role } from "./machines";

export const TEMPLATES_DIR = path.join(__dirname, "..", "templates");

export interface HostAddress {
    privateIp: string;
    publicIp: string;
}
export type LabAddresses = Record<Role, HostAddress>;

/** Everything a host's provisioning depends on, with every value resolved. */
export interface ProvisionContext {
    config: LabConfig;
    addresses: LabAddresses;
    /** Expected SHA-512 of the Kafka tarball; empty when the hosts read the .sha512 beside the URL. */
    artifactSha512: string;
    /** Candidate block devices of the broker's data volume; none when the data dir needs no mount. */
    dataDevices: string[];
}

export const BROKER_ID = 1;
/** Open files for ZooKeeper and Kafka. Kafka keeps a handle per segment file and connection. */
export const NOFILE_LIMIT = 100000;
export const KAFKA_HOME = "/opt/kafka";
/**
 * The bench's plain TCP stream from the producer to the broker (its network limit): the broker's
 * security group admits it from the producer's, firewalld only for the bench's duration.
 */
export const BENCH_STREAM_PORT = 5201;
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

export function internalBootstrap(config: LabConfig): string {
    return `broker:${config.kafka.internalPort}`;
}
export function externalBootstrap(config: LabConfig, addresses: LabAddresses): string {
    return `${addresses.broker.publicIp}:${config.kafka.externalPort}`;
}

export function renderHosts(config: LabConfig, addresses: LabAddresses): string {
    return renderTemplate("hosts", {
        stack: config.stack,
        broker_ip: addresses.broker.privateIp,
        producer_ip: addresses.producer.privateIp,
        consumer_ip: addresses.consumer.privateIp,
    });
}

export function renderZookeeperProperties(config: LabConfig): string {
    return renderTemplate("zookeeper.properties", {
        stack: config.stack,
        data_dir: config.dataDir,
        zookeeper_port: config.kafka.zookeeperPort,
    });
}

export function renderServerProperties(config: LabConfig, addresses: LabAddresses): string {
    return renderTemplate("server.properties", {
        stack: config.stack,
        broker_id: BROKER_ID,
        internal_port: config.kafka.internalPort,
        external_port: config.kafka.externalPort,
        internal_host: "broker",
        external_host: addresses.broker.publicIp,
        zookeeper_port: config.kafka.zookeeperPort,
        data_dir: config.dataDir,
        partitions: config.kafka.topic.partitions,
        retention_hours: config.kafka.topic.retentionHours,
    });
}

export function renderZookeeperUnit(config: LabConfig): string {
    return renderTemplate("zookeeper.service", { heap: config.kafka.zookeeperHeap, kafka_home: KAFKA_HOME, nofile: NOFILE_LIMIT, data_dir: config.dataDir });
}

export function renderKafkaUnit(config: LabConfig): string {
    return renderTemplate("kafka.service", { heap: config.kafka.brokerHeap, kafka_home: KAFKA_HOME, nofile: NOFILE_LIMIT, data_dir: config.dataDir });
}

export interface FirewallRule {
    port: number;
    source: string;
    why: string;
}

/** Who may reach which port of a machine: the lab machines themselves, admins, and clients. */
export function firewallRules(role: Role, config: LabConfig, addresses: LabAddresses): FirewallRule[] {
    const lab = ROLES.map((r) => `${addresses[r].privateIp}/32`);
    const rules: FirewallRule[] = config.network.adminCidrs.map((source) => ({ port: 22, source, why: "ssh from admins" }));
    if (role === "broker") {
        const k = config.kafka;
        rules.push(...lab.map((source) => ({ port: k.internalPort, source, why: "kafka inside the lab" })));
        rules.push(...config.network.clientCidrs.map((source) => ({ port: k.externalPort, source, why: "kafka for outside clients" })));
        rules.push(...[...lab, ...config.network.zookeeperCidrs].map((source) => ({ port: k.zookeeperPort, source, why: "zookeeper inside the lab" })));
    }
    // One rule per (port, source): a source listed twice must not yield a duplicate firewalld rule.
    const seen = new Set<string>();
    return rules.filter((r) => {
        const id = `${r.port} ${r.source}`;
        return seen.has(id) ? false : (seen.add(id), true);
    });
}

export function renderFirewallZone(role: Role, config: LabConfig, addresses: LabAddresses): string {
    const rules = firewallRules(role, config, addresses)
        .map((r) => `  <rule family="ipv4"><source address="${r.source}"/><port port="${r.port}" protocol="tcp"/><accept/></rule>`)
        .join("\n");
    return renderTemplate("firewalld-zone.xml", { role, stack: config.stack, rules });
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
    | "kafka-broker"
    | "topic"
    | "clients";

/**
 * The steps of one host, in the order they run. The tarball is fetched and verified right after the
 * machine answers, so a bad checksum stops the run before anything is installed.
 */
export function stepsFor(role: Role, hasDataVolume: boolean): StepName[] {
    const common: StepName[] = ["wait-ready", "stage-kafka", "hostname", "hosts-file", "firewall", "java"];
    if (role === "broker") {
        return [...common, ...(hasDataVolume ? (["data-volume"] as StepName[]) : []), "install-kafka", "zookeeper", "kafka-broker", "topic"];
    }
    return [...common, "install-kafka", "clients"];
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

export function renderStep(name: StepName, role: Role, ctx: ProvisionContext): RenderedStep {
    const { config, addresses } = ctx;
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
                        ARTIFACT_URL: k.artifact.kind === "url" ? k.artifact.url : "",
                        STAGED: k.artifact.kind === "file" ? stagedUploadPath(config) : "",
                        EXPECTED_SHA512: ctx.artifactSha512,
                    },
                ];
            case "hostname":
                return ["set-hostname.sh", { LAB_HOSTNAME: role }];
            case "hosts-file":
                return ["write-hosts.sh", { HOSTS_BLOCK: renderHosts(config, addresses) }];
            case "firewall":
                return ["firewall.sh", { ZONE_XML: renderFirewallZone(role, config, addresses) }];
            case "java":
                return ["install-java.sh", {}];
            case "data-volume":
                // The size is an input too: a grown volume re-runs the step, which grows the filesystem.
                return ["mount-data-volume.sh", { DATA_DEVICES: ctx.dataDevices.join(" "), DATA_DIR: config.dataDir, DATA_SIZE_GIB: config.aws?.dataVolumeGiB ?? 0 }];
            case "install-kafka":
                return [
                    "install-kafka.sh",
                    { TARBALL: tarballName(config), KAFKA_DIR_NAME: kafkaDirName(config), DATA_DIR: config.dataDir, ARTIFACT_SHA512: ctx.artifactSha512 },
                ];
            case "zookeeper":
                return [
                    "zookeeper.sh",
                    {
                        ZOOKEEPER_PROPERTIES: renderZookeeperProperties(config),
                        ZOOKEEPER_UNIT: renderZookeeperUnit(config),
                        ZOOKEEPER_PORT: k.zookeeperPort,
                        KAFKA_DIR_NAME: kafkaDirName(config),
                    },
                ];
            case "kafka-broker":
                return [
                    "kafka-broker.sh",
                    {
                        SERVER_PROPERTIES: renderServerProperties(config, addresses),
                        KAFKA_UNIT: renderKafkaUnit(config),
                        KAFKA_DIR_NAME: kafkaDirName(config),
                        BROKER_ID,
                        ZOOKEEPER_PORT: k.zookeeperPort,
                        INTERNAL_BOOTSTRAP: internalBootstrap(config),
                    },
                ];
            case "topic":
                return [
                    "create-topic.sh",
                    {
                        TOPIC: k.topic.name,
                        PARTITIONS: k.topic.partitions,
                        RETENTION_MS: k.topic.retentionHours * 3600 * 1000,
                        INTERNAL_BOOTSTRAP: internalBootstrap(config),
                    },
                ];
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
export function renderHostSteps(role: Role, ctx: ProvisionContext): RenderedStep[] {
    return stepsFor(role, ctx.dataDevices.length > 0).map((s) => renderStep(s, role, ctx));
}
