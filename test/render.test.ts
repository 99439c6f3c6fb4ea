import test from "ava";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSha512File } from "../src/artifact";
import { JMX_EXPORTER_AGENT, KAFKA_PYTHON_WHEEL } from "../src/downloads";
import { brokerSans, internalSans, parseIssued, renderClientProperties } from "../src/credentials";
import { validateConfig } from "../src/config";
// The guide's lab: one broker, and the two client machines.
const ROLES = ["broker", "producer", "consumer"] as const;
import {
    LabAddresses,
    ProvisionContext,
    firewallRules,
    renderAlertRules,
    renderDashboard,
    renderFirewallZone,
    renderPrometheusConfig,
    renderHostSteps,
    renderHosts,
    renderControllerProperties,
    renderControllerUnit,
    renderClientsEnv,
    renderToolsProperties,
    renderKafkaUnit,
    renderServerProperties,
    renderStep,
    renderTemplate,
    renderZookeeperProperties,
    renderZookeeperToolsProperties,
    renderZookeeperUnit,
    shellQuote,
    renderUninstall,
    renderUserData,
    stepsFor,
} from "../src/render";
import { parse as parseYaml } from "yaml";
import { REPO } from "./helpers/lab";

const addresses: LabAddresses = {
    broker: { privateIp: "10.42.1.11", publicIp: "198.51.100.7" },
    producer: { privateIp: "10.42.1.12", publicIp: "198.51.100.8" },
    consumer: { privateIp: "10.42.1.13", publicIp: "198.51.100.9" },
};
const awsRaw = { target: "aws", adminCidrs: ["203.0.113.0/24"], clientCidrs: ["203.0.113.0/24", "192.0.2.0/24"], zookeeperCidrs: ["10.42.0.0/16"] };
const config = validateConfig(awsRaw, { stack: "dev", awsRegion: "eu-west-1" });
// Each machine fetches the tarball and reads the .sha512 beside it (artifactDelivery download, no pinned checksum).
const ctx: ProvisionContext = { config, addresses, artifact: { url: "https://archive.apache.org/dist/kafka/3.9.2/kafka_2.13-3.9.2.tgz", sha512: "" }, agent: { upload: "/cache/jmx_prometheus_javaagent-1.0.1.jar", sha256: JMX_EXPORTER_AGENT.sha256 }, clientWheel: { upload: "/cache/kafka_python.whl", sha256: KAFKA_PYTHON_WHEEL.sha256 }, dataDevices: ["/dev/sdf"], dataVolumeGiB: 20, clusterId: "" };

/** key=value lines of a .properties file; comments and blank lines skipped, duplicates rejected. */
function parseProperties(text: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of text.split("\n")) {
        if (!line.trim() || line.trim().startsWith("#")) continue;
        const i = line.indexOf("=");
        if (i < 0) throw new Error(`not a property line: ${line}`);
        const key = line.slice(0, i).trim();
        if (key in out) throw new Error(`duplicate property ${key}`);
        out[key] = line.slice(i + 1).trim();
    }
    return out;
}

/** An Environment= value as systemd reads it: space-separated assignments, each optionally double-quoted. */
function parseEnvironment(values: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const value of values) {
        for (const m of value.matchAll(/"([^"]*)"|(\S+)/g)) {
            const word = m[1] ?? m[2];
            const i = word.indexOf("=");
            if (i > 0) out[word.slice(0, i)] = word.slice(i + 1);
        }
    }
    return out;
}

/** [Section] key=value of a systemd unit; repeated keys collect into arrays. */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
    const out: Record<string, Record<string, string[]>> = {};
    let section = "";
    for (const line of text.split("\n")) {
        const m = /^\[(\w+)\]$/.exec(line.trim());
        if (m) {
            section = m[1];
            out[section] = {};
        } else if (line.trim() && !line.trim().startsWith("#")) {
            const i = line.indexOf("=");
            (out[section][line.slice(0, i)] ??= []).push(line.slice(i + 1));
        }
    }
    return out;
}

test("/etc/hosts block lists the three machines by private address, between markers", (t) => {
    const lines = renderHosts(config, addresses).trim().split("\n");
    t.regex(lines[0], /^# BEGIN kafka-lab/);
    t.regex(lines.at(-1)!, /^# END kafka-lab/);
    const entries = lines.slice(1, -1).map((l) => l.split(/\s+/));
    t.deepEqual(entries, [
        ["10.42.1.11", "broker"],
        ["10.42.1.12", "producer"],
        ["10.42.1.13", "consumer"],
    ]);
});

test("server.properties: two listeners advertised for inside and outside, persistent log.dirs, ZooKeeper, broker id", (t) => {
    const p = parseProperties(renderServerProperties(config, "broker", addresses));
    t.is(p["broker.id"], "1");
    t.is(p["listeners"], "INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9094");
    t.is(p["advertised.listeners"], "INTERNAL://broker:9092,EXTERNAL://198.51.100.7:9094");
    t.is(p["listener.security.protocol.map"], "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT");
    t.is(p["inter.broker.listener.name"], "INTERNAL");
    t.is(p["log.dirs"], "/var/lib/kafka/data");
    t.is(p["zookeeper.connect"], "localhost:2181");
    t.is(p["log.retention.hours"], "168");
    t.is(p["num.partitions"], "3");
    t.is(p["offsets.topic.replication.factor"], "1");
});

test("service JVMs: the local target's compile with C1 alone, Kafka's other options kept; AWS keeps Kafka's defaults", (t) => {
    const kafkaDefaults = "-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true";
    const units = (c: typeof config) => [
        renderKafkaUnit(c, c.topology.brokers[0].name),
        renderZookeeperUnit(c),
        renderControllerUnit(c),
    ];
    const local = validateConfig({ adminCidrs: "[]" }, { stack: "local", cacheDir: "/c" });
    for (const unit of units(local)) {
        const opts = parseEnvironment(parseUnit(unit).Service.Environment).KAFKA_JVM_PERFORMANCE_OPTS;
        t.is(opts, `${kafkaDefaults} -XX:TieredStopAtLevel=1`);
    }
    for (const unit of units(config)) t.false("KAFKA_JVM_PERFORMANCE_OPTS" in parseEnvironment(parseUnit(unit).Service.Environment), "AWS: Kafka's own defaults");
});

test("zookeeper.properties: data under the persistent data dir, the configured port", (t) => {
    const other = validateConfig({ zookeeperPort: "2281" }, { stack: "local", cacheDir: "/c" });
    const p = parseProperties(renderZookeeperProperties(other));
    t.is(p["dataDir"], "/var/lib/kafka/zookeeper");
    t.is(p["clientPort"], "2281");
    t.is(p["admin.enableServer"], "false");
    t.true(p["4lw.commands.whitelist"].split(",").includes("ruok"));
});

test("systemd units: Kafka wants and follows ZooKeeper but does not go down with it, both as the kafka user from their release's directory, enabled at boot, heap and limits set", (t) => {
    const zk = parseUnit(renderZookeeperUnit(config));
    const kafka = parseUnit(renderKafkaUnit(config, "broker"));
    t.deepEqual(kafka.Unit.Wants.filter((w) => w.includes("zookeeper")), ["zookeeper.service"]);
    t.false("Requires" in kafka.Unit, "a ZooKeeper restart must not stop the broker");
    t.true(kafka.Unit.After[0].split(/\s+/).includes("zookeeper.service"));
    // The running JVM keeps its release's jars while an upgrade points /opt/kafka at the next one.
    t.deepEqual(kafka.Service.ExecStart, [`/opt/kafka_2.13-${config.kafka.version}/bin/kafka-server-start.sh /etc/kafka/server.properties`]);
    t.deepEqual(zk.Service.ExecStart, [`/opt/kafka_2.13-${config.kafka.version}/bin/zookeeper-server-start.sh /etc/kafka/zookeeper.properties`]);
    for (const unit of [zk, kafka]) {
        t.deepEqual(unit.Service.User, ["kafka"]);
        t.deepEqual(unit.Service.Restart, ["on-failure"]);
        t.deepEqual(unit.Service.LimitNOFILE, ["100000"]);
        t.deepEqual(unit.Install.WantedBy, ["multi-user.target"]);
    }
    // systemd splits an unquoted Environment= at spaces: the heap must arrive whole.
    t.is(parseEnvironment(kafka.Service.Environment).KAFKA_HEAP_OPTS, "-Xms1g -Xmx1g");
    t.is(parseEnvironment(zk.Service.Environment).KAFKA_HEAP_OPTS, "-Xms512m -Xmx512m");
    t.is(parseEnvironment(kafka.Service.Environment).LOG_DIR, "/var/log/kafka");
    // After a reboot neither may start on the empty directory under a data volume not yet mounted.
    for (const unit of [zk, kafka]) t.deepEqual(unit.Unit.RequiresMountsFor, ["/var/lib/kafka"]);
});

test("a grown data volume (AWS) re-runs the mount step, which grows the filesystem; nothing else re-runs", (t) => {
    const grown = { ...ctx, dataVolumeGiB: 50 };
    t.deepEqual(changed(fingerprints(ctx), fingerprints(grown)), ["broker-data-volume"]);
    const script = renderStep("data-volume", "broker", grown).script;
    t.regex(script, /^DATA_SIZE_GIB='50'$/m);
    t.regex(script, /xfs\) xfs_growfs "\$DATA_DIR"/);
    t.regex(script, /ext4\) resize2fs "\$device"/);
    t.notThrows(() => execFileSync("bash", ["-n"], { input: script }));
});

test("a .sha512 file is read in both layouts, sha512sum and Apache's gpg --print-md, by the program and by the machines", (t) => {
    const hex = crypto.createHash("sha512").update("kafka").digest("hex");
    const grouped = hex.toUpperCase().match(/.{1,8}/g)!;
    const layouts = {
        sha512sum: `${hex}  kafka_2.13-3.9.2.tgz\n`,
        gpg: `kafka_2.13-3.9.2.tgz: ${grouped.slice(0, 8).join(" ")}\n                      ${grouped.slice(8).join(" ")}\n`,
    };
    const lib = fs.readFileSync(path.join(REPO, "templates", "scripts", "lib.sh"), "utf8");
    const onMachine = (text: string) => spawnSync("bash", ["-c", `${lib}\nsha512_from_checksum_file "$(cat)"`], { input: text, encoding: "utf8" }).stdout.trim();
    for (const [layout, text] of Object.entries(layouts)) {
        t.is(parseSha512File(text), hex, `program, ${layout}`);
        t.is(onMachine(text), hex, `machine, ${layout}`);
    }
    t.is(onMachine("<html>not found</html>"), "", "anything else yields nothing (the step then stops with a clear error)");
    t.throws(() => parseSha512File("<html>not found</html>"), { message: /not a SHA-512 checksum file/ });
});

