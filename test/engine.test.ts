// scripts/lib/engine.mjs: which pulumi process holds a stack (the engine only says "locked"), and the
// project's workspace through the Automation API on the project's own engine.
import test from "ava";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "./helpers/lab";

let engine: {
    livePulumi(stack: string): number | undefined;
    projectWorkspace(): Promise<{ listStacks(): Promise<{ name: string }[]>; pulumiCommand: { version: { version: string } | null } }>;
};
test.before(async () => {
    engine = await import("../scripts/lib/engine.mjs" as string);
});

/** A process that looks like a pulumi CLI (argv[0] "pulumi") started in `cwd` with `args`. */
function fakePulumi(cwd: string, ...args: string[]) {
    // `; :` keeps bash alive (no exec of sleep), so the process keeps argv[0] "pulumi".
    const child = spawn("bash", ["-c", "exec -a pulumi bash -c 'sleep 30; :' " + args.map((a) => `'${a}'`).join(" ")], { cwd, stdio: "ignore" });
    return child;
}

async function settled(check: () => boolean) {
    for (let i = 0; i < 50 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
}

test("a pulumi at work on a stack in this project is found by its stack argument, in every spelling; a stopped one is not", async (t) => {
    const spellings = [["up", "-s", "e2e-lock1"], ["destroy", "--stack", "e2e-lock2"], ["refresh", "--stack=organization/kafka-lab/e2e-lock3"]];
    const stacks = ["e2e-lock1", "e2e-lock2", "e2e-lock3"];
    const children = spellings.map((args) => fakePulumi(REPO, ...args));
    try {
        await settled(() => stacks.every((s) => engine.livePulumi(s) !== undefined));
        stacks.forEach((s, i) => t.is(engine.livePulumi(s), children[i].pid, s));
        t.is(engine.livePulumi("e2e-lock"), undefined, "another stack's name is not a prefix match");
    } finally {
        for (const c of children) c.kill("SIGKILL");
    }
    await settled(() => stacks.every((s) => engine.livePulumi(s) === undefined));
    for (const s of stacks) t.is(engine.livePulumi(s), undefined, `${s}: a killed run holds nothing`);
});

test("a pulumi working in another directory does not hold this project's stacks", async (t) => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-elsewhere-"));
    const child = fakePulumi(elsewhere, "up", "-s", "e2e-lock4");
    try {
        await new Promise((r) => setTimeout(r, 500));
        t.true(fs.existsSync(`/proc/${child.pid}`));
        t.is(engine.livePulumi("e2e-lock4"), undefined);
    } finally {
        child.kill("SIGKILL");
        fs.rmSync(elsewhere, { recursive: true, force: true });
    }
});

test("the workspace runs the project's own engine build, the version scripts/pulumi.sh runs", async (t) => {
    t.timeout(10 * 60 * 1000);
    const ws = await engine.projectWorkspace();
    const cli = spawnSync("bash", [path.join(REPO, "scripts", "pulumi.sh"), "version"], { cwd: REPO, encoding: "utf8" });
    t.is(cli.status, 0, cli.stderr);
    t.is(`v${ws.pulumiCommand.version?.version}`, cli.stdout.trim());
    t.true(Array.isArray(await ws.listStacks()));
});
