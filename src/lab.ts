// The whole lab as one component: the topology's machines from the configured target, provisioned the
// same way on every target, and the outputs the smoke test and the lab commands rely on.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DeliveredArtifact, DeliveredFile, deliverArtifact, deliverPinned } from "./artifact";
import { JMX_EXPORTER_AGENT, KAFKA_PYTHON_WHEEL } from "./downloads";
import { LabConfig } from "./config";
import { AuthorityPlan, LabCredentials, deployedAuthorities, planAuthorities, renderClientProperties } from "./credentials";
import { LabMachines, labAddresses } from "./machines";
import { LabProvisioning } from "./provision";
import { externalBootstrap, internalBootstrap, tarballName } from "./render";
import { AwsLabMachines, AwsZonePlacement, placeAwsLab } from "./targets/aws";
import { ExistingLabMachines, refuseUnknownHostKeys } from "./targets/existing";
import { LocalLabMachines } from "./targets/local";
import { PROMETHEUS_PORT } from "./topology";
import { DeployedAws, deployedLab, refuseImpossibleChange } from "./transitions";

/** What is settled before anything is created. */
export interface LabPlan {
    /** AWS: the brokers' zones (and subnets, on an existing network). */
    placement?: AwsZonePlacement[];
    artifact: DeliveredArtifact;
    /** The JMX exporter agent and kafka-python's wheel, fetched and checked on the deploying machine. */
    agent: DeliveredFile;
    clientWheel: DeliveredFile;
    /** The stack's CAs this deploy holds (during a caRotation, the old and the new one). */
    authorities: AuthorityPlan;
}

/**
 * Everything that can refuse the run, in the order of its cost, before a single resource exists: a change
 * the running stack cannot take, too few zones or a foreign subnet (AWS), a machine whose host key is
 * unknown (existing), then the Kafka tarball (fetched once and checked, when it is uploaded), the JMX
 * exporter agent and kafka-python's wheel.
 */
export async function prepareLab(config: LabConfig): Promise<LabPlan> {
    const deployed = await deployedLab();
    refuseImpossibleChange(config, deployed);
    const placement = config.target === "aws" ? await placeAwsLab(config, deployed?.aws) : undefined;
    if (config.target === "existing") await refuseUnknownHostKeys(config);
    const artifact = await deliverArtifact(config.kafka.artifact, tarballName(config));
    const agent = await deliverPinned(JMX_EXPORTER_AGENT, config.cacheDir);
    const authorities = planAuthorities(config, deployedAuthorities(deployed));
    return { placement, artifact, agent, clientWheel: await deliverPinned(KAFKA_PYTHON_WHEEL, config.cacheDir), authorities };
}

export interface KafkaLabArgs {
    config: LabConfig;
    /** The private key for a user-supplied key pair (AWS with sshPublicKey; existing with sshPrivateKey). */
    sshPrivateKey?: pulumi.Output<string>;
    plan: LabPlan;
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
    /** Prometheus on the monitoring host: its UI, API and the lab's dashboard (/consoles/kafka-lab.html). */
    readonly prometheusUrl: pulumi.Output<string>;
    readonly sshUser: string;
    readonly sshPrivateKey: pulumi.Output<string>;
    /** AWS: what the stack runs on (region, image family, network, zones, key), which no later change may touch. */
    readonly aws?: DeployedAws;
    /** Every machine's SSH host key, by host name: what `ssh` should trust (scripts/lib/stack.mjs does). */
    readonly sshHostKeys: pulumi.Output<Record<string, string>>;
    /** externalSecurity sasl_ssl: what outside clients need (the CA, the client user, a client.properties). */
    readonly credentials?: LabCredentials;
    readonly clientProperties?: pulumi.Output<string>;

    constructor(name: string, args: KafkaLabArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:index:KafkaLab", name, {}, opts);
        const { config, plan } = args;
        const hostNames = config.topology.hosts.map((h) => h.name);

        if (config.target === "aws") {
            const machines = new AwsLabMachines("aws", { config, sshPrivateKey: args.sshPrivateKey, placement: plan.placement! }, { parent: this });
            this.aws = machines.deployed;
            this.machines = machines;
        } else {
            this.machines =
                config.target === "existing"
                    ? new ExistingLabMachines("existing", { config, sshPrivateKey: args.sshPrivateKey }, { parent: this })
                    : new LocalLabMachines("local", { config }, { parent: this });
        }
        // Made once and kept in the state: never per host, never per run (formatting with another id fails).
        // A migrated cluster keeps the id ZooKeeper gave it, which its brokers' data holds (the steps read it there).
        const clusterId =
            config.topology.metadata === "kraft" && config.topology.migration === "none"
                ? new command.local.Command("kafka-cluster-id", { create: NEW_CLUSTER_ID, update: "true", addPreviousOutputInEnv: false }, { parent: this }).stdout
                : pulumi.output("");
        const addresses = labAddresses(this.machines, hostNames);
        const needsCredentials = config.security.external === "sasl_ssl" || config.security.internal === "mtls";
        this.credentials = needsCredentials ? new LabCredentials("credentials", { config, addresses, authorities: plan.authorities }, { parent: this }) : undefined;
        this.provisioning = new LabProvisioning("provision", { config, lab: this.machines, artifact: plan.artifact, agent: plan.agent, clientWheel: plan.clientWheel, clusterId, credentials: this.credentials }, { parent: this });

        // Outputs resolve only once every host is provisioned, so a consumer of them gets a working lab.
        const done = pulumi.all(hostNames.map((n) => this.provisioning.steps[n].at(-1)!.stdout));
        this.hosts = pulumi
            .all([done, addresses])
            .apply(([, a]) => Object.fromEntries(hostNames.map((n) => [n, { hostname: n, publicIp: a[n].publicIp, privateIp: a[n].privateIp }])));
        this.bootstrapServers = this.hosts.apply((h) => externalBootstrap(config, h));
        this.internalBootstrapServers = done.apply(() => internalBootstrap(config));
        this.prometheusUrl = this.hosts.apply((h) => `http://${h[config.topology.monitoring.name].publicIp}:${PROMETHEUS_PORT}`);
        this.sshUser = this.machines.sshUser;
        this.sshPrivateKey = pulumi.secret(this.machines.sshPrivateKey);
        this.sshHostKeys = pulumi.all(Object.fromEntries(hostNames.map((n) => [n, this.machines.machines[n].hostKey])));
        if (this.credentials && config.security.external === "sasl_ssl") {
            const { caCertificate, clientPassword } = this.credentials;
            this.clientProperties = pulumi.secret(pulumi.all([this.bootstrapServers, caCertificate, clientPassword]).apply(([b, ca, pw]) => renderClientProperties(config, b, ca, pw)));
        }
        this.registerOutputs({ hosts: this.hosts, bootstrapServers: this.bootstrapServers });
    }
}
