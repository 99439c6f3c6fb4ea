// The GitHub Actions workflow (.github/workflows/lab.yml) cannot run here, so it is linted with
// actionlint (built from the Go module proxy) and read for what a deploy after each change relies on.
import test from "ava";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { REPO } from "./helpers/lab";

const workflowFile = path.join(REPO, ".github", "workflows", "lab.yml");
const workflow = parse(fs.readFileSync(workflowFile, "utf8"));
// Go builds actionlint; the setup finds it on PATH or in /usr/local/go/bin. CI (KAFKA_LAB_E2E=required)
// must lint, never skip.
const hasGo = spawnSync("bash", ["-c", "command -v go || test -x /usr/local/go/bin/go"]).status === 0;
if (!hasGo) console.log("SKIPPED: actionlint needs Go to be built (none on PATH or in /usr/local/go/bin)");

const actionlint = (() => {
    let binary: string | undefined;
    return () => {
        if (!binary) {
            const r = spawnSync("bash", [path.join(REPO, "scripts", "setup-actionlint.sh")], { encoding: "utf8", timeout: 600_000 });
            if (r.status !== 0) throw new Error(`actionlint could not be built: ${r.stderr}`);
            binary = r.stdout.trim().split("\n").at(-1)!;
        }
        return (file: string) => spawnSync(binary!, ["-no-color", file], { encoding: "utf8", timeout: 120_000 });
    };
})();

(hasGo || process.env.KAFKA_LAB_E2E === "required" ? test.serial : test.skip)("actionlint finds nothing wrong in the workflow, and does find a broken copy of it", (t) => {
    t.timeout(10 * 60 * 1000);
    const lint = actionlint();
    const clean = lint(workflowFile);
    t.is(clean.status, 0, clean.stdout + clean.stderr);
    // The same file with a job that lost its runner and an expression that does not parse: it must fail.
    const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-workflow-")), "lab.yml");
    fs.writeFileSync(broken, fs.readFileSync(workflowFile, "utf8").replace("    runs-on: ubuntu-latest\n", "").replace("${{ matrix.stack }}", "${{ matrix.stack "));
    const bad = lint(broken);
    t.is(bad.status, 1, bad.stdout);
    t.regex(bad.stdout, /"runs-on" section is missing/);
});

test("the preview job may comment on pull requests, and stacks not created yet are created", (t) => {
    t.is(workflow.permissions["pull-requests"], "write");
    const pulumiSteps = Object.entries<any>(workflow.jobs).flatMap(([job, j]) => j.steps.filter((s: any) => String(s.uses).startsWith("pulumi/actions@")).map((s: any) => ({ job, ...s.with })));
    t.deepEqual(pulumiSteps.map((s) => [s.job, s.command]), [["preview", "preview"], ["deploy", "up"]]);
    for (const s of pulumiSteps) t.true(s.upsert, `${s.job}: upsert`);
    t.true(pulumiSteps[0]["comment-on-pr"]);
});
