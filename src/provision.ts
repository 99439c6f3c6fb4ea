// Provisioning over SSH, written once for every target: each step of templates/scripts becomes one
// remote command, run in order per host, re-run only when its rendered script changes.
import * as pulumi from "@pulumi/pulumi";
import { RemoteCommand, RemoteUpload, SshConnection } from "./commands";
import { LabConfig } from "./config";
import { LabMachines, ROLES, Role } from "./machines";
import { LabAddresses, ProvisionContext, renderStep, renderUninstall, stagedUploadPath, stepsFor } from "./render";

export interface LabProvisioningArgs {
    config: LabConfig;
    lab: LabMachines;
    /** Expected SHA-512 of the Kafka tarball ("" to use the .sha512 published beside the URL). */
    artifactSha512: string;
}

// Steps run as root: directly when the SSH user is root, else through sudo, which must not ask for a
// password (-n: a clear error instead of a hang).
export const RUN_AS_ROOT =
    `if [ "$(id -u)" -eq 0 ]; then exec bash -s; fi; ` +
    `if ! sudo -n true 2>/dev/null; then echo "kafka-lab: user $(id -un) on $(hostname) needs sudo without a password (sudo asked for one, or is missing)" >&2; exit 1; fi; ` +
    `exec sudo -n bash -s`;

export class LabProvisioning extends pulumi.ComponentResource {
    /** The commands of each host, in order; the last one of a host means that host is ready. */
    readonly steps: Record<Role, RemoteCommand[]>;

    constructor(name: string, args: LabProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:index:Provisioning", name, {}, opts);
        const { config, lab } = args;
        const addresses: pulumi.Output<LabAddresses> = pulumi
            .all(ROLES.map((r) => pulumi.all([lab.machines[r].privateIp, lab.machines[r].publicIp])))
            .apply((pairs) => Object.fromEntries(ROLES.map((r, i) => [r, { privateIp: pairs[i][0], publicIp: pairs[i][1] }])) as LabAddresses);

        this.steps = {} as Record<Role, RemoteCommand[]>;
        for (const role of ROLES) {
            const machine = lab.machines[role];
            const connection: pulumi.Output<SshConnection> = pulumi.secret(
                pulumi.all([machine.sshHost, lab.sshPrivateKey]).apply(([host, privateKey]) => ({
                    host,
                    port: lab.sshPort,
                    user: lab.sshUser,
                    privateKey,
                    // A new machine's sshd may take a while: retry the dial, but a bounded number of times.
                    dialAttempts: 40,
                    dialTimeout: 15,
                })),
            );
            const devices = role === "broker" && lab.brokerDataDevices ? lab.brokerDataDevices : pulumi.output<string[]>([]);
            const ctx: pulumi.Output<ProvisionContext> = pulumi
                .all([addresses, devices])
                .apply(([addresses, dataDevices]) => ({ config, addresses, dataDevices, artifactSha512: args.artifactSha512 }));

            let previous: pulumi.Resource[] = lab.ready;
            this.steps[role] = [];
            for (const step of stepsFor(role, role === "broker" && lab.brokerDataDevices !== undefined)) {
                if (step === "stage-kafka" && config.kafka.artifact.kind === "file") {
                    // Lab machines without internet get the tarball uploaded; the step then verifies it.
                    previous = [
                        new RemoteUpload(
                            `${role}-upload-kafka`,
                            { connection, localPath: config.kafka.artifact.path, remotePath: stagedUploadPath(config), triggers: [args.artifactSha512] },
                            { parent: this, dependsOn: previous },
                        ),
                    ];
                }
                const rendered = ctx.apply((c) => renderStep(step, role, c));
                const cmd = new RemoteCommand(
                    `${role}-${step}`,
                    { connection, create: RUN_AS_ROOT, stdin: rendered.script, triggers: [rendered.fingerprint] },
                    { parent: this, dependsOn: previous },
                );
                this.steps[role].push(cmd);
                previous = [cmd];
                if (step === "wait-ready" && lab.uninstallOnDestroy) {
                    // Every later step depends on it, so on destroy it goes last: it removes what they installed.
                    previous = [
                        new RemoteCommand(
                            `${role}-uninstall-on-destroy`,
                            { connection, create: "true", triggers: [], delete: RUN_AS_ROOT, deleteStdin: renderUninstall(config, lab.uninstallOnDestroy.purgeData) },
                            { parent: this, dependsOn: previous },
                        ),
                    ];
                }
            }
        }
        this.registerOutputs({});
    }
}
