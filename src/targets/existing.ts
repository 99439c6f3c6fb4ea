// Existing target: three machines the user already has. Nothing is created; the machines are
// described from stack config and handed to the same provisioning as every other target.
import * as crypto from "crypto";
import * as fs from "fs";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, LabConfig, PROJECT } from "../config";
import { LabMachine, LabMachines } from "../machines";
import { shellQuote as q } from "../render";

/** What a machine is, as `<os id> <os version> <machine id>`: the same address may be a reinstalled machine. */
const IDENTIFY = `. /etc/os-release && echo "$ID $VERSION_ID $(cat /etc/machine-id)"`;

/** An OpenSSH key's SHA256 fingerprint, as `ssh-keygen -lf` prints it. */
export function fingerprint(key: string): string {
    return `SHA256:${crypto.createHash("sha256").update(Buffer.from(key.split(/\s+/)[1] ?? "", "base64")).digest("base64").replace(/=+$/, "")}`;
}

/**
 * Every machine needs its host key in sshHostKeys: keystores and passwords go over these connections. A
 * machine without one is refused, before anything runs, with the key it shows now (read with ssh-keyscan)
 * and how to check it on the machine itself: trusting what the network shows is the user's call, not ours.
 */
export async function refuseUnknownHostKeys(config: LabConfig): Promise<void> {
    const cfg = config.existing!;
    const missing = config.topology.hosts.map((h) => h.name).filter((n) => !cfg.hostKeys[n]);
    if (!missing.length) return;
    const problems = await Promise.all(
        missing.map(async (name) => {
            const address = cfg.hosts[name].publicAddress;
            const scan = await command.local.run({ command: `ssh-keyscan -T 10 -p ${cfg.sshPort} -t ed25519 ${q(address)} 2>&1 || true`, logging: "none" });
            const seen = /^\S+\s+(ssh-ed25519\s+\S+)/m.exec(scan.stdout)?.[1];
            const where = `${name} (${address}:${cfg.sshPort})`;
            if (!seen) return `${PROJECT}:sshHostKeys has no key for ${where}, and none could be read from it (ssh-keyscan: ${scan.stdout.trim().split("\n").pop() || "no answer"}); add "${name} <its /etc/ssh/ssh_host_ed25519_key.pub>"`;
            return (
                `${PROJECT}:sshHostKeys has no key for ${where}. It shows ${fingerprint(seen)}: check that on the machine itself ` +
                `(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add the line "${name} ${seen}" (pulumi config set --path '${PROJECT}:sshHostKeys[N]' '${name} ${seen}')`
            );
        }),
    );
    throw new ConfigError(problems);
}

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
                const hostKey = cfg.hostKeys[name];
                // Read on every run over SSH (the key on stdin, into a file only this process can read), the host
                // key checked against the configured one.
                const knownHost = `${cfg.sshPort === 22 ? host.publicAddress : `[${host.publicAddress}]:${cfg.sshPort}`} ${hostKey}`;
                const ssh =
                    `ssh -i "$k" -p ${cfg.sshPort} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$k.known" -o HostKeyAlgorithms=${hostKey.split(" ")[0]} ` +
                    `-o LogLevel=ERROR -o ConnectTimeout=15 ${q(`${cfg.sshUser}@${host.publicAddress}`)} ${q(IDENTIFY)} ` +
                    `|| { echo ${q(`kafka-lab: cannot SSH to ${cfg.sshUser}@${host.publicAddress}:${cfg.sshPort} (${name}) with its configured host key to identify it`)} >&2; exit 1; }`;
                const identified = command.local.runOutput(
                    { command: `k=$(mktemp) && trap 'rm -f "$k" "$k.known"' EXIT && cat >"$k" && printf '%s\\n' ${q(knownHost)} >"$k.known" && ${ssh}`, stdin: this.sshPrivateKey, logging: "none" },
                    { parent: this },
                );
                const identity = pulumi.unsecret(identified.stdout.apply((os) => `${host.publicAddress} ${os.trim()}`));
                const machine: LabMachine = { sshHost: pulumi.output(host.publicAddress), hostKey: pulumi.output(hostKey), privateIp: pulumi.output(host.address), publicIp: pulumi.output(host.publicAddress), identity, ready: [] };
                return [name, machine];
            }),
        );
        // The machines outlive the stack: `pulumi destroy` takes back what the lab put on them.
        this.uninstallOnDestroy = { purgeData: cfg.purgeDataOnDestroy };
        this.registerOutputs({});
    }
}
