// Local target: three systemd-nspawn machines on a bridge of the lab's own, created and removed by
// the host-side scripts in scripts/local. Like the AWS target it only creates machines.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { LabConfig } from "../config";
import { LabMachine, LabMachines } from "../machines";
import { hasRole } from "../topology";
import { shellQuote as q } from "../render";

// Relative to the project directory (where Pulumi runs the program), so that a stack's delete
// commands still work from another checkout of the project.
const SCRIPTS = "scripts/local";
/** The unprivileged sudo user the local machines' image ships, like a cloud image's default user. */
export const LOCAL_SSH_USER = "debian";

/** Host-side steps hold names (a bridge, a machine): the old one must go before its replacement comes. */
const HOST_STEP: pulumi.CustomResourceOptions = { deleteBeforeReplace: true, customTimeouts: { create: "30m", update: "30m", delete: "10m" } };

/**
 * A command on this host, with the command that undoes it. Any change of it replaces it (undo, then do
 * again): `update: "true"` keeps a changed `delete` alone from re-running `create` on what exists.
 */
function hostCommand(
    name: string,
    args: { create: string; delete?: string; logging?: command.types.enums.local.Logging; triggers?: pulumi.Input<string>[] },
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    return new command.local.Command(name, { ...args, update: "true", triggers: [args.create, ...(args.triggers ?? [])], addPreviousOutputInEnv: false }, { ...HOST_STEP, ...opts });
}

export class LocalLabMachines extends pulumi.ComponentResource implements LabMachines {
    readonly machines: Record<string, LabMachine>;
    readonly sshUser = LOCAL_SSH_USER;
    readonly sshPort = 22;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly machineCommands: Record<string, command.local.Command>;

    constructor(name: string, args: { config: LabConfig }, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:local:LabMachines", name, {}, opts);
        const cfg = args.config.local!;
        const keyPath = path.join(cfg.stateDir, "id_ed25519");
        const prefixLength = cfg.bridgeAddress.split("/")[1];

        // Refuses (not root, not Linux, a tool missing) before anything is made on the host.
        const preflight = hostCommand("preflight", { create: `bash ${SCRIPTS}/preflight.sh` }, { parent: this });

        // The stack's SSH key, made on the host. The private half leaves this resource only as a secret,
        // and is never logged.
        const key = hostCommand(
            "ssh-key",
            {
                create: `set -e; install -d -m 0700 ${q(cfg.stateDir)}; [ -f ${q(keyPath)} ] || ssh-keygen -q -t ed25519 -N '' -C ${q(`kafka-lab-${args.config.stack}`)} -f ${q(keyPath)}; cat ${q(keyPath)}`,
                delete: `rm -f ${q(keyPath)} ${q(keyPath + ".pub")}; rmdir ${q(cfg.stateDir)} 2>/dev/null || true`,
                logging: "none",
            },
            { parent: this, dependsOn: [preflight], additionalSecretOutputs: ["stdout"] },
        );
        this.sshPrivateKey = pulumi.secret(key.stdout.apply((k) => `${k.trim()}\n`));

        const network = hostCommand(
            "bridge",
            {
                create: `bash ${SCRIPTS}/network.sh up ${q(cfg.bridge)} ${q(cfg.bridgeAddress)}`,
                delete: `bash ${SCRIPTS}/network.sh down ${q(cfg.bridge)} ${q(cfg.bridgeAddress)}`,
            },
            { parent: this, dependsOn: [preflight] },
        );

        this.machineCommands = {};
        this.machines = {};
        for (const host of args.config.topology.hosts) {
            const machineName = `${cfg.machinePrefix}-${host.name}`;
            const address = cfg.addresses[host.name];
            // Brokers get a data volume (a loop device mounted at the data dir inside the machine).
            const volume = hasRole(host, "broker") ? ` ${q(cfg.dataVolumeSize)}` : "";
            const machine = hostCommand(
                `machine-${host.name}`,
                {
                    create: `bash ${SCRIPTS}/machine.sh up ${q(machineName)} ${q(`${address}/${prefixLength}`)} ${q(cfg.bridge)} "$(ssh-keygen -y -f ${q(keyPath)})"${volume}`,
                    delete: `bash ${SCRIPTS}/machine.sh down ${q(machineName)}`,
                    // A new key is let in only by a new machine.
                    triggers: [key.id],
                },
                { parent: this, dependsOn: [network, key] },
            );
            this.machineCommands[host.name] = machine;
            // The machine's host key, read from its disk on this host: every SSH connection pins it.
            const hostKey = hostCommand(`host-key-${host.name}`, { create: `bash ${SCRIPTS}/machine.sh hostkey ${q(machineName)}`, triggers: [machine.id] }, { parent: this, dependsOn: [machine] });
            // The address is known from config: the other machines' steps (their /etc/hosts) do not depend on
            // this machine resource, so replacing it re-runs its own steps only. A new resource id is a new
            // machine: `pulumi up --replace` on it provisions it from scratch.
            this.machines[host.name] = {
                sshHost: machine.stdout.apply(() => address),
                hostKey: hostKey.stdout.apply((k) => k.trim()),
                privateIp: pulumi.output(address),
                publicIp: pulumi.output(address),
                identity: machine.id,
                ready: [machine],
            };
        }
        this.registerOutputs({});
    }
}
