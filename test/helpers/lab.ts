// What the end-to-end tests use to drive the local lab: the CLI, SSH into its machines, and the
// example clients, each call bounded by a timeout.
import test from "ava";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fileURLToPath } from "url";
import { parse } from "yaml";
import { LabConfig, validateConfig } from "../../src/config";
import { shellQuote } from "../../src/render";
import { tmpDir } from "./tmp";

// ava runs every test file from test/: the project is the folder above it.
export const REPO = path.join(path.dirname(fileURLToPath(test.meta.file)), "..");

export function run(command: string, args: string[], opts: { input?: string; live?: boolean; timeoutSeconds?: number; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
    return spawnSync(command, args, {
        cwd: REPO,
        encoding: "utf8",
        input: opts.input,
        stdio: opts.live ? ["ignore", "inherit", "inherit"] : "pipe",
        maxBuffer: 64 * 1024 * 1024,
        timeout: (opts.timeoutSeconds ?? 1800) * 1000,
        env: { ...process.env, ...opts.env },
    });
}

export const pulumiCli = (...args: string[]) => run("bash", ["scripts/pulumi.sh", ...args]);

/** The arguments of an unattended `pulumi up` of `stack` (no prompt, no preview), then `extra`. */
export const upArgs = (stack: string, ...extra: string[]) => ["up", "-s", stack, "--yes", "--skip-preview", "--non-interactive", ...extra];

/** An unattended `pulumi up` of `stack`. */
export const stackUp = (stack: string, ...extra: string[]) => pulumiCli(...upArgs(stack, ...extra));

export function localConfig(): LabConfig {
    const file = parse(fs.readFileSync(path.join(REPO, "stacks", "Pulumi.local.yaml"), "utf8")).config as Record<string, unknown>;
    const raw = Object.fromEntries(Object.entries(file).map(([k, v]) => [k.replace(/^kafka-lab:/, ""), v]));
    return validateConfig(raw, { stack: "local" });
}

export interface LabAccess {
    outputs: any;
    keyPath: string;
}

export function labAccess(stack = "local"): LabAccess {
    const out = pulumiCli("stack", "output", "--json", "--show-secrets", "-s", stack);
    if (out.status !== 0) throw new Error(`cannot read the stack outputs: ${out.stderr}`);
    const outputs = JSON.parse(out.stdout);
    const keyPath = path.join(tmpDir("kafka-lab-e2e-"), "id");
    fs.writeFileSync(keyPath, outputs.sshPrivateKey, { mode: 0o600 });
    // The machines' pinned host keys: the tests check them as the lab's own scripts do.
    const known = Object.entries<string>(outputs.sshHostKeys ?? {}).map(([host, key]) => `${outputs.hosts[host].publicIp} ${key}`);
    fs.writeFileSync(path.join(path.dirname(keyPath), "known_hosts"), `${known.join("\n")}\n`, { mode: 0o600 });
    return { outputs, keyPath };
}

export function sshArgs(lab: LabAccess, address: string): string[] {
    const knownHosts = path.join(path.dirname(lab.keyPath), "known_hosts");
    return ["-i", lab.keyPath, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "HostKeyAlgorithms=ssh-ed25519", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", `${lab.outputs.sshUser}@${address}`];
}

/** A command on a lab machine as root; throws with its output when it fails. */
/** The JVM options Kafka's tools run with on the lab's machines, as the provisioning steps give them (templates/scripts/lib.sh, where the reason is). */
const TOOLS_JVM_OPTS = /^export KAFKA_JVM_PERFORMANCE_OPTS="([^"']+)"$/m.exec(fs.readFileSync(path.join(REPO, "templates", "scripts", "lib.sh"), "utf8"))![1];

export function onMachine(lab: LabAccess, role: string, command: string, timeoutSeconds = 60, input?: string): string {
    const r = run("ssh", [...sshArgs(lab, lab.outputs.hosts[role].publicIp), `sudo -n env KAFKA_JVM_PERFORMANCE_OPTS='${TOOLS_JVM_OPTS}' timeout ${timeoutSeconds} bash -c ${shellQuote(command)}`], { timeoutSeconds: timeoutSeconds + 30, input });
    if (r.status !== 0) throw new Error(`${role}: \`${command}\` exited ${r.status}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
    return r.stdout;
}

export function createTopic(lab: LabAccess, topic: string, partitions = 3): void {
    onMachine(lab, "broker", `/opt/kafka/bin/kafka-topics.sh --bootstrap-server broker:9092 --create --if-not-exists --topic ${topic} --partitions ${partitions} --replication-factor 1`);
}

/** Sends `count` gzip JSON messages with the example producer (acks=all); returns how many it acknowledged. */
export function produce(lab: LabAccess, topic: string, count: number, runId: string): number {
    const out = onMachine(lab, "producer", `python3 /opt/kafka-lab/clients/producer.py --topic ${topic} --count ${count} --format json --run-id ${runId}`, 300);
    return JSON.parse(out.trim().split("\n").at(-1)!).sent.json;
}

export interface Consumed {
    topic: string;
    partition: number;
    offset: number;
    key: string;
    value: any;
}

/** Reads with the example consumer in `group`; extra flags as given. */
export function consume(lab: LabAccess, topic: string, group: string, flags = "", timeoutSeconds = 120): Consumed[] {
    const out = onMachine(lab, "consumer", `python3 /opt/kafka-lab/clients/consumer.py --topic ${topic} --group ${group} --json --idle-timeout 15 ${flags}`, timeoutSeconds);
    return out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** The messages whose key is one of `keys` (a Set: a roll under load acknowledges tens of thousands). */
export function withKeysOf<M extends { key: string }>(messages: M[], keys: string[]): M[] {
    const wanted = new Set(keys);
    return messages.filter((m) => wanted.has(m.key));
}

/** Sent versus received, by message key: what a guarantee is measured in. */
export function tally(sentKeys: string[], received: { key: string }[]) {
    const counts = new Map<string, number>();
    for (const m of received) counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
    const sent = new Set(sentKeys);
    const lost = sentKeys.filter((k) => !counts.has(k)).length;
    const duplicated = [...counts.values()].reduce((n, c) => n + (c - 1), 0);
    const unexpected = [...counts.keys()].filter((k) => !sent.has(k)).length;
    return { sent: sentKeys.length, received: received.length, lost, duplicated, unexpected };
}

export const jsonKeys = (runId: string, count: number) => Array.from({ length: count }, (_, i) => `${runId}-json-${i}`);

/** Where every end-to-end run appends the figures it judged on: committed, and what the README's tables cite. */
export const MEASURED = path.join(REPO, "docs", "measured", "guarantees.jsonl");

/** The run's commit and machine, worked out once: each record carries them. */
const runContext = (() => {
    let context: Record<string, unknown> | undefined;
    return () => {
        if (context) return context;
        const git = (...args: string[]) => run("git", args).stdout.trim();
        // Changes to the records themselves or to reports/ do not make the tested code differ from the commit.
        const changed = git("status", "--porcelain", "--", ".", ":!docs/measured", ":!reports").length > 0;
        context = {
            commit: git("rev-parse", "--short=12", "HEAD"),
            dirty: changed,
            machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), os: (fs.readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]+)/m) ?? [])[1] ?? os.platform() },
        };
        return context;
    };
})();

/** Appends one case's figures to docs/measured/guarantees.jsonl (date, commit, machine, case, numbers). */
export function record(name: string, numbers: Record<string, unknown>): void {
    fs.mkdirSync(path.dirname(MEASURED), { recursive: true });
    fs.appendFileSync(MEASURED, `${JSON.stringify({ at: new Date().toISOString(), ...runContext(), case: name, numbers })}\n`);
}

export function waitFor(what: string, timeoutSeconds: number, check: () => boolean): void {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
        try {
            if (check()) return;
        } catch {
            // not yet
        }
        spawnSync("sleep", ["1"]);
    }
    throw new Error(`${what} did not happen within ${timeoutSeconds}s`);
}
