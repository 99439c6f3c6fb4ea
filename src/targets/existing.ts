// Existing target: three machines the user already has. Nothing is created; the machines are
// described from stack config and handed to the same provisioning as every other target.
import * as fs from "fs";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { LabConfig } from "../config";
import { LabMachine, LabMachines } from "../machines";
import { shellQuote as q } from "../render";

/** What a machine is, as `<os id> <os version> <machine id>`: the same address may be a reinstalled machine. */
const IDENTIFY = `. /etc/os-release && echo "$ID $VERSION_ID $(cat /etc/machine-id)"`;

export class ExistingLabMachines extends pulumi.ComponentResource implements LabMachines {
    readonly machines: Record<string, LabMachine>;
    readonly sshUser: string;
    readonly sshPort: number;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly uninstallOnDestroy: { purgeData: boolean };

    constructor(name: string, args: { config: LabConfig; sshPrivateKey?: pulumi.Output<string> }, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:existing:LabMachines", name, {}, opts);
        const cfg = args.config.existing!;
        this.sshUser = cfg.sshUser;
        this.sshPort = cfg.sshPort;
        this.sshPrivateKey = pulumi.secret(cfg.sshPrivateKeyPath ? pulumi.output(fs.readFileSync(cfg.sshPrivateKeyPath, "utf8")) : args.sshPrivateKey!);
        this.machines = Object.fromEntries(
            args.config.topology.hosts.map(({ name }) => {
                const host = cfg.hosts[name];
                // Read on every run over SSH (the key on stdin, into a file only this process can read).
                const ssh = `ssh -i "$k" -p ${cfg.sshPort} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=15 ${q(`${cfg.sshUser}@${host.publicAddress}`)} ${q(IDENTIFY)} || { echo ${q(`kafka-lab: cannot SSH to ${cfg.sshUser}@${host.publicAddress}:${cfg.sshPort} (${name}) to identify it`)} >&2; exit 1; }`;
                const identified = command.local.runOutput(
                    { command: `k=$(mktemp) && trap 'rm -f "$k"' EXIT && cat >"$k" && ${ssh}`, stdin: this.sshPrivateKey, logging: "none" },
                    { parent: this },
                );
                const identity = pulumi.unsecret(identified.stdout.apply((os) => `${host.publicAddress} ${os.trim()}`));
                return [name, { sshHost: pulumi.output(host.publicAddress), privateIp: pulumi.output(host.address), publicIp: pulumi.output(host.publicAddress), identity, ready: [] as pulumi.Resource[] }];
            }),
        );
        // The machines outlive the stack: `pulumi destroy` takes back what the lab put on them.
        this.uninstallOnDestroy = { purgeData: cfg.purgeDataOnDestroy };
        this.registerOutputs({});
    }
}
