// The local lab, as a runbook: set up what is missing, deploy with the real Pulumi engine, prove it.
//
//   npm run lab [-- up]          set up, `pulumi up -s local`, smoke test
//   npm run lab -- down          `pulumi destroy -s local`, then check the host is clean
//   npm run lab -- status [--stack NAME] [--json FILE]
//                                machines and services, then health from the metrics (exit 1: unhealthy)
//   npm run lab -- ssh HOST [COMMAND]
//   npm run lab -- replace HOST  a new machine for HOST, provisioned from scratch (the others untouched)
//   npm run lab -- fault KIND HOST [--seconds N] [--acks all|1] [--leader BROKER] [--stack NAME]
//                                a fault rehearsed under load, then healed, with what it cost
//   npm run lab -- fault heal [--stack NAME]   undo every fault still in place
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { $, argv, chalk } from "zx";
import { parse } from "yaml";
import { REPO, brokerHosts, keyFile, labHosts, ssh, sshArgs, stackOutputs } from "./lib/stack.mjs";
import { clearUnfinished, labStack, projectWorkspace, runOperation } from "./lib/engine.mjs";
import { FAULTS, FAULT_USAGE, heal, localLab, makeFault, planFault, verifyFault } from "./lib/fault.mjs";
import { createFaultTopic, loadThroughFault } from "./lib/load.mjs";
import { formatHealth, labHealth } from "./lib/health.mjs";

const STACK = "local";
const [command = "up", ...rest] = argv._;
const started = Date.now();
const timings = [];
/** The command steps the last deploy ran, with their seconds (recorded with the stage times). */
let deploySteps = [];
$.verbose = false;

/** One named stage: its progress on the terminal, its time in the summary. */
async function stage(name, fn) {
    const t0 = Date.now();
    console.log(chalk.bold(`\n== ${name}`));
    try {
        const result = await fn();
        const seconds = (Date.now() - t0) / 1000;
        timings.push({ stage: name, seconds });
        console.log(chalk.gray(`   ${name}: ${seconds.toFixed(1)}s`));
        return result;
    } catch (err) {
        console.error(chalk.red(`\n${name} failed: ${String(err.message ?? err).split("\n")[0]}`));
        if (err instanceof Error) err.shown = true;
        throw err;
    }
}

/** Runs a host script with its progress shown as it goes, and returns its last stdout line. */
async function hostScript(script, args = [], timeout = "30m") {
    const out = await $({ cwd: REPO, timeout, stdio: ["ignore", "pipe", "inherit"] })`bash ${path.join("scripts", script)} ${args}`;
    return out.stdout.trim().split("\n").at(-1);
}

/**
 * Each host's steps with their seconds (from the engine's events), and their sum: the host with the largest
 * sum is the deploy's critical path (the hosts are provisioned side by side, each host's steps in order).
 */
function printStepTimes({ steps }) {
    deploySteps = steps;
    const seconds = new Map(steps.map((s) => [s.name, Math.round(s.seconds * 10) / 10]));
    if (!seconds.size) return;
    const hostOf = (name) => /^(?:machine-)?(broker\d*|producer|consumer)\b/.exec(name)?.[1] ?? "this host";
    const hosts = [...new Set([...seconds.keys()].map(hostOf))];
    const total = (host) => [...seconds].filter(([n]) => hostOf(n) === host).reduce((sum, [, s]) => sum + s, 0);
    const critical = hosts.reduce((a, b) => (total(b) > total(a) ? b : a));
    console.log(chalk.bold("\nSteps run, per host (seconds from the engine's events)"));
    for (const host of hosts) {
        const steps = [...seconds].filter(([n]) => hostOf(n) === host).map(([n, s]) => `${n.replace(`${host}-`, "")} ${s}`);
        console.log(`  ${host.padEnd(9)} ${total(host).toFixed(1).padStart(5)}s${host === critical ? " (critical path)" : ""}: ${steps.join(", ")}`);
    }
}

