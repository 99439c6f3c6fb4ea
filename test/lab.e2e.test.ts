// End to end on real machines: `npm run lab` builds the local lab with the real Pulumi engine, then we
// look inside the machines, re-run `pulumi up`, and take the lab down. Needs Linux and root; elsewhere
// it says SKIPPED (and `.ci/run`, which sets KAFKA_LAB_E2E=required, turns that into a failure).
import test from "ava";
import { spawnSync, SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { validateConfig } from "../src/config";
import { ROLES } from "../src/machines";
import { firewallRules } from "../src/render";

const REPO = path.join(__dirname, "..");
const required = process.env.KAFKA_LAB_E2E === "required";
const why = process.platform !== "linux" ? "not Linux" : process.getuid?.() !== 0 ? "not root" : process.env.KAFKA_LAB_E2E === "skip" ? "KAFKA_LAB_E2E=skip" : "";
const e2e = why ? test.skip : test.serial;

if (why) {
    console.log(`SKIPPED: the local lab end-to-end test needs Linux and root (${why})`);
    if (required) test("the end-to-end test must run here (KAFKA_LAB_E2E=required)", (t) => t.fail(`it was skipped: ${why}`));
}

function run(command: string, args: string[], opts: { input?: string; live?: boolean } = {}): SpawnSyncReturns<string> {
    const r = spawnSync(command, args, { cwd: REPO, encoding: "utf8", input: opts.input, stdio: opts.live ? ["ignore", "inherit", "inherit"] : "pipe", maxBuffer: 64 * 1024 * 1024 });
    return r;
}
const pulumiCli = (...args: string[]) => run("bash", ["scripts/pulumi.sh", ...args]);

const localConfig = (() => {
    const file = parse(fs.readFileSync(path.join(REPO, "stacks", "Pulumi.local.yaml"), "utf8")).config as Record<string, unknown>;
    const raw = Object.fromEntries(Object.entries(file).map(([k, v]) => [k.replace(/^kafka-lab:/, ""), v]));
    return validateConfig(raw, { stack: "local" });
})();

let outputs: any;
let keyPath = "";
/** A command on a lab machine as root, over the same SSH the lab uses. */
function onMachine(role: string, command: string): string {
    const r = run("ssh", [
        "-i", keyPath, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
        `${outputs.sshUser}@${outputs.hosts[role].publicIp}`, `sudo -n timeout 60 bash -c ${JSON.stringify(command)}`,
    ]);
    if (r.status !== 0) throw new Error(`${role}: ${command} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
}

e2e("npm run lab: set up, pulumi up -s local and the smoke test all pass", (t) => {
    t.timeout(60 * 60 * 1000);
    const r = run("bash", ["scripts/lab.sh", "up"], { live: true });
    t.is(r.status, 0, "npm run lab failed (its output is above)");
    const out = pulumiCli("stack", "output", "--json", "--show-secrets", "-s", "local");
    t.is(out.status, 0, out.stderr);
    outputs = JSON.parse(out.stdout);
    keyPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-e2e-")), "id");
    fs.writeFileSync(keyPath, outputs.sshPrivateKey, { mode: 0o600 });
    t.deepEqual(Object.keys(outputs.hosts), ["broker", "consumer", "producer"].sort());
    const report = JSON.parse(fs.readFileSync(path.join(REPO, "reports", "smoke-local.json"), "utf8"));
    t.true(report.ok);
    t.is(report.internal.missing.length + report.internal.duplicated.length, 0);
});

e2e("each machine has its hostname and the full /etc/hosts", (t) => {
    for (const role of ROLES) {
        t.is(onMachine(role, "hostname").trim(), role);
        const block = onMachine(role, "sed -n '/^# BEGIN kafka-lab/,/^# END kafka-lab/p' /etc/hosts");
        const entries = block.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/\s+/).join(" "));
        t.deepEqual(entries, ROLES.map((r) => `${localConfig.local!.addresses[r]} ${r}`), role);
        t.is(onMachine(role, "grep -c '^# BEGIN kafka-lab' /etc/hosts").trim(), "1", "one managed block");
        t.is(onMachine(role, "getent hosts broker | cut -d' ' -f1").trim(), localConfig.local!.addresses.broker);
    }
});

e2e("firewalld runs on every machine with exactly the ports the lab needs", (t) => {
    const addresses = Object.fromEntries(ROLES.map((r) => [r, { privateIp: localConfig.local!.addresses[r], publicIp: localConfig.local!.addresses[r] }])) as any;
    for (const role of ROLES) {
        t.is(onMachine(role, "firewall-cmd --state").trim(), "running");
        t.is(onMachine(role, "firewall-cmd --get-default-zone").trim(), "kafka-lab");
        const rich = onMachine(role, "firewall-cmd --zone=kafka-lab --list-rich-rules")
            .split("\n")
            .filter(Boolean)
            .map((l) => {
                const m = /source address="([^"]+)" port port="(\d+)" protocol="tcp" accept/.exec(l);
                return m ? `${m[2]} ${m[1]}` : `unparsed: ${l}`;
            })
            .sort();
        t.deepEqual(rich, firewallRules(role, localConfig, addresses).map((r) => `${r.port} ${r.source}`).sort(), role);
        t.is(onMachine(role, "firewall-cmd --zone=kafka-lab --list-ports").trim(), "", `${role}: no port open to everyone`);
        t.is(onMachine(role, "firewall-cmd --zone=kafka-lab --list-services").trim(), "", `${role}: no service open to everyone`);
    }
});

e2e("ZooKeeper and Kafka run as systemd services of the kafka user, with data on the persistent volume", (t) => {
    for (const unit of ["zookeeper", "kafka"]) {
        t.is(onMachine("broker", `systemctl is-active ${unit}`).trim(), "active", unit);
        t.is(onMachine("broker", `systemctl is-enabled ${unit}`).trim(), "enabled", unit);
        const pid = onMachine("broker", `systemctl show -p MainPID --value ${unit}`).trim();
        t.is(onMachine("broker", `ps -o user= -p ${pid}`).trim(), "kafka", unit);
    }
    t.regex(onMachine("broker", "grep '^log.dirs=' /etc/kafka/server.properties"), /^log\.dirs=\/var\/lib\/kafka\/data$/m);
    t.regex(onMachine("broker", "grep '^dataDir=' /etc/kafka/zookeeper.properties"), /^dataDir=\/var\/lib\/kafka\/zookeeper$/m);
    t.regex(onMachine("broker", "findmnt -n -o TARGET --target /var/lib/kafka/data"), /^\/var\/lib\/kafka$/m, "data dir is its own mount");
    t.regex(onMachine("broker", "ls /var/lib/kafka/data"), /meta\.properties/);
    t.is(onMachine("broker", "stat -c %U /var/lib/kafka/data /var/lib/kafka/zookeeper").trim(), "kafka\nkafka");
    for (const role of ["producer", "consumer"]) {
        t.is(onMachine(role, "systemctl is-active kafka zookeeper || true").trim(), "inactive\ninactive", `${role} runs no broker`);
        t.regex(onMachine(role, "python3 -c 'import kafka; print(kafka.__version__)'"), /^\d+\.\d+/);
    }
});

e2e("a second pulumi up reports no changes", (t) => {
    t.timeout(15 * 60 * 1000);
    const r = pulumiCli("up", "-s", "local", "--yes", "--skip-preview", "--non-interactive", "--expect-no-changes", "--json");
    t.is(r.status, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    // --json streams engine events, one per line; the summary event counts what happened to each resource.
    const events = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const summary = events.find((e) => e.summaryEvent)?.summaryEvent;
    t.truthy(summary, "the update reported a summary");
    t.deepEqual(Object.keys(summary.resourceChanges).filter((k) => k !== "same"), [], JSON.stringify(summary.resourceChanges));
    t.true(summary.resourceChanges.same > 30);
});

e2e("npm run lab -- down removes the lab and leaves the host clean", (t) => {
    t.timeout(15 * 60 * 1000);
    const r = run("bash", ["scripts/lab.sh", "down"], { live: true });
    t.is(r.status, 0);
    const clean = run("bash", ["scripts/local/host-clean.sh", localConfig.local!.bridge, localConfig.local!.machinePrefix]);
    t.is(clean.status, 0, clean.stderr);
});
