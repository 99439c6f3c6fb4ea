// The whole lab as one component: machines from the configured target, provisioned the same way on
// every target, and the outputs the smoke test and the lab commands rely on.
import * as pulumi from "@pulumi/pulumi";
import { expectedArtifactSha512 } from "./artifact";
import { LabConfig } from "./config";
import { LabMachines, ROLES, Role } from "./machines";
import { LabProvisioning } from "./provision";
import { externalBootstrap, internalBootstrap } from "./render";
import { AwsLabMachines } from "./targets/aws";
import { ExistingLabMachines } from "./targets/existing";
import { LocalLabMachines } from "./targets/local";

export interface KafkaLabArgs {
    config: LabConfig;
    /** The private key for a user-supplied key pair (AWS with sshPublicKey). */
    sshPrivateKey?: pulumi.Output<string>;
}

export interface HostOutput {
    hostname: Role;
    publicIp: string;
    privateIp: string;
}

export class KafkaLab extends pulumi.ComponentResource {
    readonly machines: LabMachines;
    readonly provisioning: LabProvisioning;
    readonly hosts: pulumi.Output<Record<Role, HostOutput>>;
    readonly bootstrapServers: pulumi.Output<string>;
    readonly internalBootstrapServers: pulumi.Output<string>;
    readonly sshUser: string;
    readonly sshPrivateKey: pulumi.Output<string>;

    constructor(name: string, args: KafkaLabArgs, opts?: pulumi.ComponentResourceOptions) {
        // Settled before any resource, this component included: a missing or mismatched tarball stops here.
        const artifactSha512 = expectedArtifactSha512(args.config.kafka.artifact);
        super("kafka-lab:index:KafkaLab", name, {}, opts);
        const { config } = args;

        this.machines =
            config.target === "aws"
                ? new AwsLabMachines("aws", { config, sshPrivateKey: args.sshPrivateKey }, { parent: this })
                : config.target === "existing"
                  ? new ExistingLabMachines("existing", { config, sshPrivateKey: args.sshPrivateKey }, { parent: this })
                  : new LocalLabMachines("local", { config }, { parent: this });
        this.provisioning = new LabProvisioning("provision", { config, lab: this.machines, artifactSha512 }, { parent: this });

        // Outputs resolve only once every host is provisioned, so a consumer of them gets a working lab.
        const done = pulumi.all(ROLES.map((r) => this.provisioning.steps[r].at(-1)!.stdout));
        this.hosts = pulumi
            .all([done, ...ROLES.map((r) => pulumi.all([this.machines.machines[r].publicIp, this.machines.machines[r].privateIp]))])
            .apply(([, ...ips]) => Object.fromEntries(ROLES.map((r, i) => [r, { hostname: r, publicIp: ips[i][0], privateIp: ips[i][1] }])) as Record<Role, HostOutput>);
        this.bootstrapServers = this.hosts.apply((h) => externalBootstrap(config, h));
        this.internalBootstrapServers = done.apply(() => internalBootstrap(config));
        this.sshUser = this.machines.sshUser;
        this.sshPrivateKey = pulumi.secret(this.machines.sshPrivateKey);
        this.registerOutputs({ hosts: this.hosts, bootstrapServers: this.bootstrapServers });
    }
}
