// The existing target (README: "Bring your own machines"): three bare machines of this host, provisioned
// over SSH with their host keys pinned, then given back as they were.
import * as fs from "fs";
import * as path from "path";
import {
    LabAccess,
    REPO,
    onMachine,
    pulumiCli,
    run,
    stackUp,
    waitFor,
} from "../helpers/lab";
import { tmpDir } from "../helpers/tmp";
import {
    ROLES,
    e2e,
    config,
    removeLeftovers,
} from "./context";

e2e("existing target: three bare machines are provisioned, pass the smoke test, and destroy leaves them as they were", (t) => {
    t.timeout(30 * 60 * 1000);
    const stack = "e2e-existing";
    const bridge = "kl-br8";
    const prefix = "kl-exist";
    removeLeftovers(prefix, bridge);
    const addresses = { broker: "10.78.0.21", producer: "10.78.0.22", consumer: "10.78.0.23" } as const;
    const stackYaml = path.join(REPO, "stacks", `Pulumi.${stack}.yaml`);
    const keyDir = tmpDir("kafka-lab-existing-");
    const keyPath = path.join(keyDir, "id");
    t.is(run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyPath]).status, 0);
    const bare = { outputs: { sshUser: "debian", hosts: Object.fromEntries(ROLES.map((r) => [r, { publicIp: addresses[r] }])) }, keyPath } as LabAccess;
    // What destroy must give back: hostname, /etc/hosts, firewalld's state and default zone, no units, nothing
    // under /opt, and none of the lab's config and logs.
    const snapshot = (role: string) =>
        onMachine(
            bare,
            role,
            "hostname; md5sum < /etc/hosts; systemctl is-active firewalld || true; if systemctl is-active -q firewalld; then firewall-cmd --get-default-zone; fi; " +
                "systemctl list-unit-files 'kafka*' 'zookeeper*' --no-legend | wc -l; ls /opt | wc -l; " +
                "for p in /etc/kafka /etc/kafka-lab /var/log/kafka /etc/profile.d/kafka-lab.sh; do test -e $p && echo $p; done; true",
        );
    try {
        t.is(run("bash", ["scripts/local/network.sh", "up", bridge, "10.78.0.1/24"]).status, 0);
        for (const role of ROLES) {
            const up = run("bash", ["scripts/local/machine.sh", "up", `${prefix}-${role}`, `${addresses[role]}/24`, bridge, fs.readFileSync(`${keyPath}.pub`, "utf8").trim()]);
            t.is(up.status, 0, up.stderr);
        }
        // The machines' host keys as their owner knows them: read from their disks, not from the network.
        const hostKeys = Object.fromEntries(ROLES.map((r) => [r, run("bash", ["scripts/local/machine.sh", "hostkey", `${prefix}-${r}`]).stdout.trim()]));
        fs.writeFileSync(path.join(keyDir, "known_hosts"), ROLES.map((r) => `${addresses[r]} ${hostKeys[r]}\n`).join(""));
        waitFor("the bare machines answering SSH", 60, () => ROLES.every((r) => onMachine(bare, r, "true", 10) === ""));
        // The broker's owner runs firewalld with a default zone of their own; the clients' have it stopped.
        onMachine(bare, "broker", "systemctl start firewalld && firewall-cmd --set-default-zone=home >/dev/null", 60);
        for (const role of ["producer", "consumer"]) onMachine(bare, role, "systemctl stop firewalld || true", 60);
        // The producer's owner has no kafka-python: provisioning installs the uploaded wheel there, with pip.
        onMachine(bare, "producer", "python3 -m pip uninstall --quiet --yes --break-system-packages kafka-python && ! python3 -c 'import kafka' 2>/dev/null && echo gone", 60);
        const before = Object.fromEntries(ROLES.map((r) => [r, snapshot(r)]));
        t.regex(before.broker, /^active\nhome$/m);
        // The lab machines have no internet: the same tarball the local lab uses, uploaded.
        const tarball = path.join(config.local!.cacheDir, "dist", `kafka_2.13-${config.kafka.version}.tgz`);
        const writeStack = (hostKeyLines: string[]) =>
            fs.writeFileSync(
                stackYaml,
                [
                    "config:",
                    "  kafka-lab:target: existing",
                    ...ROLES.map((r) => `  kafka-lab:${r}Address: ${addresses[r]}`),
                    "  kafka-lab:sshUser: debian",
                    `  kafka-lab:sshPrivateKeyPath: ${keyPath}`,
                    `  kafka-lab:artifactFile: ${tarball}`,
                    "  kafka-lab:adminCidrs:\n    - 10.78.0.1/32",
                    "  kafka-lab:clientCidrs:\n    - 10.78.0.1/32",
                    ...(hostKeyLines.length ? ["  kafka-lab:sshHostKeys:", ...hostKeyLines.map((l) => `    - ${l}`)] : []),
                    "",
                ].join("\n"),
            );
        const upExisting = () => stackUp(stack);
        t.is(pulumiCli("stack", "init", stack).status, 0);
        // No host keys configured: refused before anything runs, each machine named with the key it shows.
        writeStack([]);
        const unknown = upExisting();
        t.not(unknown.status, 0);
        for (const r of ROLES) {
            t.true(unknown.stdout.includes(`"${r} ${hostKeys[r]}"`), `${r}: the key it shows is the one on its disk\n${unknown.stdout.slice(-3000)}`);
        }
        t.regex(unknown.stdout, /It shows SHA256:\S+: check that on the machine itself/);
        t.is(snapshot("broker"), before.broker, "nothing ran on the machines");
        // A wrong key for the broker: no connection is made to it.
        const otherKey = run("bash", ["-c", `k=$(mktemp -u) && ssh-keygen -q -t ed25519 -N '' -f "$k" && awk '{print $1" "$2}' "$k.pub" && rm -f "$k" "$k.pub"`]).stdout.trim();
        writeStack(ROLES.map((r) => `${r} ${r === "broker" ? otherKey : hostKeys[r]}`));
        const wrong = upExisting();
        t.not(wrong.status, 0);
        t.regex(wrong.stdout + wrong.stderr, /cannot SSH to debian@10\.78\.0\.21:22 \(broker\) with its configured host key/);
        t.is(snapshot("broker"), before.broker, "nothing ran on the broker");
        writeStack(ROLES.map((r) => `${r} ${hostKeys[r]}`));
        const up = upExisting();
        t.is(up.status, 0, up.stdout.slice(-4000) + up.stderr.slice(-2000));
        // The machine that had none: the wheel uploaded (checked there), and pip installed it.
        t.is(onMachine(bare, "producer", "test -s /var/tmp/kafka_python-3.0.12-py3-none-any.whl && python3 -c 'import kafka; print(kafka.__version__)'").trim(), "3.0.12");
        const smoke = run("node", ["scripts/smoke.mjs", "--stack", stack, "--messages", "50"]);
        t.is(smoke.status, 0, smoke.stdout + smoke.stderr);
        t.is(onMachine(bare, "broker", "hostname").trim(), "broker");
        const provisioned = snapshot("broker");
        for (const made of ["/etc/kafka", "/var/log/kafka"]) t.true(provisioned.includes(made), `the lab made ${made}: ${provisioned}`);
        t.notRegex(provisioned, /^home$/m, "the lab's own zone was the default while it ran");
        const destroy = pulumiCli("destroy", "-s", stack, "--yes", "--skip-preview", "--non-interactive");
        t.is(destroy.status, 0, destroy.stdout.slice(-4000) + destroy.stderr.slice(-2000));
        for (const role of ROLES) {
            t.is(snapshot(role), before[role], `${role} is as it was: hostname, /etc/hosts, firewalld and its default zone, no Kafka units, nothing in /opt, no lab config or logs`);
        }
        t.is(onMachine(bare, "broker", "test -d /var/lib/kafka/data && echo kept").trim(), "kept", "Kafka's data is kept without purgeDataOnDestroy");
        t.log(`existing target: provisioned, smoke test passed, destroy restored ${ROLES.join(", ")}`);
    } finally {
        pulumiCli("stack", "rm", stack, "--yes", "--force");
        fs.rmSync(stackYaml, { force: true });
        for (const role of ROLES) run("bash", ["scripts/local/machine.sh", "down", `${prefix}-${role}`]);
        run("bash", ["scripts/local/network.sh", "down", bridge, "10.78.0.1/24"]);
    }
});
