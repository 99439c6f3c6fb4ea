// Provisioning over SSH, written once for every target: each step of templates/scripts becomes one
// @pulumi/command remote command, run in order per host, run again only when its rendered script or
// the machine under it changes.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
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

/** A new machine's sshd may take a while: dial again, but a bounded number of times (about 3 minutes). */
export const DIAL_ERROR_LIMIT = 40;
export const PER_DIAL_TIMEOUT = 15;
/** No step may hang a deploy: the slowest (a package install, Kafka's first start) takes a few minutes. */
export const STEP_TIMEOUTS: pulumi.CustomTimeouts = { create: "20m", update: "20m", delete: "10m" };

export class LabProvisioning extends pulumi.ComponentResource {
    /** The commands of each host, in order; the last one of a host means that host is ready. */
    readonly steps: Record<Role, command.remote.Command[]>;

    constructor(name: string, args: LabProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:index:Provisioning", name, {}, opts);
        const { config, lab } = args;
        const addresses: pulumi.Output<LabAddresses> = pulumi
            .all(ROLES.map((r) => pulumi.all([lab.machines[r].privateIp, lab.machines[r].publicIp])))
            .apply((pairs) => Object.fromEntries(ROLES.map((r, i) => [r, { privateIp: pairs[i][0], publicIp: pairs[i][1] }])) as LabAddresses);

        this.steps = {} as Record<Role, command.remote.Command[]>;
        for (const role of ROLES) {
            const machine = lab.machines[role];
            const connection: command.types.input.remote.ConnectionArgs = {
                host: machine.sshHost,
                port: lab.sshPort,
                user: lab.sshUser,
                privateKey: lab.sshPrivateKey,
                dialErrorLimit: DIAL_ERROR_LIMIT,
                perDialTimeout: PER_DIAL_TIMEOUT,
            };
            const devices = role === "broker" && lab.brokerDataDevices ? lab.brokerDataDevices : pulumi.output<string[]>([]);
            const ctx: pulumi.Output<ProvisionContext> = pulumi
                .all([addresses, devices])
                .apply(([addresses, dataDevices]) => ({ config, addresses, dataDevices, artifactSha512: args.artifactSha512 }));
            const child = (dependsOn: pulumi.Input<pulumi.Resource>[]): pulumi.CustomResourceOptions => ({ parent: this, dependsOn, customTimeouts: STEP_TIMEOUTS });
            const commandArgs = (script: pulumi.Input<string>, fingerprint: pulumi.Input<string>): command.remote.CommandArgs => ({
                connection,
                create: RUN_AS_ROOT,
                stdin: script,
                // A new script, or a new machine under the same name, runs the step (again).
                triggers: [fingerprint, machine.identity],
                // The previous run's output is of no use to the next, and sshd would refuse the variables.
                addPreviousOutputInEnv: false,
            });

            let previous: pulumi.Resource[] = machine.ready;
            this.steps[role] = [];
            for (const step of stepsFor(role, role === "broker" && lab.brokerDataDevices !== undefined)) {
                if (step === "stage-kafka" && config.kafka.artifact.kind === "file") {
                    // Lab machines without internet get the tarball uploaded; the step then verifies it.
                    previous = [
                        new command.remote.CopyToRemote(
                            `${role}-upload-kafka`,
                            {
                                connection,
                                source: new pulumi.asset.FileAsset(config.kafka.artifact.path),
                                remotePath: stagedUploadPath(config),
                                triggers: [args.artifactSha512, machine.identity],
                            },
                            child(previous),
                        ),
                    ];
                }
                const rendered = ctx.apply((c) => renderStep(step, role, c));
                const cmd = new command.remote.Command(`${role}-${step}`, commandArgs(rendered.script, rendered.fingerprint), child(previous));
                this.steps[role].push(cmd);
                previous = [cmd];
                if (step === "wait-ready" && lab.uninstallOnDestroy) {
                    // Every later step depends on it, so on destroy it goes last: it removes what they installed.
                    // A remote command has one stdin for create and delete alike; `true` ignores it. No triggers:
                    // replaced, it would uninstall from the new machine at the same address after provisioning.
                    const uninstall = renderUninstall(config, lab.uninstallOnDestroy.purgeData);
                    previous = [
                        new command.remote.Command(
                            `${role}-uninstall-on-destroy`,
                            { connection, create: "true", delete: RUN_AS_ROOT, stdin: uninstall, addPreviousOutputInEnv: false },
                            child(previous),
                        ),
                    ];
                }
            }
        }
        this.registerOutputs({});
    }
}
