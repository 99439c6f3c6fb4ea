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

/** kafka-tools.tsv's rows: script, release lines, always/since, extra artifact, candidate classes. */
function toolTable() {
    return fs
        .readFileSync(path.join(REPO, "scripts", "local", "kafka-tools.tsv"), "utf8")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => {
            const [script, lines, shipped, artifact, classes] = l.split("\t");
            return { script, lines: lines.split(","), shipped, artifact, classes: classes.split(" ") };
        });
}

// Written by kafka-dist.sh itself, not from the table.
const SERVER_SCRIPTS = ["kafka-run-class.sh", "kafka-server-start.sh", "kafka-server-stop.sh"];
const ZOOKEEPER_SCRIPTS = ["zookeeper-server-start.sh", "zookeeper-server-stop.sh"];

test("the tool table names every bin/ script of Kafka 3.9's own release, and nothing else for 3.9", (t) => {
    const release = fs.readFileSync(path.join(REPO, "test", "fixtures", "kafka-3.9-bin.txt"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
    const ours = [...toolTable().filter((r) => r.lines.includes("3")).map((r) => r.script), ...SERVER_SCRIPTS, ...ZOOKEEPER_SCRIPTS].sort();
    t.deepEqual(ours, [...release].sort());
    t.true(release.length >= 42, "the whole list, not a part");
});

test("the tool table: 4.x keeps every 3.9 tool but ZooKeeper's and MirrorMaker 1, and each row is well formed", (t) => {
    const rows = toolTable();
    const gone = rows.filter((r) => r.lines.includes("3") && !r.lines.includes("4")).map((r) => r.script).sort();
    t.deepEqual(gone, ["kafka-mirror-maker.sh", "zookeeper-security-migration.sh", "zookeeper-shell.sh"]);
    for (const r of rows) {
        t.true(r.lines.every((l) => l === "3" || l === "4"), r.script);
        t.true(["always", "since"].includes(r.shipped), r.script);
        t.true(r.shipped === "always" || !r.lines.includes("3"), `${r.script}: 3.9 is one release; its tools are all "always"`);
        t.true(r.classes.length > 0 && r.classes.every((c) => /^[a-z]+(\.[a-z0-9]+)*\.[A-Z][A-Za-z0-9]*$/.test(c)), r.script);
    }
    // The tools the day-two runbooks use are in every build, in both lines.
    for (const tool of ["kafka-reassign-partitions.sh", "kafka-leader-election.sh", "kafka-log-dirs.sh", "kafka-get-offsets.sh", "kafka-dump-log.sh", "kafka-delete-records.sh", "kafka-transactions.sh", "kafka-cluster.sh", "kafka-storage.sh", "kafka-features.sh", "kafka-metadata-quorum.sh"]) {
        const row = rows.find((r) => r.script === tool);
        t.truthy(row, tool);
        t.deepEqual([row!.lines, row!.shipped, row!.artifact], [["3", "4"], "always", "-"], tool);
    }
});
