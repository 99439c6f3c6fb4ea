// The stack's credentials: a CA; for the external listener (externalSecurity: sasl_ssl) one certificate per
// broker and the SCRAM users' passwords; inside the lab (internalSecurity: mtls) one certificate per Kafka
// node (its lab name and private address) and one each for the lab's client and admin identities. Made once
// per stack by scripts/credentials.sh (openssl on the deploying machine, the same for every target) and kept
// in the stack's state as secrets: a second `pulumi up` changes nothing; credentialsGeneration re-issues them all,
// in place or (caRotation) with the old and the new CA side by side until every certificate is the new one's.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { X509Certificate } from "crypto";
import { isIPv4 } from "net";
import * as path from "path";
import { LabConfig } from "./config";
import { HostAddress } from "./render";
import { hasRole } from "./topology";
import type { DeployedLab } from "./transitions";

/** A CA of the stack: its credentialsGeneration and the resource that made it (kept in the state). */
export interface CertificateAuthority {
    generation: number;
    resource: string;
}

/** The CAs a deploy holds (every one trusted, the old first during a rotation) and the one whose certificates are served. */
export interface AuthorityPlan {
    trusted: CertificateAuthority[];
    issuing: CertificateAuthority;
}

/** The stack's first CA, and every CA replaced in place (a new generation without caRotation), is this resource. */
const FIRST_CA = "tls-ca";

/**
 * Which CAs this deploy keeps, from the deployed ones and caRotation (src/transitions.ts has refused an
 * order it does not allow): none, the one CA (replaced in place when the generation changed); trust, the
 * deployed CA issuing and a new one, a resource of its own, beside it; reissue, the new one issuing; none
 * again, the CA of the configured generation alone (the other is deleted).
 */
export function planAuthorities(config: LabConfig, deployed: CertificateAuthority[]): AuthorityPlan {
    const generation = config.security.generation;
    const phase = config.security.caRotation;
    if (deployed.length === 0) {
        const first = { generation, resource: FIRST_CA };
        return { trusted: [first], issuing: first };
    }
    if (phase === "none") {
        const kept = deployed.find((ca) => ca.generation === generation) ?? { generation, resource: deployed.at(-1)!.resource };
        return { trusted: [kept], issuing: kept };
    }
    const [old, next] = deployed.length === 2 ? deployed : [deployed[0], { generation, resource: `${FIRST_CA}-g${generation}` }];
    return { trusted: [old, next], issuing: phase === "trust" ? old : next };
}

/** The deployed stack's CAs: its output, or (deployed before the output existed) its one CA. */
export function deployedAuthorities(deployed: DeployedLab | undefined): CertificateAuthority[] {
    if (deployed?.certificateAuthorities) return deployed.certificateAuthorities;
    const hadCredentials = deployed?.externalSecurity === "sasl_ssl" || deployed?.internalSecurity === "mtls";
    return hadCredentials ? [{ generation: deployed?.credentialsGeneration ?? 1, resource: FIRST_CA }] : [];
}

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
    /** The CAs to hold, and which one issues (planAuthorities). */
    authorities: AuthorityPlan;
    /** Every broker's addresses, by host name: its certificate covers them. */
    addresses: pulumi.Output<Record<string, HostAddress>>;
}

export class LabCredentials extends pulumi.ComponentResource {
    /** What clients and nodes trust (PEM): the stack's CA, during a caRotation both CAs. Not a secret. */
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
        const made = Object.fromEntries(
            args.authorities.trusted.map(({ generation, resource }) => {
                const ca = new command.local.Command(
                    resource,
                    {
                        create: `bash ${script} ca`,
                        // A CA made by a rotation names its generation: both are trusted side by side for a while.
                        environment: { CA_NAME: `kafka-lab ${config.stack} CA${resource === FIRST_CA ? "" : ` ${generation}`}` },
                        // A new generation replaces a CA kept in place, and with it every certificate and password.
                        triggers: [generation],
                        ...SECRET_COMMAND,
                    },
                    { parent: this, additionalSecretOutputs: ["stdout"] },
                );
                return [resource, ca.stdout.apply(parseIssued)];
            }),
        );
        const issued = made[args.authorities.issuing.resource];
        const issuingCertificate = pulumi.unsecret(issued.apply((c) => c.certificate));
        this.caCertificate = pulumi.unsecret(pulumi.all(Object.values(made)).apply((cas) => cas.map((c) => c.certificate).join("")));
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
                    environment: { CA_KEY: caKey, CA_CERT: issuingCertificate, ...environment },
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
                keystore: pulumi.secret(pulumi.all([own, issuingCertificate]).apply(([o, caCert]) => keystore(o, caCert))),
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
