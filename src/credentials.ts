// The stack's credentials: a CA; for the external listener (externalSecurity: sasl_ssl) one certificate per
// broker and the SCRAM users' passwords; inside the lab (internalSecurity: mtls) one certificate per Kafka
// node (its lab name and private address) and one each for the lab's client and admin identities. Made once
// per stack by scripts/credentials.sh (openssl on the deploying machine, the same for every target) and kept
// in the stack's state as secrets: a second `pulumi up` changes nothing; credentialsGeneration re-issues them all.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { X509Certificate } from "crypto";
import { isIPv4 } from "net";
import * as path from "path";
import { LabConfig } from "./config";
import { HostAddress } from "./render";
import { hasRole } from "./topology";

/** What scripts/credentials.sh prints: PEM blocks, then "name: value" lines. */
export interface IssuedCredentials {
    privateKey: string;
    certificate: string;
    values: Record<string, string>;
}

export function parseIssued(text: string): IssuedCredentials {
    const block = (label: string) => new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`).exec(text)?.[0];
    const privateKey = block("PRIVATE KEY");
    const certificate = block("CERTIFICATE");
    if (!privateKey || !certificate) throw new Error("scripts/credentials.sh printed no private key or certificate");
    const values = Object.fromEntries([...text.matchAll(/^([a-z-]+): (\S+)$/gm)].map((m) => [m[1], m[2]]));
    return { privateKey: `${privateKey}\n`, certificate: `${certificate}\n`, values };
}

/** The subject alternative names of a broker's certificate: every name and address it may be reached by. */
export function brokerSans(brokerName: string, address: HostAddress): string {
    const names = [brokerName, address.publicIp, address.privateIp].filter((v, i, all) => v && all.indexOf(v) === i);
    return names.map((n) => (isIPv4(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
}

/** The subject alternative names of a node's internal certificate: its lab name and private address. */
export function internalSans(hostName: string, address: HostAddress): string {
    return [`DNS:${hostName}`, isIPv4(address.privateIp) ? `IP:${address.privateIp}` : `DNS:${address.privateIp}`].join(",");
}

/** A certificate's notAfter, as an ISO 8601 date. */
export function certificateExpiry(pem: string): string {
    return new Date(new X509Certificate(pem).validTo).toISOString();
}

/** A Java properties value on one line: `\n` escapes keep a PEM's line breaks. */
const propertyValue = (v: string) => v.trim().replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

/** A client.properties for Kafka's own tools against the external listener: SASL_SSL, the CA inline. */
export function renderClientProperties(config: LabConfig, bootstrapServers: string, caCertificate: string, password: string): string {
    return [
        `# kafka-lab ${config.stack}: Kafka's tools against the external listener (SASL_SSL, SCRAM-SHA-512).`,
        `# e.g. kafka-console-producer.sh --bootstrap-server ${bootstrapServers.split(",")[0]} --producer.config client.properties --topic ${config.kafka.topic.name}`,
        `bootstrap.servers=${bootstrapServers}`,
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${config.security.clientUser}" password="${password}";`,
        "ssl.truststore.type=PEM",
        `ssl.truststore.certificates=${propertyValue(caCertificate)}`,
        "",
    ].join("\n");
}

/** The script, run from the project's root whatever the working directory. */
const SCRIPT = path.join(__dirname, "..", "scripts", "credentials.sh");
/** Secret outputs, never in `pulumi up`'s log. */
const SECRET_COMMAND: Partial<command.local.CommandArgs> = { logging: "none", addPreviousOutputInEnv: false };

/** A PEM keystore as Kafka reads it: the PKCS#8 key, its certificate, then the CA's. */
const keystore = (issued: IssuedCredentials, caCert: string) => `${issued.privateKey}${issued.certificate}${caCert}`;

/** internalSecurity mtls: each Kafka node's keystore (by host name), the client's and the admin's. */
export interface InternalKeystores {
    nodes: Record<string, pulumi.Output<string>>;
    client: pulumi.Output<string>;
    admin: pulumi.Output<string>;
}

export interface LabCredentialsArgs {
    config: LabConfig;
    /** Every broker's addresses, by host name: its certificate covers them. */
    addresses: pulumi.Output<Record<string, HostAddress>>;
}