test("firewall: SSH only from admins; Kafka inside the lab and external for clients; ZooKeeper from the brokers only", (t) => {
    const rules = firewallRules("broker", config, addresses);
    const sources = (port: number) => rules.filter((r) => r.port === port).map((r) => r.source);
    t.deepEqual(sources(22), ["203.0.113.0/24"]);
    t.deepEqual(sources(9092), ["10.42.1.11/32", "10.42.1.12/32", "10.42.1.13/32"]);
    t.deepEqual(sources(9094), ["203.0.113.0/24", "192.0.2.0/24"]);
    // ZooKeeper holds the SCRAM credentials and ACLs unauthenticated: the brokers (and zookeeperCidrs) only.
    t.deepEqual(sources(2181), ["10.42.1.11/32", "10.42.0.0/16"]);
    // Metrics: node_exporter, the broker's and ZooKeeper's JMX exporter agents, from the monitoring host alone.
    for (const port of [9100, 9404, 9406]) t.deepEqual(sources(port), ["10.42.1.13/32"], `metrics port ${port}`);
    t.deepEqual([...new Set(rules.map((r) => r.port))].sort((a, b) => a - b), [22, 2181, 9092, 9094, 9100, 9404, 9406]);
    t.deepEqual(firewallRules("producer", config, addresses).map((r) => `${r.port} ${r.source}`), ["22 203.0.113.0/24", "9100 10.42.1.13/32"]);
    // The monitoring host: Prometheus (and the dashboard) from admins; its own node_exporter from itself.
    t.deepEqual(firewallRules("consumer", config, addresses).map((r) => `${r.port} ${r.source}`), ["22 203.0.113.0/24", "9100 10.42.1.13/32", "9090 203.0.113.0/24"]);
});

test("firewalld zone file is well-formed and carries exactly the computed rules", (t) => {
    const xml = renderFirewallZone("broker", config, addresses);
    t.regex(xml, /^<\?xml version="1.0" encoding="utf-8"\?>/);
    t.regex(xml, /<zone target="default">[\s\S]*<\/zone>\s*$/);
    const parsed = [...xml.matchAll(/<rule family="ipv4"><source address="([\d./]+)"\/><port port="(\d+)" protocol="tcp"\/><accept\/><\/rule>/g)].map((m) => `${m[2]} ${m[1]}`);
    t.deepEqual(parsed, firewallRules("broker", config, addresses).map((r) => `${r.port} ${r.source}`));
    t.is(xml.match(/<rule /g)!.length, parsed.length);
});

