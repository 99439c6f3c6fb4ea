// Local target: three systemd-nspawn machines on a bridge of the lab's own, created and removed by
// the host-side scripts in scripts/local. Like the AWS target it only creates machines.
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { HostCommand } from "../commands";
import { LabConfig } from "../config";
import { LabMachine, LabMachines, ROLES, Role } from "../machines";
import { shellQuote as q } from "../render";

// Relative to the project directory (where Pulumi runs the program), so that a stack's delete
// commands still work from another checkout of the project.
const SCRIPTS = "scripts/local";
/** The unprivileged sudo user the local machines' image ships, like a cloud image's default user. */
export const LOCAL_SSH_USER = "debian";

export class LocalLabMachines extends pulumi.ComponentResource implements LabMachines {
    readonly machines: Record<Role, LabMachine>;
    readonly sshUser = LOCAL_SSH_USER;
    readonly sshPort = 22;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly ready: pulumi.Resource[];
    readonly machineCommands: Record<Role, HostCommand>;

    constructor(name: string, args: { config: LabConfig }, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:local:LabMachines", name, {}, opts);
        const cfg = args.config.local!;
        const keyPath = path.join(cfg.stateDir, "id_ed25519");
        const prefixLength = cfg.bridgeAddress.split("/")[1];

        // Refuses (not root, not Linux, a tool missing) before anything is made on the host.
        const preflight = new HostCommand("preflight", { create: `bash ${SCRIPTS}/preflight.sh` }, { parent: this });

        // The stack's SSH key, made on the host; the private half leaves this resource only as a secret.
        const key = new HostCommand(
            "ssh-key",
            {
                create: `set -e; install -d -m 0700 ${q(cfg.stateDir)}; [ -f ${q(keyPath)} ] || ssh-keygen -q -t ed25519 -N '' -C ${q(`kafka-lab-${args.config.stack}`)} -f ${q(keyPath)}; cat ${q(keyPath)}`,
                delete: `rm -f ${q(keyPath)} ${q(keyPath + ".pub")}; rmdir ${q(cfg.stateDir)} 2>/dev/null || true`,
            },
            { parent: this, dependsOn: [preflight], additionalSecretOutputs: ["stdout"] },
        );
        this.sshPrivateKey = pulumi.secret(key.stdout.apply((k) => `${k.trim()}\n`));

        const network = new HostCommand(
            "bridge",
            {
                create: `bash ${SCRIPTS}/network.sh up ${q(cfg.bridge)} ${q(cfg.bridgeAddress)}`,
                delete: `bash ${SCRIPTS}/network.sh down ${q(cfg.bridge)} ${q(cfg.bridgeAddress)}`,
            },
            { parent: this, dependsOn: [preflight] },
        );

        this.machineCommands = {} as Record<Role, HostCommand>;
        this.machines = {} as Record<Role, LabMachine>;
        for (const role of ROLES) {
            const machineName = `${cfg.machinePrefix}-${role}`;
            const address = cfg.addresses[role];
            // Only the broker gets a data volume (a loop device mounted at the data dir inside it).
            const volume = role === "broker" ? ` ${q(cfg.dataVolumeSize)}` : "";
            const machine = new HostCommand(
                `machine-${role}`,
                {
                    create: `bash ${SCRIPTS}/machine.sh up ${q(machineName)} ${q(`${address}/${prefixLength}`)} ${q(cfg.bridge)} "$(ssh-keygen -y -f ${q(keyPath)})"${volume}`,
                    delete: `bash ${SCRIPTS}/machine.sh down ${q(machineName)}`,
                },
                { parent: this, dependsOn: [network, key] },
            );
            this.machineCommands[role] = machine;
            const ip = machine.stdout.apply(() => address);
            this.machines[role] = { sshHost: ip, privateIp: ip, publicIp: ip };
        }
        this.ready = Object.values(this.machineCommands);
        this.registerOutputs({});
    }
}