export class LabCredentials extends pulumi.ComponentResource {
    /** The stack's CA certificate (PEM): what clients trust. Not a secret. */
    readonly caCertificate: pulumi.Output<string>;
    readonly adminPassword: pulumi.Output<string>;
    readonly clientPassword: pulumi.Output<string>;
    /** sasl_ssl: each broker's external keystore (PEM: PKCS#8 key, its certificate, the CA's), secret, by host name. */
    readonly keystores: Record<string, pulumi.Output<string>>;
    /** mtls: the internal identities' keystores, secret. */
    readonly internal?: InternalKeystores;
    /** When each broker's certificate expires (ISO 8601), by host name: renew before with certificatesGeneration. */
    readonly expiry: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: LabCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:index:Credentials", name, {}, opts);
        const { config } = args;
        // The script is named by its path relative to the program, so that the command (kept in state)
        // does not change when the project is checked out elsewhere.
        const script = path.relative(process.cwd(), SCRIPT);
        const ca = new command.local.Command(
            "tls-ca",
            {
                create: `bash ${script} ca`,
                environment: { CA_NAME: `kafka-lab ${config.stack} CA` },
                // A new generation replaces the CA, and with it every certificate and password.
                triggers: [config.security.generation],
                ...SECRET_COMMAND,
            },
            { parent: this, additionalSecretOutputs: ["stdout"] },
        );
        const issued = ca.stdout.apply(parseIssued);
        this.caCertificate = pulumi.unsecret(issued.apply((c) => c.certificate));
        this.adminPassword = pulumi.secret(issued.apply((c) => c.values["admin-password"]));
        this.clientPassword = pulumi.secret(issued.apply((c) => c.values["client-password"]));
        this.keystores = {};
        const certificates: Record<string, pulumi.Output<string>> = {};
        const caKey = pulumi.secret(issued.apply((c) => c.privateKey));
        /** A certificate of the CA, made by scripts/credentials.sh (renewed with certificatesGeneration). */
        const issue = (resourceName: string, mode: "broker" | "identity", environment: Record<string, pulumi.Input<string>>) => {
            const cert = new command.local.Command(
                resourceName,
                {
                    create: `bash ${script} ${mode}`,
                    environment: { CA_KEY: caKey, CA_CERT: this.caCertificate, ...environment },
                    // A new certificates generation renews this certificate alone: same CA, same passwords. (None
                    // at generation 1: certificates made before the key existed are not renewed by its arrival.)
                    ...(config.security.certificatesGeneration > 1 && { triggers: [config.security.certificatesGeneration] }),
                    ...SECRET_COMMAND,
                },
                { parent: this, additionalSecretOutputs: ["stdout"] },
            );
            const own = cert.stdout.apply(parseIssued);
            return {
                certificate: pulumi.unsecret(own.apply((o) => o.certificate)),
                keystore: pulumi.secret(pulumi.all([own, this.caCertificate]).apply(([o, caCert]) => keystore(o, caCert))),
            };
        };
        const brokers = config.security.external === "sasl_ssl" ? config.topology.brokers : [];
        for (const broker of brokers) {
            const own = issue(`tls-${broker.name}`, "broker", { BROKER_NAME: broker.name, SANS: args.addresses.apply((a) => brokerSans(broker.name, a[broker.name])) });
            certificates[broker.name] = own.certificate;
            this.keystores[broker.name] = own.keystore;
        }
        if (config.security.internal === "mtls") {
            // Every node has the same subject (one principal, the only super user; ZooKeeper's ACLs need one DN
            // too), each its own key and the names it is reached by inside the lab.
            const nodes: Record<string, pulumi.Output<string>> = {};
            for (const host of config.topology.hosts.filter((h) => hasRole(h, "broker") || hasRole(h, "controller"))) {
                const own = issue(`tls-node-${host.name}`, "identity", { IDENTITY: config.security.nodeUser, SANS: args.addresses.apply((a) => internalSans(host.name, a[host.name])) });
                certificates[`${host.name} (internal)`] = own.certificate;
                nodes[host.name] = own.keystore;
            }
            const client = issue("tls-client", "identity", { IDENTITY: config.security.clientUser });
            const admin = issue("tls-admin", "identity", { IDENTITY: config.security.adminUser });
            certificates["client (internal)"] = client.certificate;
            certificates["admin (internal)"] = admin.certificate;
            this.internal = { nodes, client: client.keystore, admin: admin.keystore };
        }
        this.expiry = pulumi.all(certificates).apply((pems) => Object.fromEntries(Object.entries(pems).map(([n, pem]) => [n, certificateExpiry(pem)])));
        this.registerOutputs({ caCertificate: this.caCertificate });
    }
}