test("steps run in the documented order; the checksum is verified before anything is installed", (t) => {
    t.deepEqual(stepsFor(config, "broker", true), ["wait-ready", "stage-kafka", "hostname", "hosts-file", "firewall", "java", "exporters", "data-volume", "install-kafka", "identities", "zookeeper", "zookeeper-roll", "kafka-broker", "kafka-roll", "kafka-protocol", "topic"]);
    const kraft = validateConfig({ ...awsRaw, brokers: "3", kafkaVersion: "4.4.0" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.deepEqual(stepsFor(kraft, "broker1", false).slice(-4), ["kafka-broker", "kafka-roll", "features", "topic"], "KRaft: the features, not the protocol");
    t.deepEqual(stepsFor(kraft, "broker2", false).slice(-2), ["kafka-broker", "kafka-roll"]);
    t.deepEqual(stepsFor(config, "broker", false).includes("data-volume"), false);
    t.deepEqual(stepsFor(config, "producer", false), ["wait-ready", "stage-kafka", "hostname", "hosts-file", "firewall", "java", "exporters", "install-kafka", "identities", "clients"]);
    t.deepEqual(stepsFor(config, "consumer", false), [...stepsFor(config, "producer", false), "monitoring"]);
});

test("every rendered step script is valid bash", (t) => {
    for (const role of ROLES) {
        for (const step of renderHostSteps(role, ctx)) {
            t.notThrows(() => execFileSync("bash", ["-n"], { input: step.script }), `${role} ${step.name}`);
        }
    }
});

test("step inputs survive shell quoting, whatever they contain", (t) => {
    for (const value of ["plain", "it's", "a\nb 'c' \"d\" $HOME `x` \\", ""]) {
        t.is(execFileSync("bash", ["-c", `v=${shellQuote(value)}; printf %s "$v"`]).toString(), value);
    }
});

test("the hosts-file script carries the rendered block", (t) => {
    const step = renderStep("hosts-file", "producer", ctx);
    const out = execFileSync("bash", ["-c", `${step.script.split("\nlog()")[0]}\nprintf %s "$HOSTS_BLOCK"`]).toString();
    t.is(out, renderHosts(config, addresses));
});

const fingerprints = (c: ProvisionContext) =>
    Object.fromEntries(ROLES.flatMap((role) => renderHostSteps(role, c).map((s) => [`${role}-${s.name}`, s.fingerprint])));
const changed = (a: Record<string, string>, b: Record<string, string>) => Object.keys(a).filter((k) => a[k] !== b[k]);

test("re-rendering with no change changes no trigger", (t) => {
    t.deepEqual(changed(fingerprints(ctx), fingerprints({ ...ctx })), []);
});

test("a changed broker setting re-renders and restarts Kafka only", (t) => {
    const heavier = { ...ctx, config: { ...config, kafka: { ...config.kafka, brokerHeap: "2g" } } };
    t.deepEqual(changed(fingerprints(ctx), fingerprints(heavier)), ["broker-kafka-broker", "broker-kafka-roll", "broker-kafka-protocol"]);
});

test("a new Kafka version re-stages and reinstalls Kafka, restarts ZooKeeper and Kafka on it, and touches nothing else", (t) => {
    const newer = { ...ctx, config: { ...config, kafka: { ...config.kafka, version: "3.9.3" } }, artifact: { url: "https://archive.apache.org/dist/kafka/3.9.3/kafka_2.13-3.9.3.tgz", sha512: "" } };
    const diff = changed(fingerprints(ctx), fingerprints(newer));
    t.deepEqual(diff.filter((k) => !k.startsWith("broker-")), ["producer-stage-kafka", "producer-install-kafka", "consumer-stage-kafka", "consumer-install-kafka"]);
    t.deepEqual(diff.filter((k) => k.startsWith("broker-")), ["broker-stage-kafka", "broker-install-kafka", "broker-zookeeper", "broker-zookeeper-roll", "broker-kafka-broker", "broker-kafka-roll", "broker-kafka-protocol"]);
});

test("a moved client machine updates /etc/hosts everywhere and the broker firewall (the monitoring host every firewall), nothing else", (t) => {
    const moved = { ...ctx, addresses: { ...addresses, producer: { privateIp: "10.42.1.99", publicIp: "198.51.100.8" } } };
    t.deepEqual(changed(fingerprints(ctx), fingerprints(moved)).sort(), ["broker-firewall", "broker-hosts-file", "consumer-hosts-file", "producer-hosts-file"]);
    // Prometheus scrapes by name: its configuration stays; every exporter admits the monitoring host's new address.
    const monitoring = { ...ctx, addresses: { ...addresses, consumer: { privateIp: "10.42.1.99", publicIp: "198.51.100.9" } } };
    t.deepEqual(changed(fingerprints(ctx), fingerprints(monitoring)).sort(), ["broker-firewall", "broker-hosts-file", "consumer-firewall", "consumer-hosts-file", "producer-firewall", "producer-hosts-file"]);
});

test("each machine's OS family is detected; an unsupported OS is a clear error naming it", (t) => {
    const lib = fs.readFileSync(path.join(REPO, "templates", "scripts", "lib.sh"), "utf8");
    const family = (osRelease: string) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-os-"));
        fs.writeFileSync(`${dir}/os-release`, osRelease);
        const r = spawnSync("bash", ["-c", `${lib}\nos_family`], { encoding: "utf8", env: { ...process.env, OS_RELEASE: `${dir}/os-release`, STEP: "java" } });
        return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
    };
    t.is(family('ID="centos"\nID_LIKE="rhel fedora"\nPRETTY_NAME="CentOS Stream 9"\n').out, "rhel");
    t.is(family('ID="rocky"\nID_LIKE="rhel centos fedora"\n').out, "rhel");
    t.is(family('ID="almalinux"\nID_LIKE="rhel centos fedora"\n').out, "rhel");
    t.is(family('ID=debian\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n').out, "debian");
    t.is(family('ID=ubuntu\nID_LIKE=debian\n').out, "debian");
    const arch = family('ID=arch\nPRETTY_NAME="Arch Linux"\n');
    t.is(arch.status, 1);
    t.is(arch.err, "[kafka-lab:java] ERROR: unsupported OS: Arch Linux (supported: the RHEL family, e.g. CentOS Stream 9, and the Debian family)");
});

test("the uninstall script (existing target) is valid bash and honours the purge flag", (t) => {
    for (const purge of [true, false]) {
        const script = renderUninstall(config, purge);
        t.notThrows(() => execFileSync("bash", ["-n"], { input: script }));
        t.regex(script, new RegExp(`PURGE_DATA='${purge}'`));
    }
});

// ---- externalSecurity: sasl_ssl

/** What scripts/credentials.sh prints, run for real (openssl), for a CA and a broker. */
function issue(mode: "ca" | "broker" | "identity", env: Record<string, string>) {
    return parseIssued(execFileSync("bash", [path.join(REPO, "scripts", "credentials.sh"), mode], { env: { ...process.env, ...env }, encoding: "utf8" }));
}

test("sasl_ssl: SASL_SSL on the external listener only, a PEM keystore, SCRAM-SHA-512, the metadata mode's authorizer", (t) => {
    for (const metadata of ["zookeeper", "kraft"]) {
        const c = validateConfig({ ...awsRaw, zookeeperCidrs: [], externalSecurity: "sasl_ssl", internalSecurity: "plaintext", metadata }, { stack: "staging", awsRegion: "eu-west-1" });
        const p = parseProperties(renderServerProperties(c, "broker", addresses));
        const map = Object.fromEntries(p["listener.security.protocol.map"].split(",").map((e) => e.split(":")));
        t.is(map.EXTERNAL, "SASL_SSL");
        t.is(map.INTERNAL, "PLAINTEXT", "inside the lab: plaintext");
        if (metadata === "kraft") t.is(map.CONTROLLER, "PLAINTEXT", "never SCRAM between controllers");
        t.is(p["listener.name.external.sasl.enabled.mechanisms"], "SCRAM-SHA-512");
        t.regex(p["listener.name.external.scram-sha-512.sasl.jaas.config"], /^org\.apache\.kafka\.common\.security\.scram\.ScramLoginModule required;$/);
        t.is(p["listener.name.external.ssl.keystore.type"], "PEM");
        t.is(p["listener.name.external.ssl.keystore.location"], "/etc/kafka/tls/external.pem");
        t.is(p["authorizer.class.name"], metadata === "kraft" ? "org.apache.kafka.metadata.authorizer.StandardAuthorizer" : "kafka.security.authorizer.AclAuthorizer");
        t.deepEqual(p["super.users"].split(";"), ["User:ANONYMOUS", "User:kafka-lab-admin"]);
        t.is(p["allow.everyone.if.no.acl.found"], "false");
    }
    const plain = parseProperties(renderServerProperties(config, "broker", addresses));
    t.is(plain["listener.security.protocol.map"], "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT");
    t.false(Object.keys(plain).some((k) => k.startsWith("authorizer") || k.includes("sasl") || k.includes("ssl")));
});

test("sasl_ssl: the CA and a broker certificate from scripts/credentials.sh: PKCS#8 key, SANs cover every advertised name, signed by the CA", (t) => {
    const ca = issue("ca", { CA_NAME: "kafka-lab test CA" });
    t.regex(ca.privateKey, /^-----BEGIN PRIVATE KEY-----\n/);
    t.regex(ca.values["admin-password"], /^[0-9a-f]{48}$/);
    t.regex(ca.values["client-password"], /^[0-9a-f]{48}$/);
    t.not(ca.values["admin-password"], ca.values["client-password"]);
    const caCert = new crypto.X509Certificate(ca.certificate);
    t.true(caCert.ca);
    const sans = brokerSans("broker1", { privateIp: "10.42.1.21", publicIp: "198.51.100.21" });
    t.is(sans, "DNS:broker1,IP:198.51.100.21,IP:10.42.1.21");
    t.is(brokerSans("broker", { privateIp: "10.0.0.5", publicIp: "kafka.example.com" }), "DNS:broker,DNS:kafka.example.com,IP:10.0.0.5");
    const broker = issue("broker", { CA_KEY: ca.privateKey, CA_CERT: ca.certificate, BROKER_NAME: "broker1", SANS: sans });
    t.regex(broker.privateKey, /^-----BEGIN PRIVATE KEY-----\n/, "PKCS#8, as Kafka's PEM keystore needs");
    const cert = new crypto.X509Certificate(broker.certificate);
    t.true(cert.verify(caCert.publicKey), "signed by the stack's CA");
    t.is(cert.checkIP("198.51.100.21"), "198.51.100.21");
    t.is(cert.checkIP("10.42.1.21"), "10.42.1.21");
    t.is(cert.checkHost("broker1"), "broker1");
    t.is(cert.checkIP("198.51.100.22"), undefined, "no other address");
    t.is(crypto.createPublicKey(broker.privateKey).export({ format: "pem", type: "spki" }), cert.publicKey.export({ format: "pem", type: "spki" }), "the key matches the certificate");
    t.throws(() => issue("broker", { CA_KEY: ca.privateKey, CA_CERT: ca.certificate, BROKER_NAME: "broker1", SANS: "" }), undefined, "no SANs, no certificate");
});

test("sasl_ssl: client.properties reads as Java properties, with the CA's line breaks and the client's SCRAM login", (t) => {
    const c = validateConfig({ ...awsRaw, zookeeperCidrs: [], externalSecurity: "sasl_ssl" }, { stack: "staging", awsRegion: "eu-west-1" });
    const ca = "-----BEGIN CERTIFICATE-----\nMIIB\nAAAA\n-----END CERTIFICATE-----\n";
    const p = parseProperties(renderClientProperties(c, "198.51.100.7:9094", ca, "0123abcd"));
    t.is(p["bootstrap.servers"], "198.51.100.7:9094");
    t.is(p["security.protocol"], "SASL_SSL");
    t.is(p["sasl.mechanism"], "SCRAM-SHA-512");
    t.is(p["sasl.jaas.config"], 'org.apache.kafka.common.security.scram.ScramLoginModule required username="kafka-lab-client" password="0123abcd";');
    t.is(p["ssl.truststore.type"], "PEM");
    // java.util.Properties turns \n into a line break: the PEM as it was.
    t.is(p["ssl.truststore.certificates"].replace(/\\n/g, "\n"), ca.trim());
});

test("sasl_ssl: the first broker sets the SCRAM users and ACLs after every broker runs; passwords never on a command line", (t) => {
    const c = validateConfig({ ...awsRaw, zookeeperCidrs: [], externalSecurity: "sasl_ssl", internalSecurity: "plaintext" }, { stack: "staging", awsRegion: "eu-west-1" });
    t.deepEqual(stepsFor(c, "broker", true).slice(-4), ["kafka-roll", "kafka-protocol", "topic", "scram-acls"]);
    t.false(stepsFor(c, "producer", false).includes("scram-acls"));
    t.false(stepsFor(config, "broker", true).includes("scram-acls"), "not with plaintext");
    const credentials = { keystore: "KEYSTORE-PEM", adminPassword: "adminpw123", clientPassword: "clientpw456", caCertificate: "", nodeKeystore: "", clientKeystore: "", adminKeystore: "" };
    const step = renderStep("scram-acls", "broker", { ...ctx, config: c, credentials });
    t.is(spawnSync("bash", ["-n"], { input: step.script }).status, 0);
    const body = step.script.slice(step.script.indexOf("# Step (externalSecurity"));
    t.notRegex(body, /--add-config[ =]['"]?SCRAM/, "the SCRAM config goes through a file");
    t.regex(body, /--add-config-file "\$secret_file"/);
    const broker = renderStep("kafka-broker", "broker", { ...ctx, config: c, credentials });
    t.regex(broker.script, /EXTERNAL_KEYSTORE='KEYSTORE-PEM'/);
    t.regex(broker.script, /write_file "\$EXTERNAL_KEYSTORE_PATH" 0600 kafka:kafka/);
});

// ---- internalSecurity: mtls

const mtlsLab = (raw: Record<string, unknown> = {}, stack = "dev") => validateConfig({ ...awsRaw, zookeeperCidrs: [], brokers: "3", kafkaVersion: "4.4.0", internalSecurity: "mtls", ...raw }, { stack, awsRegion: "eu-west-1" });
const mtlsAddresses = (c: ReturnType<typeof mtlsLab>): LabAddresses => Object.fromEntries(c.topology.hosts.map((h, i) => [h.name, { privateIp: `10.42.1.${11 + i}`, publicIp: `198.51.100.${7 + i}` }]));

test("mtls: the internal and controller listeners are SSL with a client certificate required; the nodes' principal is the only super user; ANONYMOUS is nobody", (t) => {
    for (const controllers of ["combined", "dedicated"]) {
        for (const externalSecurity of ["plaintext", "sasl_ssl"]) {
            const c = mtlsLab({ controllers, externalSecurity });
            const a = mtlsAddresses(c);
            const p = parseProperties(renderServerProperties(c, "broker2", a));
            const map = Object.fromEntries(p["listener.security.protocol.map"].split(",").map((e) => e.split(":")));
            t.deepEqual(map, { INTERNAL: "SSL", EXTERNAL: externalSecurity === "sasl_ssl" ? "SASL_SSL" : "PLAINTEXT", CONTROLLER: "SSL" });
            t.is(p["listener.name.internal.ssl.client.auth"], "required");
            t.is(p["listener.name.controller.ssl.client.auth"], "required");
            t.false("ssl.client.auth" in p, "never on the external listener: SASL_SSL clients bring no certificate");
            t.is(p["ssl.keystore.location"], "/etc/kafka/tls/node.pem");
            t.is(p["ssl.truststore.location"], "/etc/kafka/tls/ca.pem");
            t.is(p["super.users"], "User:kafka-lab-node");
            t.is(p["allow.everyone.if.no.acl.found"], "false");
            t.is(p["authorizer.class.name"], "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            if (controllers === "dedicated") {
                const cp = parseProperties(renderControllerProperties(c, "broker2"));
                t.is(cp["listener.security.protocol.map"], "CONTROLLER:SSL");
                t.is(cp["listener.name.controller.ssl.client.auth"], "required");
                t.is(cp["super.users"], "User:kafka-lab-node");
                t.is(cp["ssl.principal.mapping.rules"], p["ssl.principal.mapping.rules"]);
            }
            // The rule, read as Kafka does (RULE:pattern/replacement/): the lab's subjects become their CN, any other stays whole.
            const [, pattern, replacement] = /^RULE:(.+)\/(.+)\/,DEFAULT$/.exec(p["ssl.principal.mapping.rules"])!;
            const principal = (dn: string) => (new RegExp(pattern).test(dn) ? dn.replace(new RegExp(pattern), replacement) : dn);
            t.is(principal("CN=kafka-lab-node,OU=internal,O=kafka-lab"), "kafka-lab-node");
            t.is(principal("CN=kafka-lab-client,OU=internal,O=kafka-lab"), "kafka-lab-client");
            t.is(principal("CN=kafka-lab-node,OU=internal,O=kafka-lab,C=XX"), "CN=kafka-lab-node,OU=internal,O=kafka-lab,C=XX", "another subject is not the node");
            t.is(principal("CN=broker1,O=kafka-lab"), "CN=broker1,O=kafka-lab", "the external certificates are nobody inside");
        }
    }
});

test("mtls: every host gets the tools' properties of what it holds, and only those keystores; the admin's ACLs before the admin's first use", (t) => {
    const c = mtlsLab({ externalSecurity: "sasl_ssl" }, "prod");
    const a = mtlsAddresses(c);
    const credentials = { keystore: "", adminPassword: "", clientPassword: "", caCertificate: "CA-PEM", nodeKeystore: "NODE-PEM", clientKeystore: "CLIENT-PEM", adminKeystore: "ADMIN-PEM" };
    const held = (host: string) => {
        const { script } = renderStep("identities", host, { ...ctx, config: c, addresses: a, credentials });
        t.is(spawnSync("bash", ["-n"], { input: script }).status, 0);
        const input = (k: string) => new RegExp(`^${k}='([^']*)'`, "m").exec(script)![1];
        return { node: input("NODE_KEYSTORE"), client: input("CLIENT_KEYSTORE"), admin: input("ADMIN_KEYSTORE"), nodeTools: input("NODE_TOOLS"), adminTools: input("ADMIN_TOOLS"), clientTools: input("CLIENT_TOOLS"), ca: input("CA_CERT") };
    };
    const broker1 = held("broker1");
    t.is(broker1.node, "NODE-PEM");
    t.is(broker1.admin, "ADMIN-PEM", "the admin's identity on the first broker");
    t.is(broker1.client, "");
    t.regex(broker1.adminTools, /^ssl\.keystore\.location=\/etc\/kafka\/tls\/admin\.pem$/m);
    const broker2 = held("broker2");
    t.is(broker2.admin, "", "and nowhere else");
    t.is(broker2.adminTools, "");
    t.regex(broker2.nodeTools, /^security\.protocol=SSL$/m);
    for (const host of ["producer", "consumer"]) {
        const h = held(host);
        t.deepEqual([h.node, h.admin, h.client, h.ca], ["", "", "CLIENT-PEM", "CA-PEM"], host);
        t.regex(h.clientTools, /^ssl\.keystore\.location=\/etc\/kafka\/tls\/client\.pem$/m);
    }
    // The identities are in place before any service starts; the admin's ACLs after every broker rolled, before features and the topic.
    const steps = stepsFor(c, "broker1", true);
    t.true(steps.indexOf("identities") < steps.indexOf("kafka-broker"));
    t.deepEqual(steps.slice(-4), ["internal-acls", "features", "topic", "scram-acls"]);
    t.false(stepsFor(c, "broker2", true).includes("internal-acls"));
    const acls = renderStep("internal-acls", "broker1", { ...ctx, config: c, addresses: a, credentials }).script;
    t.regex(acls, /^TOOLS='\/etc\/kafka\/node-tools\.properties'$/m, "set as the node: nothing else may set ACLs yet");
    t.regex(acls, /^ANONYMOUS_AS_CLIENT='false'$/m);
    t.regex(renderStep("internal-acls", "broker1", { ...ctx, config: mtlsLab(), addresses: a, credentials }).script, /^ANONYMOUS_AS_CLIENT='true'$/m, "a plaintext external listener's clients are ANONYMOUS");
    t.regex(renderStep("features", "broker1", { ...ctx, config: c, addresses: a, credentials }).script, /^TOOLS='\/etc\/kafka\/node-tools\.properties'$/m, "features: the nodes' own business");
    for (const step of ["topic", "scram-acls"] as const) {
        t.regex(renderStep(step, "broker1", { ...ctx, config: c, addresses: a, credentials }).script, /^TOOLS='\/etc\/kafka\/admin-tools\.properties'$/m, step);
    }
    // A renewed node certificate restarts the node (its digest is in the broker's step), the key itself is not there.
    const broker = (nodeKeystore: string) => renderStep("kafka-broker", "broker2", { ...ctx, config: c, addresses: a, credentials: { ...credentials, nodeKeystore } }).script;
    t.notDeepEqual(broker("NODE-PEM"), broker("RENEWED-PEM"));
    t.false(broker("NODE-PEM").includes("NODE-PEM"));
    // The example clients and the lag exporter connect with the client's certificate.
    t.regex(renderClientsEnv(c), /^SECURITY_PROTOCOL=SSL\nSSL_CAFILE=\/etc\/kafka\/tls\/ca\.pem\nSSL_KEYSTORE=\/etc\/kafka\/tls\/client\.pem$/m);
    const monitoring = renderStep("monitoring", "consumer", { ...ctx, config: c, addresses: a, credentials }).script;
    t.regex(monitoring, /LoadCredential=client\.pem:\/etc\/kafka\/tls\/client\.pem/);
    t.regex(monitoring, /--ssl-keystore %d\/client\.pem/);
});

test("mtls: plaintext inside leaves every tool on PLAINTEXT and no keystore anywhere", (t) => {
    const c = validateConfig({ ...awsRaw, brokers: "3", kafkaVersion: "4.4.0" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.is(c.security.internal, "plaintext");
    const { script } = renderStep("identities", "broker1", { ...ctx, config: c, addresses: mtlsAddresses(c) });
    t.regex(script, /^NODE_TOOLS='[^']*security\.protocol=PLAINTEXT'$/m);
    t.regex(script, /^NODE_KEYSTORE=''$/m);
    t.regex(script, /^CA_CERT=''$/m);
    t.false(stepsFor(c, "broker1", true).includes("internal-acls"));
});

test("mtls, ZooKeeper mode: TLS-only client port with certificates required and x509 identities, the quorum over TLS, brokers on TLS with znode ACLs; the one node by its name, not localhost", (t) => {
    const credentials = { keystore: "", adminPassword: "", clientPassword: "", caCertificate: "CA-PEM", nodeKeystore: "NODE-PEM", clientKeystore: "CLIENT-PEM", adminKeystore: "ADMIN-PEM" };
    for (const brokers of ["1", "3"]) {
        const c = mtlsLab({ brokers, kafkaVersion: "3.9.2" });
        const a = mtlsAddresses(c);
        t.is(c.topology.metadata, "zookeeper");
        const zk = parseProperties(renderZookeeperProperties(c));
        t.false("clientPort" in zk, "no plaintext port");
        t.is(zk.secureClientPort, "2181", "TLS on the port the firewall already opens to the brokers");
        t.is(zk.serverCnxnFactory, "org.apache.zookeeper.server.NettyServerCnxnFactory", "TLS needs Netty");
        t.is(zk["ssl.clientAuth"], "need");
        t.is(zk["authProvider.x509"], "org.apache.zookeeper.server.auth.X509AuthenticationProvider");
        t.is(zk["ssl.keyStore.location"], "/etc/kafka/tls/node.pem");
        t.is(zk["ssl.trustStore.location"], "/etc/kafka/tls/ca.pem");
        t.is(zk.sslQuorum as string | undefined, brokers === "3" ? "true" : undefined, "the quorum over TLS where there is one");
        if (brokers === "3") t.is(zk["ssl.quorum.keyStore.location"], "/etc/kafka/tls/node.pem");
        const first = c.topology.brokers[0].name;
        const p = parseProperties(renderServerProperties(c, first, a));
        t.is(p["zookeeper.ssl.client.enable"], "true");
        t.is(p["zookeeper.clientCnxnSocket"], "org.apache.zookeeper.ClientCnxnSocketNetty");
        t.is(p["zookeeper.ssl.keystore.location"], "/etc/kafka/tls/node.pem");
        t.is(p["zookeeper.ssl.truststore.location"], "/etc/kafka/tls/ca.pem");
        t.is(p["zookeeper.set.acl"], "true", "the znodes Kafka makes are the brokers' to change");
        t.is(p["authorizer.class.name"], "kafka.security.authorizer.AclAuthorizer");
        t.is(p["super.users"], "User:kafka-lab-node");
        t.false(p["zookeeper.connect"].includes("localhost"), `a name the node's certificate carries: ${p["zookeeper.connect"]}`);
        // The ZooKeeper step asks over TLS as the node, and a renewed certificate rolls it; its tools' file on its nodes only.
        const step = (nodeKeystore: string) => renderStep("zookeeper-roll", first, { ...ctx, config: c, addresses: a, credentials: { ...credentials, nodeKeystore } }).script;
        t.regex(step("NODE-PEM"), /^TOOLS='\/etc\/kafka\/node-tools\.properties'$/m);
        t.notDeepEqual(step("NODE-PEM"), step("RENEWED-PEM"));
        t.false(step("NODE-PEM").includes("NODE-PEM"));
        const identities = (host: string) => renderStep("identities", host, { ...ctx, config: c, addresses: a, credentials }).script;
        t.regex(identities(first), /^ZOOKEEPER_TOOLS='[^']*zookeeper\.ssl\.keystore\.location=\/etc\/kafka\/tls\/node\.pem/m);
        t.notRegex(identities("producer"), /^ZOOKEEPER_TOOLS=/m);
    }
    // With plaintext inside, the ZooKeeper step and the identities keep the inputs they always had.
    const plain = validateConfig({ ...awsRaw, brokers: "3" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.notRegex(renderStep("zookeeper", "broker1", { ...ctx, config: plain, addresses: mtlsAddresses(plain) }).script, /^(TOOLS|INTERNAL_TLS)='/m);
    t.notRegex(renderStep("identities", "broker1", { ...ctx, config: plain, addresses: mtlsAddresses(plain) }).script, /^ZOOKEEPER_TOOLS=/m);
});

test("mtls: a node's certificate names it as the lab reaches it (lab name, private address), server and client; the client's is a client's only; the same subject on every node", (t) => {
    const ca = issue("ca", { CA_NAME: "test CA" });
    const caCert = new crypto.X509Certificate(ca.certificate);
    const sans = internalSans("broker2", { privateIp: "10.42.1.12", publicIp: "198.51.100.8" });
    t.is(sans, "DNS:broker2,IP:10.42.1.12", "not the public address: nothing outside talks to these listeners");
    const node = new crypto.X509Certificate(issue("identity", { CA_KEY: ca.privateKey, CA_CERT: ca.certificate, IDENTITY: "kafka-lab-node", SANS: sans }).certificate);
    t.true(node.verify(caCert.publicKey));
    t.is(node.subject.split("\n").sort().join(","), "CN=kafka-lab-node,O=kafka-lab,OU=internal");
    t.is(node.checkHost("broker2"), "broker2");
    t.is(node.checkIP("10.42.1.12"), "10.42.1.12");
    t.deepEqual(node.keyUsage?.sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], "serverAuth and clientAuth");
    const client = new crypto.X509Certificate(issue("identity", { CA_KEY: ca.privateKey, CA_CERT: ca.certificate, IDENTITY: "kafka-lab-client" }).certificate);
    t.deepEqual(client.keyUsage, ["1.3.6.1.5.5.7.3.2"], "clientAuth only: it cannot serve a listener");
    t.is(client.subjectAltName, undefined);
});

test("KRaft storage is formatted with --cluster-id=ID, so that an id starting with '-' (one in 64) is not read as an option", (t) => {
    const c = validateConfig({ ...awsRaw, metadata: "kraft" }, { stack: "dev", awsRegion: "eu-west-1" });
    const step = renderStep("kafka-broker", "broker", { ...ctx, config: c, clusterId: "-GuS7JLldkTQ1JkFLg9IGw" });
    t.regex(step.script, /CLUSTER_ID='-GuS7JLldkTQ1JkFLg9IGw'/);
    t.regex(step.script, /kafka-storage\.sh format --cluster-id="\$CLUSTER_ID" /);
});

test("sasl_ssl: without openssl on the deploying machine, scripts/credentials.sh says what to install", (t) => {
    const r = spawnSync("/bin/bash", [path.join(REPO, "scripts", "credentials.sh"), "ca"], { env: { PATH: "/nonexistent", CA_NAME: "x" }, encoding: "utf8" });
    t.is(r.status, 1);
    t.regex(r.stderr, /makes the stack's CA and certificates with openssl on this \(the deploying\) machine, and it has none; install it/);
    t.is(r.stdout, "", "and prints no half-made credentials");
});

test("AWS user data: cloud-config that installs the machine's SSH host key at first boot, key intact", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-hostkey-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "broker2", "-f", path.join(dir, "key")]);
    const privateKey = fs.readFileSync(path.join(dir, "key"), "utf8");
    const publicKey = fs.readFileSync(path.join(dir, "key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
    const text = renderUserData("broker2", { privateKey, publicKey });
    t.true(text.startsWith("#cloud-config\n"), "cloud-init reads it as cloud-config");
    const doc = parseYaml(text);
    t.is(doc.ssh_keys.ed25519_private, privateKey, "the private key, byte for byte");
    t.is(doc.ssh_keys.ed25519_public, publicKey);
    t.true(doc.ssh_deletekeys, "the image's own keys are not kept");
});

test("the data volume step restores SELinux labels on the new filesystem after mounting it, where SELinux is on", (t) => {
    const script = renderStep("data-volume", "broker", ctx).script;
    const mount = script.indexOf('mountpoint -q "$DATA_DIR" || mount "$DATA_DIR"');
    const restore = script.indexOf('restorecon -R "$DATA_DIR"');
    t.true(mount > 0 && restore > mount, "restorecon after the mount");
    t.regex(script, /if command -v restorecon >\/dev\/null && command -v selinuxenabled >\/dev\/null && selinuxenabled; then\n\s+restorecon -R "\$DATA_DIR"/);
});

test("the ZooKeeper step restarts ZooKeeper only when it runs another configuration (a re-run with a new connection restarts nothing)", (t) => {
    const script = renderStep("zookeeper", "broker", ctx).script;
    const skip = script.indexOf("already runs this configuration");
    t.true(skip > 0 && skip < script.indexOf("systemctl restart zookeeper"), "the check comes before the restart");
    t.regex(script, /desired=\$\(printf '%s\\n' "\$ZOOKEEPER_PROPERTIES" "\$ZOOKEEPER_UNIT" "\$ZOOKEEPER_ID" "\$KAFKA_DIR_NAME" \$\{INTERNAL_TLS:\+"\$INTERNAL_TLS"\} \| sha256sum/);
    t.true(script.indexOf('printf \'%s\\n\' "$desired" >"$applied"') > script.indexOf("retry_until \"ZooKeeper\""), "recorded once ZooKeeper answers");
});

// ---- templates: every line of a file is in its template; the code gives the values

/** A lab on AWS whose hosts take addresses in order: 10.42.1.11 and 198.51.100.7 first, as above. */
function awsLab(raw: Record<string, unknown>, stack = "dev") {
    const c = validateConfig({ ...awsRaw, ...raw }, { stack, awsRegion: "eu-west-1" });
    const a: LabAddresses = Object.fromEntries(c.topology.hosts.map((h, i) => [h.name, { privateIp: `10.42.1.${11 + i}`, publicIp: `198.51.100.${7 + i}` }]));
    return { c, a };
}
const sasl = { zookeeperCidrs: [], externalSecurity: "sasl_ssl" };

test("rendered files are byte for byte the committed fixtures (a changed byte re-runs a step or rolls a broker)", (t) => {
    // test/fixtures/rendered/ was written by the code that filled whole blocks of lines in from code.
    const zk1 = awsLab({});
    const zk3 = awsLab({ brokers: "3" });
    const zkMtls = awsLab({ brokers: "3", internalSecurity: "mtls" });
    const kraft4 = awsLab({ brokers: "4", kafkaVersion: "4.4.0" });
    const mtlsDedicated = awsLab({ ...sasl, brokers: "3", kafkaVersion: "4.4.0", controllers: "dedicated" }, "prod");
    const server = (raw: Record<string, unknown>, stack: string, host: string, rack: string) => {
        const { c, a } = awsLab(raw, stack);
        return renderServerProperties(c, host, a, rack);
    };
    const local = validateConfig({ adminCidrs: "[]" }, { stack: "local", cacheDir: "/c" });
    const localAddresses: LabAddresses = Object.fromEntries(local.topology.hosts.map((h, i) => [h.name, { privateIp: `10.42.1.${11 + i}`, publicIp: `198.51.100.${7 + i}` }]));
    const key = { privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA+/=\n-----END OPENSSH PRIVATE KEY-----\n", publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI+/=" };
    const rendered: Record<string, string> = {
        "zookeeper-standalone/server.properties": server({}, "dev", "broker", ""),
        "zookeeper-ensemble-sasl_ssl/server.properties": server({ ...sasl, internalSecurity: "plaintext", brokers: "3" }, "staging", "broker2", "euw1-az2"),
        "zookeeper-ensemble-mtls/server.properties": server({ ...sasl, internalSecurity: "mtls", brokers: "3" }, "staging", "broker2", "euw1-az2"),
        "zookeeper-ensemble-mtls/zookeeper.properties": renderZookeeperProperties(zkMtls.c),
        "zookeeper-ensemble-mtls/zookeeper-tools.properties": renderZookeeperToolsProperties(zkMtls.c),
        "zookeeper-standalone-mtls/zookeeper.properties": renderZookeeperProperties(awsLab({ internalSecurity: "mtls" }).c),
        "zookeeper-standalone-mtls/server.properties": server({ internalSecurity: "mtls" }, "dev", "broker", ""),
        "kraft-controller/server.properties": server({ brokers: "4", kafkaVersion: "4.4.0" }, "dev", "broker1", "euw1-az1"),
        "kraft-broker-sasl_ssl/server.properties": server({ ...sasl, internalSecurity: "plaintext", brokers: "4", kafkaVersion: "4.4.0" }, "staging", "broker4", "euw1-az1"),
        "kraft-mtls/server.properties": server({ brokers: "3", kafkaVersion: "4.4.0", internalSecurity: "mtls" }, "dev", "broker1", "euw1-az1"),
        "kraft-mtls-sasl_ssl/controller.properties": renderControllerProperties(mtlsDedicated.c, "broker2"),
        "kraft-mtls-sasl_ssl/server.properties": server({ ...sasl, brokers: "3", kafkaVersion: "4.4.0", controllers: "dedicated" }, "prod", "broker2", "euw1-az2"),
        "kraft-mtls/admin-tools.properties": renderToolsProperties(mtlsDedicated.c, "admin"),
        "kraft-mtls/clients.env": renderClientsEnv(mtlsDedicated.c),
        "kraft-3.9-single/server.properties": server({ metadata: "kraft" }, "dev", "broker", ""),
        "zookeeper-standalone/zookeeper.properties": renderZookeeperProperties(zk1.c),
        "zookeeper-standalone/zookeeper.service": renderZookeeperUnit(zk1.c),
        "zookeeper-standalone/kafka.service": renderKafkaUnit(zk1.c, "broker"),
        "zookeeper-standalone/hosts": renderHosts(zk1.c, zk1.a),
        "zookeeper-standalone/firewalld-zone.xml": renderFirewallZone("broker", zk1.c, zk1.a),
        "zookeeper-ensemble/zookeeper.properties": renderZookeeperProperties(zk3.c),
        "zookeeper-ensemble/firewalld-zone.xml": renderFirewallZone("broker2", zk3.c, zk3.a),
        "kraft-controller/kafka.service": renderKafkaUnit(kraft4.c, "broker1"),
        "kraft-controller/firewalld-zone.xml": renderFirewallZone("broker1", kraft4.c, kraft4.a),
        "kraft-controller/hosts": renderHosts(kraft4.c, kraft4.a),
        "client/firewalld-zone.xml": renderFirewallZone("producer", kraft4.c, kraft4.a),
        "client/cloud-init.yaml": renderUserData("producer", key),
        "client-local/firewalld-zone.xml": renderFirewallZone("producer", local, localAddresses),
        "monitoring-kraft/prometheus.yml": renderPrometheusConfig(kraft4.c),
        "monitoring-zookeeper-ensemble/prometheus.yml": renderPrometheusConfig(zk3.c),
        "monitoring-zookeeper-ensemble/alerts.yml": renderAlertRules(zk3.c),
        "monitoring/firewalld-zone.xml": renderFirewallZone("consumer", kraft4.c, kraft4.a),
    };
    const fixtures = path.join(REPO, "test", "fixtures", "rendered");
    const files = fs.readdirSync(fixtures, { recursive: true, encoding: "utf8" }).filter((f) => fs.statSync(path.join(fixtures, f)).isFile());
    t.deepEqual(files.sort(), Object.keys(rendered).sort(), "a fixture for every rendering, a rendering for every fixture");
    for (const [file, text] of Object.entries(rendered)) t.is(text, fs.readFileSync(path.join(fixtures, file), "utf8"), file);
});

test("server.properties shows its settings in the template itself: identity, roles, listeners, quorum, ZooKeeper, security, rack", (t) => {
    const template = fs.readFileSync(path.join(REPO, "templates", "server.properties"), "utf8");
    const keys = new Set(template.split("\n").filter((l) => /^[a-z][\w.-]*=/.test(l)).map((l) => l.slice(0, l.indexOf("="))));
    for (const key of [
        "broker.id", "node.id", "process.roles", "listeners", "listener.security.protocol.map", "controller.quorum.voters", "controller.listener.names",
        "zookeeper.connect", "zookeeper.connection.timeout.ms", "inter.broker.protocol.version", "authorizer.class.name", "super.users",
        "listener.name.external.ssl.keystore.location", "listener.name.external.scram-sha-512.sasl.jaas.config", "broker.rack",
    ]) {
        t.true(keys.has(key), `${key}= is a line of templates/server.properties`);
    }
    t.regex(template, /^process\.roles=broker\{\{#controller\}\},controller\{\{\/controller\}\}$/m);
    for (const name of ["server.properties", "zookeeper.properties", "kafka.service", "zookeeper.service", "hosts", "firewalld-zone.xml", "cloud-init.yaml"]) {
        const lines = fs.readFileSync(path.join(REPO, "templates", name), "utf8").split("\n");
        t.deepEqual(lines.filter((l) => /^\{\{[&{]?\s*[\w.]+\s*\}?\}\}$/.test(l)), [], `${name}: no value stands for whole lines`);
    }
});

test("a template variable without a value is an error naming it; a section may be absent; values are written unescaped", (t) => {
    const hosts = [{ address: "10.42.1.11", name: "broker" }];
    t.throws(() => renderTemplate("hosts", { hosts }), { message: "template hosts needs a value for {{stack}}" });
    t.throws(() => renderTemplate("hosts", { stack: "dev", hosts: [{ name: "broker" }] }), { message: "template hosts needs a value for {{address}}" }, "in a list item too");
    const view = awsLab({ brokers: "3", kafkaVersion: "4.4.0" });
    t.throws(() => renderTemplate("server.properties", { metadata: "KRaft", kraft: true }), { message: /^template server\.properties needs a value for \{\{host\}\}$/ });
    // A hidden section needs none of its values: standalone ZooKeeper needs no server list.
    const zk = { stack: "dev", data_dir: "/var/lib/kafka", zookeeper_port: 2181 };
    t.regex(renderTemplate("zookeeper.properties", zk), /^# A single node \(standalone\): no ensemble\.$/m);
    t.throws(() => renderTemplate("zookeeper.properties", { ...zk, ensemble: true, servers: [{ id: 1, host: "broker1" }] }), { message: "template zookeeper.properties needs a value for {{quorum_port}}" });
    t.is(renderTemplate("hosts", { stack: `a&b"c'd/e=f<g>`, hosts }).split("\n")[0], `# BEGIN kafka-lab: managed by the a&b"c'd/e=f<g> stack; a re-run replaces this block`);
    t.regex(renderServerProperties(view.c, "broker1", view.a), /^controller\.quorum\.voters=1@broker1:9093,2@broker2:9093,3@broker3:9093$/m);
});

test("controllers dedicated: a controller process of its own on broker1..3 (node ids 3001..3003, own unit, data dir, logs); brokers are brokers only; started and rolled before any broker", (t) => {
    const { c, a } = awsLab({ brokers: "4", kafkaVersion: "4.4.0", controllers: "dedicated" });
    t.is(c.topology.controllerMode, "dedicated");
    const voters = "3001@broker1:9093,3002@broker2:9093,3003@broker3:9093";
    for (const [i, host] of ["broker1", "broker2", "broker3"].entries()) {
        const controller = parseProperties(renderControllerProperties(c, host));
        t.is(controller["process.roles"], "controller");
        t.is(controller["node.id"], String(3001 + i));
        t.is(controller["listeners"], "CONTROLLER://0.0.0.0:9093");
        t.is(controller["controller.listener.names"], "CONTROLLER");
        t.is(controller["listener.security.protocol.map"], "CONTROLLER:PLAINTEXT");
        t.is(controller["controller.quorum.voters"], voters);
        t.is(controller["log.dirs"], "/var/lib/kafka/controller", "its metadata log beside the broker's data, not in it");
        t.is(controller["default.replication.factor"], "3", "the controllers apply the cluster's topic defaults");
        t.false("advertised.listeners" in controller, "no advertised.listeners (Kafka before 3.9 refuses it on a controller)");
        t.false("authorizer.class.name" in controller, "plaintext: no authorizer");
        const steps = stepsFor(c, host, false);
        t.true(steps.indexOf("kafka-controller") < steps.indexOf("kafka-controller-roll") && steps.indexOf("kafka-controller-roll") < steps.indexOf("kafka-broker"));
        const broker = parseUnit(renderKafkaUnit(c, host)).Unit;
        t.deepEqual(broker.Wants, ["kafka-controller.service", "network-online.target"], "the broker wants its controller, not Requires: it keeps running through a controller's restart");
        t.regex(broker.After.join(" "), /kafka-controller\.service/);
        t.false("Requires" in broker);
    }
    for (const host of ["broker1", "broker4"]) {
        const server = parseProperties(renderServerProperties(c, host, a, ""));
        t.is(server["process.roles"], "broker", `${host}: the broker's process is a broker only`);
        t.is(server["node.id"], host.slice(6));
        t.false(server["listeners"].includes("CONTROLLER"), `${host}: no controller listener in the broker`);
        t.is(server["controller.quorum.voters"], voters, `${host}: the quorum is the dedicated controllers`);
        t.is(server["controller.listener.names"], "CONTROLLER");
    }
    t.false(stepsFor(c, "broker4", false).includes("kafka-controller"), "broker4 runs no controller");
    t.deepEqual(parseUnit(renderKafkaUnit(c, "broker4")).Unit.After, ["network-online.target"]);
    t.throws(() => renderControllerProperties(c, "broker4"), { message: "broker4 runs no dedicated controller" });
    const unit = parseUnit(renderControllerUnit(c));
    t.deepEqual(unit.Service.ExecStart, ["/opt/kafka_2.13-4.4.0/bin/kafka-server-start.sh /etc/kafka/controller.properties"]);
    t.is(parseEnvironment(unit.Service.Environment).LOG_DIR, "/var/log/kafka-controller", "its own server.log and GC log");
    t.is(parseEnvironment(unit.Service.Environment).KAFKA_HEAP_OPTS, "-Xms512m -Xmx512m", "controllerHeap's default");
    t.deepEqual(unit.Unit.RequiresMountsFor, ["/var/lib/kafka"]);
    // The script: formatted with the cluster's id, rolled only behind a caught-up quorum.
    const script = renderStep("kafka-controller-roll", "broker2", { ...ctx, config: c, addresses: a, clusterId: "-AbCdEfGhIjKlMnOpQrStUv" }).script;
    t.regex(script, /kafka-storage\.sh format --cluster-id="\$CLUSTER_ID" -c \/etc\/kafka\/controller\.properties/);
    t.regex(script, /^CONTROLLER_ID='3002'$/m);
    t.regex(script, /^QUORUM_SIZE='3'$/m);
    t.is(spawnSync("bash", ["-n"], { input: script }).status, 0, "valid bash");
    // sasl_ssl: the controllers check forwarded requests with the KRaft authorizer; the brokers' ANONYMOUS is a super user.
    const secured = awsLab({ ...sasl, brokers: "3", kafkaVersion: "4.4.0", controllers: "dedicated" });
    const securedController = parseProperties(renderControllerProperties(secured.c, "broker1"));
    t.is(securedController["authorizer.class.name"], "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    t.is(securedController["super.users"], "User:ANONYMOUS;User:kafka-lab-admin");
    // One broker: its controller beside it, a quorum of one.
    const single = awsLab({ metadata: "kraft", controllers: "dedicated" });
    t.is(parseProperties(renderControllerProperties(single.c, "broker"))["controller.quorum.voters"], "3001@broker:9093");
    t.is(parseProperties(renderServerProperties(single.c, "broker", single.a, ""))["process.roles"], "broker");
});

test("controllers dedicated in ZooKeeper mode is refused, naming what is allowed", (t) => {
    t.throws(() => validateConfig({ ...awsRaw, controllers: "dedicated" }, { stack: "dev", awsRegion: "eu-west-1" }), {
        message: /controllers is dedicated, but kafka-lab:metadata is zookeeper.*allowed: combined \(the default\) in ZooKeeper mode, dedicated with metadata kraft/,
    });
    t.throws(() => validateConfig({ ...awsRaw, metadata: "kraft", controllers: "separate" }, { stack: "dev", awsRegion: "eu-west-1" }), { message: /controllers.*separate.*combined.*dedicated/ });
});

test("ZooKeeper to KRaft, dual-write: controllers with the migration settings; brokers rolled first as ZooKeeper brokers registered with them, then as KRaft brokers; metadata.version untouched", (t) => {
    const { c, a } = awsLab({ brokers: "3", kraftMigration: "dual-write" });
    t.is(c.topology.metadata, "zookeeper", "still a ZooKeeper cluster until finalize");
    t.is(c.topology.controllerMode, "dedicated");
    t.deepEqual(c.topology.zookeepers.map((z) => z.name), ["broker1", "broker2", "broker3"], "ZooKeeper keeps running");
    const controller = parseProperties(renderControllerProperties(c, "broker2"));
    t.is(controller["zookeeper.metadata.migration.enable"], "true");
    t.is(controller["zookeeper.connect"], "broker1:2181,broker2:2181,broker3:2181");
    t.is(controller["inter.broker.listener.name"], "INTERNAL", "the controllers reach the ZooKeeper-mode brokers on their inter-broker listener");
    t.is(controller["listener.security.protocol.map"], "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT");
    t.is(controller["node.id"], "3002");
    // The first roll: a ZooKeeper broker, its id, ZooKeeper and the 3.9 protocol kept, registered with the controllers.
    const migrating = parseProperties(renderServerProperties(c, "broker2", a, "", "migrating"));
    t.is(migrating["broker.id"], "2");
    t.is(migrating["zookeeper.metadata.migration.enable"], "true");
    t.is(migrating["controller.quorum.voters"], "3001@broker1:9093,3002@broker2:9093,3003@broker3:9093");
    t.is(migrating["controller.listener.names"], "CONTROLLER");
    t.regex(migrating["listener.security.protocol.map"], /,CONTROLLER:PLAINTEXT$/);
    t.is(migrating["inter.broker.protocol.version"], "3.9", "the migration needs the 3.9 protocol");
    t.true("zookeeper.connect" in migrating);
    t.false("process.roles" in migrating);
    // The second: a KRaft broker, no ZooKeeper left in its properties.
    const kraft = parseProperties(renderServerProperties(c, "broker2", a, ""));
    t.is(kraft["process.roles"], "broker");
    t.is(kraft["node.id"], "2", "node.id is the broker.id it had");
    for (const gone of ["broker.id", "zookeeper.connect", "inter.broker.protocol.version", "zookeeper.metadata.migration.enable"]) t.false(gone in kraft, gone);
    // Steps: the controllers before the brokers, two rolls, the state gate between them, no features, no protocol roll.
    t.deepEqual(stepsFor(c, "broker1", false).slice(9), ["zookeeper", "zookeeper-roll", "kafka-controller", "kafka-controller-roll", "kafka-broker", "kafka-migrate", "migration-copied", "kafka-roll", "topic"]);
    t.deepEqual(stepsFor(c, "broker3", false).slice(9), ["zookeeper", "zookeeper-roll", "kafka-controller", "kafka-controller-roll", "kafka-broker", "kafka-migrate", "kafka-roll"]);
    const migrate = renderStep("kafka-migrate", "broker3", { ...ctx, config: c, addresses: a }).script;
    t.regex(migrate, /^MIGRATE_FROM='zookeeper'$/m, "the first roll moves only brokers still in ZooKeeper mode");
    t.regex(migrate, /^METADATA='zookeeper'$/m);
    t.regex(renderStep("kafka-roll", "broker3", { ...ctx, config: c, addresses: a }).script, /^METADATA='kraft'$/m);
    const gate = renderStep("migration-copied", "broker1", { ...ctx, config: c, addresses: a }).script;
    t.regex(gate, /^EXPECTED_STATE='1'$/m, "MIGRATION: the metadata copied");
    t.regex(gate, /ZkMigrationState/);
    t.regex(parseUnit(renderControllerUnit(c)).Service.Environment.join(" "), /JMX_PORT=9999.*jmxremote\.host=127\.0\.0\.1/, "JMX on the controller's loopback only");
    for (const step of ["kafka-migrate", "migration-copied", "kafka-controller"] as const) t.is(spawnSync("bash", ["-n"], { input: renderStep(step, "broker1", { ...ctx, config: c, addresses: a }).script }).status, 0, step);
});

test("ZooKeeper to KRaft, finalize: the controllers without ZooKeeper, then ZooKeeper retired once they report POST_MIGRATION; rollback: brokers back, controllers removed, /controller and /migration cleared", (t) => {
    const fin = awsLab({ brokers: "3", kraftMigration: "finalize" });
    t.is(fin.c.topology.metadata, "kraft");
    t.deepEqual(fin.c.topology.zookeepers, []);
    t.deepEqual(fin.c.topology.retiredZookeepers.map((z) => z.name), ["broker1", "broker2", "broker3"]);
    const controller = parseProperties(renderControllerProperties(fin.c, "broker1"));
    t.false("zookeeper.connect" in controller);
    t.false("zookeeper.metadata.migration.enable" in controller);
    t.is(controller["listener.security.protocol.map"], "CONTROLLER:PLAINTEXT");
    t.deepEqual(stepsFor(fin.c, "broker1", false).slice(9), ["kafka-controller", "kafka-controller-roll", "kafka-broker", "kafka-roll", "migration-finalized", "zookeeper-retire", "features", "topic"]);
    t.deepEqual(stepsFor(fin.c, "broker2", false).slice(9), ["kafka-controller", "kafka-controller-roll", "kafka-broker", "kafka-roll", "zookeeper-retire"]);
    t.regex(renderStep("migration-finalized", "broker1", { ...ctx, config: fin.c, addresses: fin.a }).script, /^EXPECTED_STATE='3'$/m);
    const kraft = parseProperties(renderServerProperties(fin.c, "broker2", fin.a, ""));
    const dualWrite = awsLab({ brokers: "3", kraftMigration: "dual-write" });
    t.deepEqual(kraft, parseProperties(renderServerProperties(dualWrite.c, "broker2", dualWrite.a, "")), "the brokers run as they did in dual-write: finalize does not roll them");
    t.regex(renderStep("kafka-roll", "broker2", { ...ctx, config: fin.c, addresses: fin.a, clusterId: "" }).script, /^CLUSTER_ID=''$/m, "the cluster keeps ZooKeeper's id, which its data holds");
    t.is(renderKafkaUnit(fin.c, "broker2"), renderKafkaUnit(dualWrite.c, "broker2"), "nor their unit: a KRaft broker in dual-write does not want the ZooKeeper beside it");
    t.regex(renderKafkaUnit(dualWrite.c, "broker2", "migrating"), /^Wants=zookeeper\.service$/m, "the migration's first roll still does");

    const back = awsLab({ brokers: "3", kraftMigration: "rollback" });
    t.is(back.c.topology.metadata, "zookeeper");
    t.deepEqual(stepsFor(back.c, "broker1", false).slice(9), ["zookeeper", "zookeeper-roll", "kafka-broker", "kafka-migrate", "kafka-controller-retire", "zookeeper-unmigrate", "kafka-roll", "kafka-protocol", "topic"]);
    t.regex(renderStep("kafka-migrate", "broker2", { ...ctx, config: back.c, addresses: back.a }).script, /^MIGRATE_FROM='kraft'$/m, "the first roll moves only KRaft brokers, back into ZooKeeper mode with the migration's settings");
    const plain = parseProperties(renderServerProperties(back.c, "broker2", back.a, ""));
    t.is(plain["broker.id"], "2");
    for (const gone of ["zookeeper.metadata.migration.enable", "controller.quorum.voters", "process.roles"]) t.false(gone in plain, gone);
    const unmigrate = renderStep("zookeeper-unmigrate", "broker1", { ...ctx, config: back.c, addresses: back.a }).script;
    t.regex(unmigrate, /deleteall \/migration/, "KAFKA-17146: the migration's state goes too");
    t.regex(unmigrate, /delete \/controller/);
    for (const step of ["zookeeper-unmigrate", "kafka-controller-retire", "zookeeper-retire"] as const) {
        const host = step === "zookeeper-retire" ? fin : back;
        t.is(spawnSync("bash", ["-n"], { input: renderStep(step, "broker1", { ...ctx, config: host.c, addresses: host.a }).script }).status, 0, step);
    }
});

test("firewall through a migration's rollback: 9093 stays open to the brokers while they still reach the controllers, closed at none", (t) => {
    const controllerSources = (raw: Record<string, unknown>) => {
        const { c, a } = awsLab({ brokers: "3", ...raw });
        return firewallRules("broker1", c, a).filter((r) => r.port === 9093).map((r) => r.source);
    };
    const brokers = ["10.42.1.11/32", "10.42.1.12/32", "10.42.1.13/32"];
    t.deepEqual(controllerSources({ kraftMigration: "dual-write" }), brokers);
    // The firewall step runs before the brokers roll back: closing 9093 then would cut them off the controllers.
    t.deepEqual(controllerSources({ kraftMigration: "rollback" }), brokers);
    t.deepEqual(controllerSources({ kraftMigration: "none" }), []);
});

test("ZooKeeper to KRaft with mtls: the controllers reach ZooKeeper over TLS as the node, with its ACLs, and the brokers over SSL; migrating brokers reach the controllers over SSL; the rollback's ZooKeeper shell speaks TLS", (t) => {
    const zookeeperTls = {
        "zookeeper.ssl.client.enable": "true",
        "zookeeper.clientCnxnSocket": "org.apache.zookeeper.ClientCnxnSocketNetty",
        "zookeeper.ssl.keystore.location": "/etc/kafka/tls/node.pem",
        "zookeeper.ssl.truststore.location": "/etc/kafka/tls/ca.pem",
        "zookeeper.set.acl": "true",
    };
    const { c, a } = awsLab({ brokers: "3", kraftMigration: "dual-write", internalSecurity: "mtls" });
    const controller = parseProperties(renderControllerProperties(c, "broker2"));
    t.is(controller["listener.security.protocol.map"], "CONTROLLER:SSL,INTERNAL:SSL", "the controllers reach the ZooKeeper-mode brokers' internal listener over TLS");
    t.is(controller["zookeeper.connect"], "broker1:2181,broker2:2181,broker3:2181");
    for (const [key, value] of Object.entries(zookeeperTls)) t.is(controller[key], value, `controller: ${key}`);
    t.is(controller["ssl.keystore.location"], "/etc/kafka/tls/node.pem", "the node's certificate, as a server and as the brokers' client");
    const migrating = parseProperties(renderServerProperties(c, "broker2", a, "", "migrating"));
    t.regex(migrating["listener.security.protocol.map"], /^INTERNAL:SSL,EXTERNAL:PLAINTEXT,CONTROLLER:SSL$/, "the migrating broker reaches the controllers over TLS");
    for (const [key, value] of Object.entries(zookeeperTls)) t.is(migrating[key], value, `migrating broker: ${key}`);
    const kraft = parseProperties(renderServerProperties(c, "broker2", a, ""));
    t.is(kraft["listener.security.protocol.map"], "INTERNAL:SSL,EXTERNAL:PLAINTEXT,CONTROLLER:SSL");
    t.false(Object.keys(kraft).some((k) => k.startsWith("zookeeper.")), "a KRaft broker keeps no ZooKeeper setting");
    const fin = awsLab({ brokers: "3", kraftMigration: "finalize", internalSecurity: "mtls" });
    const finalized = parseProperties(renderControllerProperties(fin.c, "broker1"));
    t.is(finalized["listener.security.protocol.map"], "CONTROLLER:SSL");
    t.false(Object.keys(finalized).some((k) => k.startsWith("zookeeper.")), "finalized controllers keep no ZooKeeper setting");
    const back = awsLab({ brokers: "3", kraftMigration: "rollback", internalSecurity: "mtls" });
    const unmigrate = renderStep("zookeeper-unmigrate", "broker1", { ...ctx, config: back.c, addresses: back.a }).script;
    t.regex(unmigrate, /^ZOOKEEPER_TOOLS_PROPERTIES='\/etc\/kafka\/zookeeper-tools\.properties'$/m);
    t.regex(unmigrate, /zookeeper-shell\.sh "\$ZOOKEEPER_CONNECT" \$\{ZOOKEEPER_TOOLS_PROPERTIES:\+-zk-tls-config-file "\$ZOOKEEPER_TOOLS_PROPERTIES"\}/);
    t.false(/ZOOKEEPER_TOOLS_PROPERTIES=/.test(renderStep("zookeeper-unmigrate", "broker1", { ...ctx, config: awsLab({ brokers: "3", kraftMigration: "rollback" }).c, addresses: back.a }).script), "plaintext: as before");
    t.is(spawnSync("bash", ["-n"], { input: unmigrate }).status, 0);
});

test("kraftMigration needs Kafka 3.9.x and dedicated controllers; finalize makes the cluster KRaft", (t) => {
    const refused = (raw: Record<string, unknown>) => t.throws(() => validateConfig({ ...awsRaw, ...raw }, { stack: "dev", awsRegion: "eu-west-1" }))!.message;
    t.regex(refused({ kraftMigration: "dual-write", kafkaVersion: "3.8.1" }), /kraftMigration dual-write needs Kafka 3\.9\.x.*kafkaVersion is 3\.8\.1/);
    t.regex(refused({ kraftMigration: "dual-write", controllers: "combined" }), /moves the metadata into dedicated controllers \(KIP-866 does not migrate into combined/);
    t.regex(refused({ kraftMigration: "dual-write", metadata: "kraft" }), /runs on a ZooKeeper-mode cluster: kafka-lab:metadata stays zookeeper/);
    t.regex(refused({ kraftMigration: "finalize", metadata: "zookeeper" }), /finalize makes the cluster KRaft: set kafka-lab:metadata to kraft or leave it unset/);
    t.regex(refused({ kraftMigration: "halfway" }), /kraftMigration is "halfway"; allowed: none, dual-write, finalize, rollback/);
    const after = validateConfig({ ...awsRaw, zookeeperCidrs: [], kraftMigration: "finalize", kafkaVersion: "4.4.0" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.is(after.topology.metadata, "kraft", "after finalize, 4.x like any KRaft cluster");
});

test("metrics: Prometheus scrapes every exporter of the topology by its lab name; the JMX exporter agent is in the services' units alone", (t) => {
    const jobsOf = (c: ReturnType<typeof awsLab>["c"]) =>
        Object.fromEntries(
            (parseYaml(renderPrometheusConfig(c)).scrape_configs as any[]).map((job) => [job.job_name, job.static_configs.map((s: any) => `${s.labels.host} ${s.targets.join(",")}`)]),
        );
    // The guide's lab: ZooKeeper beside the one broker.
    t.deepEqual(jobsOf(config), {
        kafka: ["broker broker:9404"],
        zookeeper: ["broker broker:9406"],
        node: ["broker broker:9100", "producer producer:9100", "consumer consumer:9100"],
        lag: ["consumer 127.0.0.1:9308"],
    });
    // KRaft with dedicated controllers: a controller's agent beside each of the first three brokers, no ZooKeeper.
    const dedicated = awsLab({ brokers: "4", kafkaVersion: "4.4.0", controllers: "dedicated" }).c;
    const jobs = jobsOf(dedicated);
    t.deepEqual(jobs["kafka-controller"], ["broker1 broker1:9405", "broker2 broker2:9405", "broker3 broker3:9405"]);
    t.is(jobs.kafka.length, 4);
    t.false("zookeeper" in jobs);
    // A migration's dual-write phase runs both; finalize leaves ZooKeeper unscraped (it is retired).
    const dualWrite = awsLab({ brokers: "3", kraftMigration: "dual-write" }).c;
    t.deepEqual(Object.keys(jobsOf(dualWrite)).sort(), ["kafka", "kafka-controller", "lag", "node", "zookeeper"]);
    t.false("zookeeper" in jobsOf(awsLab({ brokers: "3", kraftMigration: "finalize" }).c));
    // Each JVM service loads the agent on its own port; the rules file is YAML the agent can read.
    t.regex(renderKafkaUnit(dedicated, "broker1"), /^Environment="KAFKA_OPTS=-javaagent:\/opt\/kafka-lab\/lib\/jmx_prometheus_javaagent\.jar=9404:\/etc\/kafka-lab\/jmx-exporter\.yaml"$/m);
    t.regex(renderControllerUnit(dedicated), /-javaagent:[^=]+=9405:/);
    t.regex(renderZookeeperUnit(config), /-javaagent:[^=]+=9406:/);
    const rules = parseYaml(renderTemplate("jmx-exporter.yaml", {}));
    t.true(rules.lowercaseOutputName);
    t.true(rules.rules.some((r: any) => r.pattern.includes("raft-metrics")), "KRaft's raft metrics kept");
    // The agent reads only the MBeans named in includeObjectNames (JMX ObjectName patterns): each MBean a rule
    // keeps is read, and the per-topic, per-request and per-processor ones around them are not.
    const included = (name: string) => rules.includeObjectNames.some((p: string) => objectNameMatches(p, name));
    for (const kept of [
        "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions",
        "kafka.controller:type=KafkaController,name=ActiveControllerCount",
        "kafka.controller:type=ControllerStats,name=UncleanLeaderElectionsPerSec",
        "kafka.log:type=LogManager,name=OfflineLogDirectoryCount",
        ...["MessagesIn", "BytesIn", "BytesOut", "BytesRejected", "FailedProduceRequests", "FailedFetchRequests", "TotalProduceRequests", "TotalFetchRequests"].map((m) => `kafka.server:type=BrokerTopicMetrics,name=${m}PerSec`),
        ...["Produce", "FetchConsumer", "FetchFollower", "Metadata"].map((r) => `kafka.network:type=RequestMetrics,name=TotalTimeMs,request=${r}`),
        ...["Produce", "FetchConsumer", "FetchFollower"].map((r) => `kafka.network:type=RequestMetrics,name=RequestsPerSec,request=${r},version=11`),
        "kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent",
        "kafka.network:type=SocketServer,name=NetworkProcessorAvgIdlePercent",
        "kafka.server:type=SessionExpireListener,name=ZooKeeperExpiresPerSec",
        "kafka.server:type=raft-metrics",
        "kafka.server:type=broker-metadata-metrics",
        "org.apache.ZooKeeperService:name0=ReplicatedServer_id1,name1=replica.1,name2=Leader",
        "org.apache.ZooKeeperService:name0=StandaloneServer_port2181",
    ]) {
        t.true(included(kept), `${kept} is read`);
    }
    for (const skipped of [
        "kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec,topic=test",
        "kafka.network:type=RequestMetrics,name=LocalTimeMs,request=Produce",
        "kafka.network:type=RequestMetrics,name=TotalTimeMs,request=ListOffsets",
        "kafka.server:type=socket-server-metrics,listener=INTERNAL,networkProcessor=0",
        "kafka.server:type=FetcherLagMetrics,name=ConsumerLag,clientId=ReplicaFetcherThread-0-1,topic=test,partition=0",
        "kafka.controller:type=ControllerEventManager,name=EventQueueTimeMs",
    ]) {
        t.false(included(skipped), `${skipped} is not read`);
    }
    // The tools' environment never loads it: no profile script or tool wrapper mentions the agent.
    for (const role of ROLES) {
        for (const step of renderHostSteps(role, ctx).filter((s) => !["kafka-broker", "kafka-roll", "kafka-protocol", "zookeeper", "zookeeper-roll", "exporters"].includes(s.name))) {
            t.notRegex(step.script, /javaagent/, `${role} ${step.name}`);
        }
    }
    // The lag exporter answers on the monitoring host's loopback only.
    const monitoring = renderStep("monitoring", "consumer", ctx).script;
    t.regex(monitoring, /--listen 127\.0\.0\.1:9308/);
    t.regex(monitoring, /--bootstrap broker:9092/);
});

test("alert rules: one for each fault the issue names, each on the metric the exporters give, the thresholds stated", (t) => {
    const groups = parseYaml(renderAlertRules(config)).groups as any[];
    const alerts = Object.fromEntries(groups.flatMap((g) => g.rules).filter((r: any) => r.alert).map((r: any) => [r.alert, r]));
    t.deepEqual(Object.keys(alerts).sort(), [
        "KafkaActiveControllerCount",
        "KafkaBrokerDown",
        "KafkaConsumerGroupLag",
        "KafkaControllerDown",
        "KafkaDataDiskFull",
        "KafkaOfflinePartitions",
        "KafkaUnderMinIsrPartitions",
        "KafkaUnderReplicatedPartitions",
        "MachineDown",
        "ZooKeeperDown",
    ]);
    t.is(alerts.KafkaBrokerDown.expr, `up{job="kafka"} == 0`);
    t.regex(alerts.KafkaActiveControllerCount.expr, /\(sum\(kafka_controller_kafkacontroller_activecontrollercount\) or vector\(0\)\) != 1/, "no controller at all is an alert too");
    t.is(alerts.KafkaDataDiskFull.expr, "kafka_lab:data_disk_used:ratio > 0.8");
    t.is(alerts.KafkaConsumerGroupLag.expr, `kafka_lab:group_lag:sum{group="my-group"} > 1000`);
    for (const a of Object.values(alerts) as any[]) t.truthy(a.for, `${a.alert} waits before it fires`);
    // The data disk is the data dir's filesystem, or the root filesystem of a broker without a volume of its own.
    const disk = groups[0].rules.find((r: any) => r.record === "kafka_lab:data_disk_used:ratio").expr;
    t.regex(disk, /mountpoint="\/var\/lib\/kafka"/);
    t.regex(disk, /mountpoint="\/",host=~"broker"/);
    // The dashboard: Prometheus' own console template, every signal of status on one page.
    const page = renderDashboard(config);
    for (const signal of ["activecontrollercount", "underreplicatedpartitions", "underminisrpartitioncount", "offlinepartitionscount", "messagesin_total", "bytesin_total", "bytesout_total", "kafka_lab:data_disk_used:ratio", "kafka_lab:group_lag:sum"]) {
        t.true(page.includes(signal), signal);
    }
    t.regex(page, /prom_console\.js/);
});

test("a migration's controllers are scraped while they run: in dual-write, not once a rollback has retired them", async (t) => {
    const { labTopology, METRICS_PORTS } = await import("../src/topology");
    const { scrapeTargets, exporterPorts } = await import("../src/monitoring");
    const dualWrite = labTopology(1, "zookeeper", [], "combined", "dual-write");
    t.deepEqual(scrapeTargets(dualWrite)["kafka-controller"], [{ host: "broker", port: METRICS_PORTS.controller }]);
    const rollback = labTopology(1, "zookeeper", [], "combined", "rollback");
    t.deepEqual(scrapeTargets(rollback)["kafka-controller"], []);
    t.false(exporterPorts(rollback, "broker").includes(METRICS_PORTS.controller), "the firewall closes the retired controller's exporter port");
});

/** JMX's ObjectName pattern match, as far as the agent's includeObjectNames use it: the same domain, every key
 * of the pattern with its value, and no other key unless the pattern ends in ",*" (or is "domain:*"). */
function objectNameMatches(pattern: string, name: string): boolean {
    const parse = (n: string) => {
        const [domain, keys] = [n.slice(0, n.indexOf(":")), n.slice(n.indexOf(":") + 1)];
        const parts = keys.split(",");
        const open = parts.includes("*");
        return { domain, open, props: Object.fromEntries(parts.filter((p) => p !== "*").map((p) => p.split("=") as [string, string])) };
    };
    const p = parse(pattern);
    const n = parse(name);
    if (p.domain !== n.domain) return false;
    if (!Object.entries(p.props).every(([k, v]) => n.props[k] === v)) return false;
    return p.open || Object.keys(n.props).length === Object.keys(p.props).length;
}
