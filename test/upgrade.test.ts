// Day two, rendering and step logic (README "Day two"): the protocol a ZooKeeper-mode upgrade keeps while
// the brokers roll, and the features a KRaft upgrade raises afterwards. The step scripts run here for real
// (bash), against a stand-in kafka-features.sh that keeps the cluster's finalized features in a file.
import test from "ava";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { validateConfig } from "../src/config";
import { LabAddresses, ProvisionContext, renderServerProperties, renderStep } from "../src/render";
import { REPO } from "./helpers/lab";
import { tmpDir } from "./helpers/tmp";

const awsRaw = { target: "aws", adminCidrs: ["203.0.113.0/24"], clientCidrs: ["203.0.113.0/24"] };
const addressesOf = (hosts: string[]): LabAddresses => Object.fromEntries(hosts.map((h, i) => [h, { privateIp: `10.42.1.${11 + i}`, publicIp: `198.51.100.${7 + i}` }]));

test("ZooKeeper mode pins inter.broker.protocol.version to the release's major.minor; KRaft has none", (t) => {
    const zk = validateConfig({ ...awsRaw, kafkaVersion: "3.9.1" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.regex(renderServerProperties(zk, "broker", addressesOf(["broker", "producer", "consumer"])), /^inter\.broker\.protocol\.version=3\.9$/m);
    const kraft = validateConfig({ ...awsRaw, kafkaVersion: "4.3.1" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.notRegex(renderServerProperties(kraft, "broker", addressesOf(["broker", "producer", "consumer"])), /inter\.broker\.protocol/);
});

/** lib.sh's keep_protocol, run: what the first roll of an upgrade writes, and whether it pinned. */
function keepProtocol(properties: string, running: string) {
    const lib = fs.readFileSync(path.join(REPO, "templates", "scripts", "lib.sh"), "utf8");
    const r = spawnSync("bash", ["-c", `${lib}\nkeep_protocol "$PROPS" "$RUNNING"`], { encoding: "utf8", env: { ...process.env, PROPS: properties, RUNNING: running, STEP: "kafka-roll" } });
    return { pinned: r.status === 0, out: r.stdout, log: r.stderr };
}

test("an upgrade's first roll keeps the protocol the running broker speaks; nothing else is pinned", (t) => {
    const props = "broker.id=1\ninter.broker.protocol.version=3.9\nlog.dirs=/var/lib/kafka/data";
    const upgrade = keepProtocol(props, "3.8");
    t.true(upgrade.pinned);
    t.is(upgrade.out, "broker.id=1\ninter.broker.protocol.version=3.8\nlog.dirs=/var/lib/kafka/data\n");
    t.regex(upgrade.log, /stays 3\.8 .*raises it to 3\.9/);
    t.false(keepProtocol(props, "3.9").pinned, "a patch upgrade keeps 3.9: nothing to pin");
    t.false(keepProtocol(props, "").pinned, "unknown running protocol: nothing to pin");
    t.false(keepProtocol(props, "3.10").pinned, "an older release than the running one is never pinned up");
    t.true(keepProtocol("inter.broker.protocol.version=3.10", "3.9").pinned, "versions compare as numbers");
});

/** Finalized features as `kafka-features.sh describe` prints them (4.3.1, verified: columns padded with spaces). */
const describeLine = (name: string, level: string) => `Feature: ${name.padEnd(43)}SupportedMinVersion: 0${" ".repeat(16)}SupportedMaxVersion: 40${" ".repeat(15)}FinalizedVersionLevel: ${level.padEnd(17)}Epoch: 59`;

/**
 * Runs the rendered features step against a stand-in kafka-features.sh: `describe` prints the state file,
 * `version-mapping` the given mapping (or fails, as 3.x's tool has none), `upgrade` logs its arguments and
 * applies them. Returns the upgrades asked for, the final state and the step's exit.
 */
function runFeatures(version: string, state: Record<string, string>, mapping?: string, env: Record<string, string> = {}) {
    const dir = tmpDir("kafka-lab-features-");
    const stateFile = path.join(dir, "state");
    const write = (s: Record<string, string>) => fs.writeFileSync(stateFile, Object.entries(s).map(([k, v]) => describeLine(k, v)).join("\n") + "\n");
    write(state);
    fs.writeFileSync(path.join(dir, "runuser"), '#!/bin/bash\nshift 3; shift; exec "$FAKE_DIR/kafka-features" "$@"\n', { mode: 0o755 });
    fs.writeFileSync(
        path.join(dir, "kafka-features"),
        [
            "#!/bin/bash",
            '[ "$1 $3" = "--bootstrap-server --command-config" ] || { echo "expected --bootstrap-server B --command-config F" >&2; exit 2; }',
            'shift 4; cmd=$1; shift',
            'case $cmd in',
            '  describe) cat "$FAKE_DIR/state" ;;',
            '  version-mapping) [ -f "$FAKE_DIR/mapping" ] || { echo "invalid choice: version-mapping" >&2; exit 2; }; cat "$FAKE_DIR/mapping" ;;',
            '  upgrade) echo "$*" >>"$FAKE_DIR/upgrades"; [ -n "$FAKE_IGNORE" ] && exit 0',
            '    while [ $# -gt 0 ]; do',
            '      case $1 in',
            '        --feature) n=${2%%=*}; l=${2#*=}; [ "$n" = metadata.version ] && l=$NEW_METADATA;;',
            '        --metadata) n=metadata.version; l=$2-IV0;;',
            '      esac',
            '      grep -v "^Feature: $n " "$FAKE_DIR/state" >"$FAKE_DIR/s"; printf "Feature: %-43sSupportedMinVersion: 0                SupportedMaxVersion: 40               FinalizedVersionLevel: %-17sEpoch: 60\\n" "$n" "$l" >>"$FAKE_DIR/s"; mv "$FAKE_DIR/s" "$FAKE_DIR/state"',
            '      shift 2',
            '    done ;;',
            'esac',
        ].join("\n") + "\n",
        { mode: 0o755 },
    );
    if (mapping) fs.writeFileSync(path.join(dir, "mapping"), mapping);
    const config = validateConfig({ ...awsRaw, brokers: "3", kafkaVersion: version, metadata: "kraft" }, { stack: "dev", awsRegion: "eu-west-1" });
    const ctx: ProvisionContext = { config, addresses: addressesOf(["broker1", "broker2", "broker3", "producer", "consumer"]), artifact: { url: "https://example.invalid/k.tgz", sha512: "" }, agent: { upload: "/cache/agent.jar", sha256: "0".repeat(64) }, clientWheel: { upload: "/cache/kp.whl", sha256: "0".repeat(64) }, dataDevices: [], dataVolumeGiB: 0, clusterId: "x" };
    const release = version.split(".").slice(0, 2).join(".");
    const r = spawnSync("bash", ["-s"], { input: renderStep("features", "broker1", ctx).script, encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, FAKE_DIR: dir, NEW_METADATA: `${release}-IV0`, ...env } });
    const upgrades = fs.existsSync(path.join(dir, "upgrades")) ? fs.readFileSync(path.join(dir, "upgrades"), "utf8").trim().split("\n") : [];
    const final = Object.fromEntries(fs.readFileSync(stateFile, "utf8").trim().split("\n").map((l) => [/^Feature: (\S+)/.exec(l)![1], /FinalizedVersionLevel: (\S+)/.exec(l)![1]]));
    return { status: r.status, out: r.stdout + r.stderr, upgrades, final };
}

const MAPPING_4_4 = "metadata.version=33 (4.4)\nkraft.version=1\ntransaction.version=2\ngroup.version=1\neligible.leader.replicas.version=1\nshare.version=2\nstreams.version=1\n";

test("KRaft 4.x: after the roll, every feature below the release's level is raised, kraft.version left as formatted; then nothing to do", (t) => {
    const before = { "metadata.version": "4.3-IV0", "kraft.version": "0", "transaction.version": "2", "group.version": "1", "eligible.leader.replicas.version": "1", "share.version": "1", "streams.version": "1" };
    const first = runFeatures("4.4.0", before, MAPPING_4_4);
    t.is(first.status, 0, first.out);
    t.deepEqual(first.upgrades, ["--feature metadata.version=33 --feature share.version=2"]);
    t.is(first.final["metadata.version"], "4.4-IV0");
    t.is(first.final["kraft.version"], "0", "the static quorum stays static");
    t.regex(first.out, /metadata\.version is now 4\.4-IV0/);
    const again = runFeatures("4.4.0", first.final, MAPPING_4_4);
    t.is(again.status, 0, again.out);
    t.deepEqual(again.upgrades, [], "a re-run raises nothing");
    t.regex(again.out, /features are at release 4\.4/);
});

test("KRaft 3.x (no version-mapping in its tool): metadata.version by release name", (t) => {
    const r = runFeatures("3.9.2", { "metadata.version": "3.8-IV0" });
    t.is(r.status, 0, r.out);
    t.deepEqual(r.upgrades, ["--metadata 3.9"]);
    t.deepEqual(runFeatures("3.9.2", { "metadata.version": "3.9-IV0" }).upgrades, []);
});

test("a features upgrade that does not take is an error naming the level reached", (t) => {
    const r = runFeatures("4.4.0", { "metadata.version": "4.3-IV0" }, MAPPING_4_4, { FAKE_IGNORE: "1" });
    t.is(r.status, 1);
    t.regex(r.out, /ERROR: metadata\.version is 4\.3-IV0 after the upgrade, not release 4\.4/);
});
