// Kafka's whole tool set on a lab machine: every bin/ script the release ships (scripts/local/kafka-tools.tsv)
// is there, or named in bin/TOOLS-LEFT-OUT with the reason, and each one starts: its main class loads and
// answers --help (or --version).
import type { ExecutionContext } from "ava";
import * as fs from "fs";
import * as path from "path";
import { LabAccess, REPO, onMachine } from "../helpers/lab";

const SERVER_SCRIPTS = ["kafka-run-class.sh", "kafka-server-start.sh", "kafka-server-stop.sh"];
const ZOOKEEPER_SCRIPTS = ["zookeeper-server-start.sh", "zookeeper-server-stop.sh"];

/** The scripts a release line ships, by the tool table: "since" rows only when the release has them. */
function shipped(line: "3" | "4") {
    const rows = fs
        .readFileSync(path.join(REPO, "scripts", "local", "kafka-tools.tsv"), "utf8")
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split("\t"))
        .filter(([, lines]) => lines.split(",").includes(line));
    return {
        always: [...rows.filter(([, , when]) => when === "always").map(([s]) => s), ...SERVER_SCRIPTS, ...(line === "3" ? ZOOKEEPER_SCRIPTS : [])],
        since: rows.filter(([, , when]) => when === "since").map(([s]) => s),
    };
}

// Runs each script as the kafka user, two at a time, with a bounded time; one JSON line per script.
const PROBE = String.raw`
cd /opt/kafka/bin
probe() {
  s=$1
  case $s in
    kafka-server-start.sh) args=--version ;;
    kafka-server-stop.sh|zookeeper-server-stop.sh|zookeeper-server-start.sh|kafka-run-class.sh) echo "{\"script\":\"$s\",\"skipped\":true}"; return ;;
    zookeeper-shell.sh) args="127.0.0.1:2181 ls /" ;;
    trogdor.sh) args="agent --help" ;;
    *) args=--help ;;
  esac
  out=$(LOG_DIR=/tmp/kafka-lab-tools timeout 120 runuser -u kafka -- ./$s $args 2>&1 </dev/null); rc=$?
  bad=$(printf '%s\n' "$out" | grep -cE 'ClassNotFoundException|NoClassDefFoundError|Could not find or load main class|No such file or directory|Error: Unable to initialize main class')
  first=$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | grep -v ' INFO \| WARN ' | head -n1 | tr -d '"\\' | cut -c1-100)
  echo "{\"script\":\"$s\",\"rc\":$rc,\"lines\":$(printf '%s\n' "$out" | wc -l),\"classErrors\":$bad,\"first\":\"$first\"}"
}
export -f probe
mkdir -p /tmp/kafka-lab-tools && chown kafka /tmp/kafka-lab-tools
ls *.sh | xargs -P2 -I{} bash -c 'probe {}'
rm -rf /tmp/kafka-lab-tools
`;

/** Every tool of the release on `host` is there (or named as left out) and starts. Returns the counts. */
export function assertToolsStart(t: ExecutionContext, lab: LabAccess, host: string) {
    const version = onMachine(lab, host, "basename \"$(readlink -f /opt/kafka)\"").trim().replace(/^kafka_[\d.]+-/, "");
    const line = version.startsWith("3.") ? "3" : "4";
    const present = onMachine(lab, host, "ls /opt/kafka/bin | grep '\\.sh$'").trim().split("\n");
    const leftOut = onMachine(lab, host, "grep -v '^#' /opt/kafka/bin/TOOLS-LEFT-OUT 2>/dev/null | cut -f1 || true").trim().split("\n").filter(Boolean);
    const { always, since } = shipped(line);
    t.deepEqual([...present, ...leftOut].filter((s) => !since.includes(s)).sort(), [...always].sort(), `Kafka ${version}: every script the release ships is there or named as left out`);
    const probes = onMachine(lab, host, PROBE, 900).split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    t.is(probes.length, present.length, "every script was tried");
    const broken = probes.filter((p) => !p.skipped && (p.classErrors > 0 || p.rc === 124 || p.lines < 1 || p.rc === 126 || p.rc === 127));
    t.deepEqual(broken, [], `Kafka ${version}: every tool starts`);
    const started = probes.filter((p) => !p.skipped).length;
    t.log(`Kafka ${version} on ${host}: ${present.length} scripts in bin/, ${started} started (--help/--version), ${leftOut.length} left out (${leftOut.join(", ") || "none"})`);
    return { version, scripts: present.length, started, leftOut };
}
