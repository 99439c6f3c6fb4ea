// scripts/local/kafka-dist.sh checks its arguments before it makes anything or calls Maven: the real
// script, refusing; no distribution is built here (that takes Maven Central and a minute).
import test from "ava";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "./helpers/lab";

const script = path.join(REPO, "scripts", "local", "kafka-dist.sh");

/** Runs the script with `args` and an out-dir that must stay absent; Maven is off PATH, so it cannot build. */
function dist(...args: string[]) {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-dist-"));
    const outDir = path.join(parent, "out");
    const noMaven = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-nomvn-"));
    fs.writeFileSync(path.join(noMaven, "mvn"), "#!/bin/sh\necho 'mvn must not run' >&2\nexit 99\n", { mode: 0o755 });
    const r = spawnSync("bash", [script, ...args.map((a) => a.replace("OUT", outDir))], {
        encoding: "utf8",
        env: { ...process.env, PATH: `${noMaven}:${process.env.PATH}`, KAFKA_LAB_CACHE: parent },
        timeout: 30_000,
    });
    const created = fs.existsSync(outDir) || fs.existsSync(path.join(parent, "dist"));
    fs.rmSync(parent, { recursive: true, force: true });
    fs.rmSync(noMaven, { recursive: true, force: true });
    return { ...r, created };
}

test("Kafka 4.x with Scala 2.12 is refused: 4.x is published for Scala 2.13 only", (t) => {
    const r = dist("4.1.2", "2.12", "OUT");
    t.is(r.status, 1);
    t.regex(r.stderr, /\[kafka-dist\] error: Kafka 4\.1\.2 is published for Scala 2\.13 only \(Scala 2\.12 builds ended with 3\.9\); use 2\.13/);
    t.is(r.stdout, "");
    t.false(r.created);
});

for (const [what, version, scala, message] of [
    ["a version with two parts", "4.1", "2.13", /kafka version must look like 3\.9\.2 or 4\.1\.2, got '4\.1'/],
    ["a release-candidate suffix", "4.1.2-rc1", "2.13", /kafka version must look like .*, got '4\.1\.2-rc1'/],
    ["a word", "latest", "2.13", /kafka version must look like .*, got 'latest'/],
    ["Kafka 5.x", "5.0.0", "2.13", /Kafka 5\.0\.0: this recipe builds 3\.x \(ZooKeeper\) and 4\.x \(KRaft\) only/],
    ["Scala 2.11", "3.9.2", "2.11", /scala version must be 2\.12 or 2\.13, got '2\.11'/],
] as const) {
    test(`refuses ${what} before making anything`, (t) => {
        const r = dist(version, scala, "OUT");
        t.is(r.status, 1);
        t.regex(r.stderr, message);
        t.notRegex(r.stderr, /mvn must not run/);
        t.is(r.stdout, "");
        t.false(r.created);
    });
}

test("wrong number of arguments: usage, exit 2", (t) => {
    for (const args of [[], ["4.1.2"], ["4.1.2", "2.13", "OUT", "extra"]]) {
        const r = dist(...args);
        t.is(r.status, 2, args.join(" "));
        t.regex(r.stderr, /usage: .*kafka-dist\.sh <kafka-version> <scala-version> \[out-dir\]/);
        t.false(r.created);
    }
});
