// Pulumi as its Automation API offers it (@pulumi/pulumi/automation): stacks, outputs, engine events,
// cancel, refresh and exports as data, not the CLI's terminal text. The CLI underneath is the project's
// own build with scripts/pulumi.sh's settings, or the one KAFKA_LAB_PULUMI names (a CI that installed
// Pulumi and logged in to its own backend).
import fs from "node:fs";
import path from "node:path";
import { $ } from "zx";
import { ConcurrentUpdateError, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation/index.js";

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");

/** The settings scripts/pulumi.sh gives the CLI (it builds or finds the engine, installs the plugin). */
async function projectEngine() {
    const out = await $({ cwd: REPO, quiet: true, timeout: "30m" })`bash ${path.join(REPO, "scripts", "pulumi.sh")} --print-env`;
    const env = Object.fromEntries(out.stdout.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const { KAFKA_LAB_ENGINE_BIN: bin, ...envVars } = env;
    return { pulumiCommand: await PulumiCommand.get({ root: path.dirname(bin) }), envVars };
}

async function namedEngine(cli) {
    const root = cli.includes("/") ? path.dirname(path.dirname(fs.realpathSync(cli))) : undefined;
    return { pulumiCommand: await PulumiCommand.get(root ? { root } : {}), envVars: {} };
}

let workspace;
/** The project's workspace: this directory's Pulumi.yaml, the stacks in stacks/. */
export function projectWorkspace() {
    workspace ??= (async () => {
        const cli = process.env.KAFKA_LAB_PULUMI;
        const { pulumiCommand, envVars } = cli ? await namedEngine(cli) : await projectEngine();
        return LocalWorkspace.create({ workDir: REPO, pulumiCommand, envVars });
    })();
    return workspace;
}

/** A stack of the project, made when `create` (the local lab's first run); no name: the selected stack. */
export async function labStack(name, { create = false } = {}) {
    const ws = await projectWorkspace();
    const stackName = name ?? (await ws.stack());
    if (!stackName) throw new Error("no stack selected: name one (--stack NAME)");
    return create ? Stack.createOrSelect(stackName, ws) : Stack.select(stackName, ws);
}

/** The stack's outputs as plain values, secrets included (the scripts need the key and the passwords). */
export async function outputsOf(stack) {
    return Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, v.value]));
}

const STEP_OPS = new Set(["create", "update", "create-replacement"]);

/**
 * Runs up, destroy or refresh on a stack with the engine's own progress on the terminal, and returns each
 * command step's duration: from the engine's event that the step began to the one that it ended, as they
 * arrived.
 */
export async function runOperation(stack, operation, options = {}) {
    const began = new Map();
    const steps = [];
    const onEvent = (event) => {
        const pre = event.resourcePreEvent?.metadata;
        if (pre) began.set(`${pre.urn} ${pre.op}`, Date.now());
        const done = event.resOutputsEvent?.metadata;
        if (done && STEP_OPS.has(done.op) && done.type.startsWith("command:")) {
            const t0 = began.get(`${done.urn} ${done.op}`);
            if (t0) steps.push({ name: done.urn.split("::").at(-1), op: done.op, seconds: (Date.now() - t0) / 1000 });
        }
    };
    const opts = { ...options, onEvent, onOutput: (text) => process.stdout.write(text) };
    await withAbandonedLockReleased(stack, () => stack[operation](opts));
    return { steps };
}

/**
 * A pulumi process of this machine working on the stack in this project, if any: the engine says only
 * that the stack is locked, not whether the run that holds the lock still lives.
 */
export function livePulumi(stackName) {
    const stackArg = (args) => {
        for (let i = 0; i < args.length; i++) {
            const [flag, value] = args[i].includes("=") ? args[i].split(/=(.*)/s) : [args[i], args[i + 1]];
            if (flag === "-s" || flag === "--stack") return value;
        }
        return undefined;
    };
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
            const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
            if (path.basename(args[0] ?? "") !== "pulumi" || fs.readlinkSync(`/proc/${pid}/cwd`) !== REPO) continue;
            // A killed process its parent has not reaped yet is a zombie: gone for our purpose.
            if (fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] === "Z") continue;
            const named = stackArg(args.slice(1));
            if (named === stackName || named?.endsWith(`/${stackName}`)) return Number(pid);
        } catch {
            // The process ended while being read.
        }
    }
    return undefined;
}

/**
 * A run killed half-way (Ctrl-C twice, a lost terminal, kill -9) leaves its stack locked. When no pulumi on
 * this machine works on the stack any more, the lock is abandoned: cancel it and run the operation again.
 */
async function withAbandonedLockReleased(stack, operation) {
    try {
        return await operation();
    } catch (err) {
        if (!(err instanceof ConcurrentUpdateError)) throw err;
        const pid = livePulumi(stack.name);
        if (pid) throw new Error(`another pulumi (pid ${pid}) is working on the ${stack.name} stack; wait for it to end`);
        console.log(`   a killed run left the ${stack.name} stack locked, and no pulumi works on it now: releasing the lock (pulumi cancel)`);
        await stack.cancel();
        return operation();
    }
}

/**
 * What a killed run left unfinished (pending operations in the state): cleared by a refresh, so that their
 * steps, which are idempotent, simply run again in the next up. Returns how many there were.
 */
export async function clearUnfinished(stack) {
    const state = await stack.exportStack();
    const pending = state.deployment?.pending_operations ?? [];
    if (pending.length) {
        console.log(`   a killed run left ${pending.length} operation(s) unfinished: clearing them so that their steps run again`);
        await runOperation(stack, "refresh", { clearPendingCreates: true });
    }
    return pending.length;
}
