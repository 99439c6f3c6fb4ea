// Faults on a local lab, made from the host, never inside the machine under test (so that it cannot undo
// them): the network's at the lab's bridge with nftables, a stall by freezing the machine's cgroup, a power
// cut by killing every process of the machine. Each comes with its heal; `heal` undoes all of them.
import fs from "node:fs";
import path from "node:path";
import { $ } from "zx";
import { REPO, brokerHosts } from "./stack.mjs";

export const FAULTS = {
    kill: "pull the plug: every process of the machine killed; booted again when the fault ends",
    partition: "cut a broker off from the other brokers (and their controllers or ZooKeeper); clients still reach it",
    isolate: "all of the machine's traffic dropped at the bridge (a cable pulled); its processes keep running",
    pause: "the machine frozen (a VM stall or a long GC pause): its cgroup frozen, then thawed",
};

export const FAULT_USAGE = `npm run lab -- fault <${Object.keys(FAULTS).join("|")}> HOST [--seconds N] [--acks all|1] [--leader BROKER] [--stack NAME] [--report FILE]
       npm run lab -- fault heal [--stack NAME]`;

/**
 * The system's nft, by path: under `npm run`, node_modules/.bin comes first on PATH, and an npm package
 * (@vercel/nft, a file tracer) installs a command of the same name there, which takes any arguments and succeeds.
 */
export function systemNft() {
    const found = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].find((p) => fs.existsSync(p));
    if (!found) throw new Error("nft is not installed (Debian's nftables): npm run lab installs it with the host packages");
    return found;
}

/** The nftables table of a lab's faults: one per bridge, so that another lab on this host is never touched. */
export function faultTable(bridge) {
    return `kafka_lab_faults_${bridge.replace(/[^A-Za-z0-9_]/g, "_")}`;
}

/**
 * The fault's request, checked against the lab: which host, which peers a partition cuts it from, how long.
 * Throws naming what is wrong and what is allowed, before anything is touched.
 */
export function planFault({ kind, host, seconds = 20, acks = "all", leader }, outputs) {
    const hosts = Object.keys(outputs.hosts);
    const brokers = brokerHosts(outputs);
    if (!FAULTS[kind]) throw new Error(`unknown fault "${kind}"; one of: ${Object.keys(FAULTS).join(", ")}, or heal`);
    if (!hosts.includes(host)) throw new Error(`no host "${host ?? ""}" in this lab; one of: ${hosts.join(", ")}`);
    if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600) throw new Error(`--seconds ${seconds}: a whole number of seconds from 1 to 600`);
    if (acks !== "all" && acks !== "1") throw new Error(`--acks ${acks}: all (every in-sync replica) or 1 (the leader alone)`);
    const peers = kind === "partition" ? brokers.filter((b) => b !== host) : [];
    if (kind === "partition" && !brokers.includes(host)) throw new Error(`partition cuts a broker off from the others; ${host} is not a broker (${brokers.join(", ")}); use isolate for a client`);
    if (kind === "partition" && !peers.length) throw new Error(`partition needs another broker to cut ${host} off from, and this lab has one broker; use isolate or pause`);
    // The producer's partition is led by the faulty broker unless told otherwise: that is the case that matters.
    const leads = leader ?? (brokers.includes(host) ? host : brokers[0]);
    if (!brokers.includes(leads)) throw new Error(`--leader ${leads}: a broker of this lab (${brokers.join(", ")})`);
    return {
        kind,
        host,
        seconds: Math.round(seconds),
        acks,
        leader: leads,
        address: outputs.hosts[host].privateIp,
        peerAddresses: peers.map((p) => outputs.hosts[p].privateIp),
        peers,
    };
}

/** The nft script of a network fault (partition or isolate): it replaces whatever fault the lab's table held. */
export function faultRules(bridge, plan) {
    const table = faultTable(bridge);
    const forward = [];
    const input = [];
    const output = [];
    if (plan.kind === "partition") {
        for (const peer of plan.peerAddresses) {
            forward.push(`ip saddr ${plan.address} ip daddr ${peer} drop`, `ip saddr ${peer} ip daddr ${plan.address} drop`);
        }
    } else if (plan.kind === "isolate") {
        // forward: to and from the other machines; input/output: to and from this host (clients, SSH).
        forward.push(`ip saddr ${plan.address} drop`, `ip daddr ${plan.address} drop`);
        input.push(`ip saddr ${plan.address} drop`);
        output.push(`ip daddr ${plan.address} drop`);
    } else {
        throw new Error(`${plan.kind} is not a network fault`);
    }
    const chain = (name, rules) => [`    chain ${name} {`, `        type filter hook ${name} priority -200; policy accept;`, ...rules.map((r) => `        ${r}`), "    }"];
    return [
        // Declared, deleted and declared again: one atomic replacement whether or not the table existed.
        `table bridge ${table} {}`,
        `delete table bridge ${table}`,
        `table bridge ${table} {`,
        ...chain("forward", forward),
        ...chain("input", input),
        ...chain("output", output),
        "}",
        "",
    ].join("\n");
}

/** The machine's freezable cgroup (cgroup v2, or the unified hierarchy of a hybrid host). */
function freezeFile(machine) {
    for (const root of ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]) {
        const file = path.join(root, "kafka-lab", machine, "cgroup.freeze");
        if (fs.existsSync(file)) return file;
    }
    throw new Error(`machine ${machine} has no cgroup v2 freezer (is it running? cgroup v2 or a hybrid host is needed)`);
}