function stackFile(stack = STACK) {
    const file = path.join(REPO, "stacks", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new Error(`no stack file ${path.relative(REPO, file)}`);
    return parse(fs.readFileSync(file, "utf8")).config ?? {};
}

async function up() {
    const { DEFAULT_KAFKA_VERSION } = await import("../src/config.ts");
    const cfg = stackFile();
    const version = cfg["kafka-lab:kafkaVersion"] ?? DEFAULT_KAFKA_VERSION;
    const scala = cfg["kafka-lab:scalaVersion"] ?? "2.13";

    await stage("host checks and packages (root, Linux, nspawn, debootstrap)", () => hostScript("local/preflight.sh", ["--install"]));
    // Side by side: the engine build is bound by the CPU, the image and Kafka mostly by downloads.
    const [, , tarball] = await Promise.all([
        stage("Pulumi engine: CLI, language host, command provider (cached)", () => hostScript("setup-engine.sh")),
        stage("machine image (debootstrap, cached)", () => hostScript("local/rootfs.sh")),
        stage(`Kafka ${version} distribution (Maven Central, cached)`, () => hostScript("local/kafka-dist.sh", [version, scala])),
    ]);
    console.log(`   ${tarball}`);
    const stack = await stage("stack local (file backend in .pulumi-state)", async () => {
        const local = await labStack(STACK, { create: true });
        await clearUnfinished(local);
        return local;
    });
    printStepTimes(await stage("pulumi up -s local", () => runOperation(stack, "up")));
    await stage("smoke test", () => smoke());

    const outputs = await stackOutputs(STACK);
    console.log(chalk.bold("\nThe lab is up."));
    console.log(`  bootstrap servers (from this host): ${outputs.bootstrapServers}`);
    console.log(`  bootstrap servers (inside the lab): ${outputs.internalBootstrapServers}`);
    if (outputs.prometheusUrl) console.log(`  dashboard: ${outputs.prometheusUrl}/consoles/kafka-lab.html (health: npm run lab -- status)`);
    for (const host of labHosts(outputs)) console.log(`  ${host.padEnd(8)} ${outputs.hosts[host].privateIp.padEnd(15)} npm run lab -- ssh ${host}`);
    summary();
    // Cold: something had to be built (engine, image or Kafka); warm: everything came from the caches.
    const buildSeconds = timings.filter((t) => /engine|image|distribution/.test(t.stage)).reduce((n, t) => n + t.seconds, 0);
    recordTimes(buildSeconds > 10 ? "cold" : "warm");
}

function smoke() {
    const r = spawnSync("node", [path.join(REPO, "scripts", "smoke.mjs"), "--stack", STACK, "--report", path.join(REPO, "reports", "smoke-local.json")], { cwd: REPO, stdio: "inherit" });
    if (r.status !== 0) throw new Error("the smoke test failed (see above)");
}

async function down() {
    await stage("pulumi destroy -s local", async () => {
        const stacks = await (await projectWorkspace()).listStacks();
        if (stacks.some((s) => s.name === STACK)) {
            const stack = await labStack(STACK);
            await clearUnfinished(stack);
            await runOperation(stack, "destroy");
        }
        else console.log("   no local stack: nothing to destroy");
    });
    await stage("host left as found", () => hostScript("local/host-clean.sh"));
    summary();
    recordTimes("down");
}

/**
 * Machines and services, then the cluster's health from its metrics. Exit status 1 when it is unhealthy
 * (a node down, not exactly one active controller, partitions under-replicated, under min ISR or offline,
 * an alert firing) or Prometheus cannot be asked: CI can gate on it.
 */
async function status() {
    const stack = argv.stack ?? STACK;
    const outputs = await stackOutputs(stack).catch((e) => {
        console.log(`The ${stack} lab is not deployed (${e.message.split("\n")[0]}).${stack === STACK ? " Start it with: npm run lab" : ""}`);
        process.exit(1);
    });
    const key = keyFile(outputs);
    console.log(`bootstrap servers: ${outputs.bootstrapServers} (outside), ${outputs.internalBootstrapServers} (inside)`);
    if (outputs.prometheusUrl) console.log(`Prometheus: ${outputs.prometheusUrl}, dashboard ${outputs.prometheusUrl}/consoles/kafka-lab.html`);
    const brokers = brokerHosts(outputs);
    for (const role of labHosts(outputs)) {
        const isBroker = brokers.includes(role);
        const probe = isBroker ? "systemctl is-active zookeeper kafka-controller kafka | paste -sd' '" : "test -x /opt/kafka-lab/clients/producer.py && echo clients-installed";
        const r = await ssh(outputs, key, role, `hostname; ${probe}`, { timeout: "20s", nothrow: true });
        const state = r.exitCode === 0 || r.stdout ? r.stdout.trim().replace(/\n/g, " ") : `unreachable (${r.stderr.trim().split("\n")[0]})`;
        const label = isBroker ? " (hostname, zookeeper, kafka-controller, kafka)" : "";
        console.log(`${role.padEnd(9)} ${outputs.hosts[role].privateIp.padEnd(15)} ${state}${label}`);
    }
    console.log("health, from the metrics:");
    const health = await labHealth(outputs, key).catch((e) => ({ healthy: false, problems: [e.message], error: true }));
    if (health.error) console.log(`  UNHEALTHY: ${health.problems[0]}`);
    else console.log(formatHealth(health).join("\n"));
    if (argv.json) fs.writeFileSync(argv.json, `${JSON.stringify(health, null, 2)}\n`);
    process.exit(health.healthy ? 0 : 1);
}

async function sshInto() {
    const [host, ...cmd] = rest.map(String);
    const outputs = await stackOutputs(STACK);
    if (!labHosts(outputs).includes(host)) {
        console.error(`usage: npm run lab -- ssh ${labHosts(outputs).join("|")} [command]`);
        process.exit(2);
    }
    const key = keyFile(outputs);
    const r = spawnSync("ssh", [...(cmd.length ? [] : ["-t"]), ...sshArgs(outputs, key, host), ...cmd], { stdio: "inherit" });
    process.exit(r.status ?? 1);
}

/** Keeps the latest time of each kind of run (cold, warm, down) for the bench report. */
function recordTimes(kind) {
    const file = path.join(REPO, "reports", "lab-times.json");
    const all = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    all[kind] = { seconds: Math.round((Date.now() - started) / 100) / 10, at: new Date().toISOString(), stages: timings, steps: deploySteps };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}

function summary() {
    const total = (Date.now() - started) / 1000;
    console.log(chalk.bold("\nTimes"));
    for (const t of timings) console.log(`  ${t.stage.padEnd(62)} ${t.seconds.toFixed(1).padStart(7)}s`);
    console.log(`  ${"total".padEnd(62)} ${total.toFixed(1).padStart(7)}s`);
}

/**
 * A machine made anew (say, after it was broken by hand): its resource is replaced, so every one of its
 * provisioning steps runs again, in order, and no other machine's.
 */
async function replace() {
    const [host] = rest.map(String);
    const hosts = labHosts(await stackOutputs(STACK));
    if (!hosts.includes(host)) {
        console.error(`usage: npm run lab -- replace ${hosts.join("|")}`);
        process.exit(2);
    }
    const stack = await labStack(STACK);
    const state = await stack.exportStack();
    const urn = (state.deployment?.resources ?? []).map((r) => r.urn).find((u) => u.endsWith(`::machine-${host}`));
    if (!urn) throw new Error(`the local stack has no machine ${host}: deploy the lab first (npm run lab)`);
    printStepTimes(await stage(`pulumi up -s local --replace machine-${host}`, () => runOperation(stack, "up", { replace: [urn] })));
    await stage("smoke test", () => smoke());
    summary();
}

/**
 * A fault rehearsed on a running lab: a producer (acks=all, idempotent, unless --acks 1) and a consumer group
 * run from this host; the fault is made, held, healed; then the topic is read back whole. Exit status 1 when
 * an acknowledged message was lost or duplicated with acks=all (the lab's promise broke).
 */
async function fault() {
    const [kind, host] = rest.map(String);
    const stack = String(argv.stack ?? STACK);
    if (!kind || (kind !== "heal" && !host)) {
        console.error(`usage: ${FAULT_USAGE}\n${Object.entries(FAULTS).map(([k, v]) => `  ${k.padEnd(9)} ${v}`).join("\n")}`);
        process.exit(2);
    }
    const { validateConfig } = await import("../src/config.ts");
    const raw = Object.fromEntries(Object.entries(stackFile(stack)).map(([k, v]) => [k.replace(/^kafka-lab:/, ""), v]));
    const config = validateConfig(raw, { stack });
    const outputs = await stackOutputs(stack);
    const lab = localLab(config, outputs);
    if (kind === "heal") {
        const undone = await heal(lab);
        console.log(undone.length ? `healed: ${undone.join(", ")}` : "nothing to heal: no fault in place");
        return;
    }
    let plan;
    try {
        plan = planFault({ kind, host, seconds: Number(argv.seconds ?? 20), acks: String(argv.acks ?? "all"), leader: argv.leader && String(argv.leader) }, outputs);
    } catch (err) {
        console.error(chalk.red(err.message));
        console.error(`usage: ${FAULT_USAGE}`);
        process.exit(2);
    }
    const key = keyFile(outputs);
    const publicKey = (await $({ quiet: true, timeout: "10s" })`ssh-keygen -y -f ${key}`).stdout.trim();
    const topic = `fault-${kind}-${host}-${Date.now().toString(36)}`;
    // However this ends (an error, Ctrl-C), the lab is healed.
    const healOnSignal = async () => {
        console.error(chalk.yellow("\ninterrupted: healing the lab"));
        await heal(lab).catch(() => {});
        process.exit(130);
    };
    process.once("SIGINT", healOnSignal);
    process.once("SIGTERM", healOnSignal);
    await stage(`topic ${topic}: one partition led by ${plan.leader}`, () => createFaultTopic(outputs, key, topic, plan.leader, plan.host));
    // A peer's own view: can it open a TCP connection to address:port (the partition's proof)?
    const fromPeer = async (peer, address, port) =>
        (await ssh(outputs, key, peer, `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/${port}' 2>/dev/null && echo open || echo closed`, { timeout: "30s", nothrow: true })).stdout.trim() === "open";
    let verified = [];
    const makeAndVerify = async () => {
        const undo = await makeFault(lab, plan, publicKey);
        try {
            verified = await verifyFault(plan, fromPeer);
        } catch (err) {
            await undo();
            throw err;
        }
        return undo;
    };
    const progress = (m) => console.log(chalk.gray(`   ${new Date().toISOString().slice(11, 19)} ${m}`));
    let result;
    try {
        result = await stage(`${kind} ${host} for ${plan.seconds}s under load (acks=${plan.acks}), then heal`, () =>
            loadThroughFault({ outputs, topic, acks: plan.acks, seconds: plan.seconds, fault: makeAndVerify, onProgress: progress }),
        );
    } finally {
        await heal(lab).catch(() => {});
    }
    for (const seen of verified) progress(`fault verified: ${seen}`);
    const report = { stack, fault: kind, host, seconds: plan.seconds, leader: plan.leader, peers: plan.peers, verified, at: new Date().toISOString(), ...result };
    const file = argv.report ? path.resolve(String(argv.report)) : path.join(REPO, "reports", `fault-${stack}-${kind}-${host}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    const row = (name, value) => console.log(`  ${name.padEnd(34)} ${value}`);
    console.log(chalk.bold(`\n${kind} ${host}, ${plan.seconds}s, acks=${plan.acks} (report: ${path.relative(process.cwd(), file)})`));
    row("acknowledged", result.acknowledged);
    row("failed sends (not acknowledged)", result.failedSends);
    row("lost (acknowledged, not in the topic)", result.lost);
    row("duplicated", result.duplicated);
    row("missed by the consumer group", result.groupMissed);
    row("consumer group member restarts", result.groupRestarts);
    for (const e of result.errors) console.log(chalk.gray(`  error: ${e}`));
    row("first ack of a send begun in the fault", result.secondsToFirstAckAfterFault === null ? "none" : `${result.secondsToFirstAckAfterFault}s after the fault began`);
    row("first ack after healing", result.secondsToFirstAckAfterHeal === null ? "none" : `${result.secondsToFirstAckAfterHeal}s`);
    if (plan.acks === "all" && (result.lost || result.duplicated)) {
        console.error(chalk.red(`acks=all lost ${result.lost} and duplicated ${result.duplicated} acknowledged messages: ${result.lostKeys.join(", ")}`));
        throw Object.assign(new Error("acknowledged messages lost or duplicated"), { shown: true });
    }
    if (plan.acks === "1" && result.lost) console.log(chalk.yellow(`  acks=1: ${result.lost} acknowledged messages lost, acknowledged by a leader alone and gone with it: why the lab uses acks=all and min.insync.replicas.`));
}

const commands = { up, down, status, ssh: sshInto, replace, fault };
if (!commands[command]) {
    console.error(`unknown command "${command}"; use: npm run lab -- [up|down|status|ssh HOST [COMMAND]|replace HOST|fault KIND HOST|fault heal]`);
    process.exit(2);
}
try {
    await commands[command]();
} catch (err) {
    if (!err?.shown) console.error(chalk.red(String(err?.message ?? err)));
    if (timings.length) summary();
    process.exit(1);
}
