// Existing target: three machines the user already has. Nothing is created; the machines are
// described from stack config and handed to the same provisioning as every other target.
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../config";
import { LabMachine, LabMachines, ROLES, Role } from "../machines";

export class ExistingLabMachines extends pulumi.ComponentResource implements LabMachines {
    readonly machines: Record<Role, LabMachine>;
    readonly sshUser: string;
    readonly sshPort: number;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly ready: pulumi.Resource[] = [];
    readonly uninstallOnDestroy: { purgeData: boolean };

    constructor(name: string, args: { config: LabConfig; sshPrivateKey?: pulumi.Output<string> }, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:existing:LabMachines", name, {}, opts);
        const cfg = args.config.existing!;
        this.sshUser = cfg.sshUser;
        this.sshPort = cfg.sshPort;
        this.sshPrivateKey = pulumi.secret(cfg.sshPrivateKeyPath ? pulumi.output(fs.readFileSync(cfg.sshPrivateKeyPath, "utf8")) : args.sshPrivateKey!);
        this.machines = Object.fromEntries(
            ROLES.map((role) => {
                const host = cfg.hosts[role];
                return [role, { sshHost: pulumi.output(host.publicAddress), privateIp: pulumi.output(host.address), publicIp: pulumi.output(host.publicAddress) }];
            }),
        ) as Record<Role, LabMachine>;
        // The machines outlive the stack: `pulumi destroy` takes back what the lab put on them.
        this.uninstallOnDestroy = { purgeData: cfg.purgeDataOnDestroy };
        this.registerOutputs({});
    }
}