const frozenNow = (file) => /^frozen 1$/m.test(fs.readFileSync(path.join(path.dirname(file), "cgroup.events"), "utf8"));

async function setFrozen(machine, frozen) {
    const file = freezeFile(machine);
    fs.writeFileSync(file, frozen ? "1" : "0");
    for (let i = 0; i < 100 && frozenNow(file) !== frozen; i++) await new Promise((r) => setTimeout(r, 100));
    if (frozenNow(file) !== frozen) throw new Error(`machine ${machine} did not ${frozen ? "freeze" : "thaw"} within 10s`);
}

/** What a local lab's faults act on: its bridge, its machines' names, how to boot a killed one. */
export function localLab(config, outputs) {
    if (!config.local) throw new Error(`faults are made on a local lab; this stack's target is ${config.target}`);
    const prefixLength = config.local.bridgeAddress.split("/")[1] ?? "24";
    return {
        bridge: config.local.bridge,
        machine: (host) => `${config.local.machinePrefix}-${host}`,
        machines: Object.keys(outputs.hosts).map((h) => `${config.local.machinePrefix}-${h}`),
        bootArgs: (host, publicKey) => [`${config.local.machinePrefix}-${host}`, `${outputs.hosts[host].privateIp}/${prefixLength}`, config.local.bridge, publicKey, config.local.dataVolumeSize],
    };
}

const machineScript = path.join(REPO, "scripts", "local", "machine.sh");

/** Makes the fault; resolves to its undo. */
export async function makeFault(lab, plan, publicKey) {
    const machine = lab.machine(plan.host);
    switch (plan.kind) {
        case "kill":
            await $({ quiet: true, timeout: "60s" })`bash ${machineScript} kill ${machine}`;
            return async () => {
                // A machine that does not come up is stopped with its disks kept: try again, a bounded number of times.
                let last;
                for (let attempt = 1; attempt <= 3; attempt++) {
                    last = await $({ quiet: true, nothrow: true, timeout: "5m" })`bash ${machineScript} up ${lab.bootArgs(plan.host, publicKey)}`;
                    if (last.exitCode === 0) return;
                    await new Promise((r) => setTimeout(r, 5000));
                }
                throw new Error(`${plan.host} did not boot again: ${last.stderr.trim().split("\n").slice(-3).join(" | ")}`);
            };
        case "pause":
            await setFrozen(machine, true);
            return () => setFrozen(machine, false);
        default: {
            const nft = systemNft();
            const rules = faultRules(lab.bridge, plan);
            await $({ quiet: true, timeout: "30s", input: rules })`${nft} -f -`;
            // The kernel holds what was asked: as many drop rules as the script has.
            const held = (await $({ quiet: true, timeout: "30s" })`${nft} list table bridge ${faultTable(lab.bridge)}`).stdout.match(/\bdrop\b/g)?.length ?? 0;
            const asked = rules.match(/\bdrop\b/g)?.length ?? 0;
            if (held !== asked) throw new Error(`the fault's nft table holds ${held} drop rules, not ${asked}`);
            return () => dropRules(lab.bridge);
        }
    }
}

/** From this host, whether a TCP connection to address:port opens within 3 s. */
export async function reachable(address, port) {
    const r = await $({ quiet: true, nothrow: true, timeout: "10s" })`timeout 3 bash -c ${`exec 3<>/dev/tcp/${address}/${port}`}`;
    return r.exitCode === 0;
}

/**
 * Proof that a network fault holds, or an error: isolate, this host cannot reach the machine; partition,
 * this host still can and no peer broker can. `fromPeer(peer, address, port)` tries from a peer's machine.
 * Returns what was seen.
 */
export async function verifyFault(plan, fromPeer) {
    const seen = [];
    if (plan.kind === "isolate") {
        if (await reachable(plan.address, 22)) throw new Error(`isolate: this host still reaches ${plan.host} (${plan.address}:22)`);
        seen.push(`this host cannot reach ${plan.host}`);
    }
    if (plan.kind === "partition") {
        if (!(await reachable(plan.address, 22))) throw new Error(`partition: this host lost ${plan.host} too (${plan.address}:22)`);
        for (const peer of plan.peers) {
            if (await fromPeer(peer, plan.address, 22)) throw new Error(`partition: ${peer} still reaches ${plan.host} (${plan.address}:22)`);
        }
        seen.push(`this host reaches ${plan.host}; ${plan.peers.join(", ")} cannot`);
    }
    return seen;
}

async function dropRules(bridge) {
    const nft = systemNft();
    const table = faultTable(bridge);
    const exists = await $({ quiet: true, nothrow: true, timeout: "30s" })`${nft} list table bridge ${table}`;
    if (exists.exitCode === 0) await $({ quiet: true, timeout: "30s" })`${nft} delete table bridge ${table}`;
    return exists.exitCode === 0;
}

/** Undoes every network fault and stall of the lab (a killed machine is booted by its own fault's end). Returns what it undid. */
export async function heal(lab) {
    const undone = [];
    if (await dropRules(lab.bridge)) undone.push(`network rules on ${lab.bridge}`);
    for (const machine of lab.machines) {
        let file;
        try {
            file = freezeFile(machine);
        } catch {
            continue; // not running: nothing to thaw
        }
        if (frozenNow(file)) {
            await setFrozen(machine, false);
            undone.push(`${machine} thawed`);
        }
    }
    return undone;
}
