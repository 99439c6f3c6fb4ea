// Commands as Pulumi resources: a script run over SSH on a lab machine, a file uploaded to one, and a
// command run on the deploying host. They are dynamic resources of the project's own because the
// `command` provider plugin cannot be built from the package registries this project is limited to
// (see README, "Why not @pulumi/command"). The semantics follow @pulumi/command: a resource runs its
// `create` once, and again (as a replacement) only when its triggers change.
//
// The provider objects below are serialized into the stack by Pulumi and run in a separate process:
// they may only use Node's built-ins, `require`d packages, and functions defined in this file.
import * as pulumi from "@pulumi/pulumi";

export interface SshConnection {
    host: string;
    port: number;
    user: string;
    privateKey: string;
    /** How many failed dials before giving up (a new machine's sshd may take a while). */
    dialAttempts: number;
    /** Seconds per dial. */
    dialTimeout: number;
}

export interface RemoteCommandArgs {
    connection: pulumi.Input<SshConnection>;
    /** The command line, run by the SSH user's shell. */
    create: pulumi.Input<string>;
    /** Fed to the command's standard input (a whole script, with `bash -s`). */
    stdin?: pulumi.Input<string>;
    /** The resource is replaced, so `create` runs again, when any of these change. */
    triggers: pulumi.Input<pulumi.Input<string>[]>;
    /** Seconds before the command is abandoned as failed. */
    timeout?: pulumi.Input<number>;
    /** Run when the resource is destroyed (not when it is replaced), with `deleteStdin` as its input. */
    delete?: pulumi.Input<string>;
    deleteStdin?: pulumi.Input<string>;
}

export interface RemoteUploadArgs {
    connection: pulumi.Input<SshConnection>;
    localPath: pulumi.Input<string>;
    remotePath: pulumi.Input<string>;
    /** Content hash of the local file: a new file means a new upload. */
    triggers: pulumi.Input<pulumi.Input<string>[]>;
}

export interface HostCommandArgs {
    create: pulumi.Input<string>;
    delete?: pulumi.Input<string>;
    /** Working directory; the project directory by default. */
    dir?: pulumi.Input<string>;
    triggers?: pulumi.Input<pulumi.Input<string>[]>;
    timeout?: pulumi.Input<number>;
}

/** What is kept of a command's output: its tail, enough to diagnose, bounded in the state file. */
const OUTPUT_TAIL = 8000;

/** Whether two trigger lists differ (the only input change that re-runs a command). */
export function triggersChanged(olds: { triggers?: unknown[]; create?: string; stdin?: string }, news: { triggers?: unknown[]; create?: string; stdin?: string }): boolean {
    return JSON.stringify(olds.triggers ?? []) !== JSON.stringify(news.triggers ?? []) || olds.create !== news.create || (olds.stdin ?? "") !== (news.stdin ?? "");
}

/** Opens an SSH connection, retrying failed dials a bounded number of times. */
async function sshConnect(c: SshConnection): Promise<import("ssh2").Client> {
    const { Client } = require("ssh2") as typeof import("ssh2");
    let lastError: unknown;
    for (let attempt = 1; attempt <= c.dialAttempts; attempt++) {
        try {
            return await new Promise((resolve, reject) => {
                const client = new Client();
                client
                    .on("ready", () => resolve(client))
                    .on("error", (err) => {
                        client.end();
                        reject(err);
                    })
                    .connect({ host: c.host, port: c.port, username: c.user, privateKey: c.privateKey, readyTimeout: c.dialTimeout * 1000, keepaliveInterval: 15000, keepaliveCountMax: 4 });
            });
        } catch (err) {
            lastError = err;
            // Authentication failures do not heal by waiting.
            if (String((err as Error).message).includes("authentication methods failed")) break;
            await new Promise((r) => setTimeout(r, Math.min(2000 * attempt, 10000)));
        }
    }
    throw new Error(`cannot SSH to ${c.user}@${c.host}:${c.port} after ${c.dialAttempts} attempts: ${(lastError as Error)?.message ?? lastError}`);
}

function tail(text: string): string {
    return text.length > OUTPUT_TAIL ? `...${text.slice(-OUTPUT_TAIL)}` : text;
}

function lastLines(text: string, n: number): string {
    return text.trimEnd().split("\n").slice(-n).join("\n");
}

async function runOverSsh(c: SshConnection, command: string, stdin: string | undefined, timeoutSeconds: number): Promise<{ stdout: string; stderr: string }> {
    const client = await sshConnect(c);
    try {
        return await new Promise((resolve, reject) => {
            let stdout = "";
            let stderr = "";
            const timer = setTimeout(() => {
                client.end();
                reject(new Error(`${c.host}: command did not finish within ${timeoutSeconds}s\n${lastLines(stdout + stderr, 40)}`));
            }, timeoutSeconds * 1000);
            client.exec(command, (err, channel) => {
                if (err) {
                    clearTimeout(timer);
                    return reject(err);
                }
                channel.on("data", (d: Buffer) => (stdout += d.toString()));
                channel.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                channel.on("close", (code: number | null, signal?: string) => {
                    clearTimeout(timer);
                    if (code === 0) resolve({ stdout: tail(stdout), stderr: tail(stderr) });
                    else reject(new Error(`${c.host}: exited with ${code ?? signal}\n${lastLines(`${stdout}\n${stderr}`, 40)}`));
                });
                channel.end(stdin ?? "");
            });
        });
    } finally {
        client.end();
    }
}

