// The whole lab as one component: the topology's machines from the configured target, provisioned the
// same way on every target, and the outputs the smoke test and the lab commands rely on.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { expectedArtifactSha512 } from "./artifact";
import { LabConfig } from "./config";
import { LabCredentials, renderClientProperties } from "./credentials";
import { LabMachines, labAddresses } from "./machines";
import { LabProvisioning } from "./provision";
import { externalBootstrap, internalBootstrap } from "./render";
import { AwsLabMachines } from "./targets/aws";
import { ExistingLabMachines } from "./targets/existing";
import { LocalLabMachines } from "./targets/local";

export interface KafkaLabArgs {
    config: LabConfig;
    /** The private key for a user-supplied key pair (AWS with sshPublicKey; existing with sshPrivateKey). */
    sshPrivateKey?: pulumi.Output<string>;
}

export interface HostOutput {
    hostname: string;
    publicIp: string;
    privateIp: string;
}

/**
 * A KRaft cluster id: 16 random bytes in Kafka's own form (URL-safe base64, as `kafka-storage.sh
 * random-uuid` prints). Made on the deploying machine, the same way on every target.
 */
const NEW_CLUSTER_ID = `node -e 'process.stdout.write(require("crypto").randomBytes(16).toString("base64url"))'`;

export class KafkaLab extends pulumi.ComponentResource {
    readonly machines: LabMachines;
    readonly provisioning: LabProvisioning;
    /** Every host by name: broker (or broker1..N), producer, consumer. */
    readonly hosts: pulumi.Output<Record<string, HostOutput>>;
    readonly bootstrapServers: pulumi.Output<string>;
    readonly internalBootstrapServers: pulumi.Output<string>;
    readonly sshUser: string;
    readonly sshPrivateKey: pulumi.Output<string>;
    /** externalSecurity sasl_ssl: what outside clients need (the CA, the client user, a client.properties). */
    readonly credentials?: LabCredentials;
    readonly clientProperties?: pulumi.Output<string>;

    constructor(name: string, args: KafkaLabArgs, opts?: pulumi.ComponentResourceOptions) {
        // Settled before any resource, this component included: a missing or mismatched tarball stops here.
        const artifactSha512 = expectedArtifactSha512(args.config.kafka.artifact);
        super("kafka-lab:index:KafkaLab", name, {}, opts);
        const { config } = args;
        const hostNames = config.topology.hosts.map((h) => h.name);

        this.machines =
            config.target === "aws"
                ? new AwsLabMachines("aws", { config, sshPrivateKey: args.sshPrivateKey }, { parent: this })
                : config.target === "existing"
                  ? new ExistingLabMachines("existing", { config, sshPrivateKey: args.sshPrivateKey }, { parent: this })
                  : new LocalLabMachines("local", { config }, { parent: this });
        // Made once and kept in the state: never per host, never per run (formatting with another id fails).
        const clusterId =
            config.topology.metadata === "kraft"
                ? new command.local.Command("kafka-cluster-id", { create: NEW_CLUSTER_ID, update: "true", addPreviousOutputInEnv: false }, { parent: this }).stdout
                : pulumi.output("");
        const addresses = labAddresses(this.machines, hostNames);
        this.credentials = config.security.external === "sasl_ssl" ? new LabCredentials("credentials", { config, addresses }, { parent: this }) : undefined;
        this.provisioning = new LabProvisioning("provision", { config, lab: this.machines, artifactSha512, clusterId, credentials: this.credentials }, { parent: this });

        // Outputs resolve only once every host is provisioned, so a consumer of them gets a working lab.
        const done = pulumi.all(hostNames.map((n) => this.provisioning.steps[n].at(-1)!.stdout));
        this.hosts = pulumi
            .all([done, addresses])
            .apply(([, a]) => Object.fromEntries(hostNames.map((n) => [n, { hostname: n, publicIp: a[n].publicIp, privateIp: a[n].privateIp }])));
        this.bootstrapServers = this.hosts.apply((h) => externalBootstrap(config, h));
        this.internalBootstrapServers = done.apply(() => internalBootstrap(config));
        this.sshUser = this.machines.sshUser;
        this.sshPrivateKey = pulumi.secret(this.machines.sshPrivateKey);
        if (this.credentials) {
            const { caCertificate, clientPassword } = this.credentials;
            this.clientProperties = pulumi.secret(pulumi.all([this.bootstrapServers, caCertificate, clientPassword]).apply(([b, ca, pw]) => renderClientProperties(config, b, ca, pw)));
        }
        this.registerOutputs({ hosts: this.hosts, bootstrapServers: this.bootstrapServers });
    }
}