async function uploadOverSsh(c: SshConnection, localPath: string, remotePath: string): Promise<void> {
    const client = await sshConnect(c);
    try {
        await new Promise<void>((resolve, reject) => {
            client.sftp((err, sftp) => {
                if (err) return reject(err);
                sftp.fastPut(localPath, remotePath, (e) => (e ? reject(new Error(`upload of ${localPath} to ${c.host}:${remotePath} failed: ${e.message}`)) : resolve()));
            });
        });
    } finally {
        client.end();
    }
}

async function runOnHost(command: string, dir: string | undefined, timeoutSeconds: number): Promise<{ stdout: string; stderr: string }> {
    const { spawn } = require("child_process") as typeof import("child_process");
    const fs = require("fs") as typeof import("fs");
    const cwd = dir && fs.existsSync(dir) ? dir : process.cwd();
    return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-c", command], { cwd, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => child.kill("SIGTERM"), timeoutSeconds * 1000);
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            if (code === 0) resolve({ stdout: tail(stdout), stderr: tail(stderr) });
            else reject(new Error(`\`${command.slice(0, 120)}\` ${signal ? `was stopped (${signal}, timeout ${timeoutSeconds}s)` : `exited with ${code}`}\n${lastLines(`${stdout}\n${stderr}`, 40)}`));
        });
    });
}

const remoteCommandProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds, news) {
        const replace = triggersChanged(olds, news);
        // A changed connection alone (a new key, say) is recorded without running anything again.
        const changes =
            replace ||
            JSON.stringify(olds.connection) !== JSON.stringify(news.connection) ||
            olds.timeout !== news.timeout ||
            olds.delete !== news.delete ||
            olds.deleteStdin !== news.deleteStdin;
        return { changes, replaces: replace ? ["triggers"] : [] };
    },
    async create(inputs) {
        const out = await runOverSsh(inputs.connection, inputs.create, inputs.stdin, inputs.timeout ?? 1200);
        return { id: `${inputs.connection.host}-${Date.now().toString(36)}`, outs: { ...inputs, ...out } };
    },
    async update(_id, olds, news) {
        return { outs: { ...news, stdout: olds.stdout, stderr: olds.stderr } };
    },
    async delete(_id, props) {
        if (props.delete) await runOverSsh(props.connection, props.delete, props.deleteStdin, props.timeout ?? 1200);
    },
};

const remoteUploadProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds, news) {
        const replace = JSON.stringify(olds.triggers) !== JSON.stringify(news.triggers) || olds.remotePath !== news.remotePath;
        const changes = replace || JSON.stringify(olds.connection) !== JSON.stringify(news.connection) || olds.localPath !== news.localPath;
        return { changes, replaces: replace ? ["triggers"] : [] };
    },
    async create(inputs) {
        await uploadOverSsh(inputs.connection, inputs.localPath, inputs.remotePath);
        return { id: `${inputs.connection.host}:${inputs.remotePath}`, outs: inputs };
    },
    async update(_id, _olds, news) {
        return { outs: news };
    },
};

const hostCommandProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds, news) {
        const replace = triggersChanged(olds, news);
        const changes = replace || olds.delete !== news.delete;
        // Host resources hold names (a bridge, a machine): the old one must go before the new one comes.
        return { changes, replaces: replace ? ["triggers"] : [], deleteBeforeReplace: true };
    },
    async create(inputs) {
        const out = await runOnHost(inputs.create, inputs.dir, inputs.timeout ?? 1800);
        return { id: `host-${Date.now().toString(36)}`, outs: { ...inputs, ...out } };
    },
    async update(_id, olds, news) {
        return { outs: { ...news, stdout: olds.stdout, stderr: olds.stderr } };
    },
    async delete(_id, props) {
        if (props.delete) await runOnHost(props.delete, props.dir, props.timeout ?? 1800);
    },
};

/** A script run over SSH (like @pulumi/command's remote.Command). */
export class RemoteCommand extends pulumi.dynamic.Resource {
    declare public readonly stdout: pulumi.Output<string>;
    declare public readonly stderr: pulumi.Output<string>;
    declare public readonly triggers: pulumi.Output<string[]>;
    constructor(name: string, args: RemoteCommandArgs, opts?: pulumi.CustomResourceOptions) {
        super(remoteCommandProvider, name, { stdout: undefined, stderr: undefined, stdin: undefined, timeout: undefined, delete: undefined, deleteStdin: undefined, ...args }, { ...opts, additionalSecretOutputs: ["connection"] }, "kafka-lab", "RemoteCommand");
    }
}

/** A local file copied to a machine over SFTP (like @pulumi/command's remote.CopyToRemote). */
export class RemoteUpload extends pulumi.dynamic.Resource {
    declare public readonly remotePath: pulumi.Output<string>;
    constructor(name: string, args: RemoteUploadArgs, opts?: pulumi.CustomResourceOptions) {
        super(remoteUploadProvider, name, args, { ...opts, additionalSecretOutputs: ["connection"] }, "kafka-lab", "RemoteUpload");
    }
}

/** A command run on the deploying host, with an optional command to undo it (like local.Command). */
export class HostCommand extends pulumi.dynamic.Resource {
    declare public readonly stdout: pulumi.Output<string>;
    declare public readonly stderr: pulumi.Output<string>;
    constructor(name: string, args: HostCommandArgs, opts?: pulumi.CustomResourceOptions) {
        super(hostCommandProvider, name, { stdout: undefined, stderr: undefined, delete: undefined, dir: undefined, triggers: [], timeout: undefined, ...args }, opts, "kafka-lab", "HostCommand");
    }
}
