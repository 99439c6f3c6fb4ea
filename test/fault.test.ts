// The fault command's plan and rules, without a lab: what each fault cuts, and what it refuses.
import test from "ava";

let fault: any;
let load: any;
test.before(async () => {
    fault = await import("../scripts/lib/fault.mjs" as string);
    load = await import("../scripts/lib/load.mjs" as string);
});

const host = (ip: string) => ({ publicIp: ip, privateIp: ip });
const cluster = {
    hosts: { broker1: host("10.76.0.21"), broker2: host("10.76.0.22"), broker3: host("10.76.0.23"), producer: host("10.76.0.12"), consumer: host("10.76.0.13") },
};
const oneBroker = { hosts: { broker: host("10.77.0.11"), producer: host("10.77.0.12"), consumer: host("10.77.0.13") } };

test("partition cuts a broker off from every other broker, both ways, and from nothing else", (t) => {
    const plan = fault.planFault({ kind: "partition", host: "broker2" }, cluster);
    t.deepEqual(plan.peers, ["broker1", "broker3"]);
    t.is(plan.leader, "broker2", "the producer's partition is led by the cut-off broker: the zombie leader");
    const rules = fault.faultRules("kl--kraft", plan);
    const forward = rules.split("chain forward {")[1].split("}")[0];
    for (const peer of ["10.76.0.21", "10.76.0.23"]) {
        t.regex(forward, new RegExp(`ip saddr 10.76.0.22 ip daddr ${peer} drop`));
        t.regex(forward, new RegExp(`ip saddr ${peer} ip daddr 10.76.0.22 drop`));
    }
    t.notRegex(rules, /10\.76\.0\.1[23]/, "the clients still reach it");
    t.is(rules.split("chain input {")[1].split("}")[0].match(/drop/g), null, "this host (the test's clients) still reaches it");
    t.regex(rules, /^table bridge kafka_lab_faults_kl__kraft \{\}\ndelete table bridge kafka_lab_faults_kl__kraft\n/, "replaces the lab's table atomically");
});

test("isolate drops all of a machine's traffic: to the other machines and to this host", (t) => {
    const rules = fault.faultRules("kl-br0", fault.planFault({ kind: "isolate", host: "broker" }, oneBroker));
    const chain = (name: string) => rules.split(`chain ${name} {`)[1].split("}")[0];
    t.regex(chain("forward"), /ip saddr 10\.77\.0\.11 drop/);
    t.regex(chain("forward"), /ip daddr 10\.77\.0\.11 drop/);
    t.regex(chain("input"), /ip saddr 10\.77\.0\.11 drop/);
    t.regex(chain("output"), /ip daddr 10\.77\.0\.11 drop/);
    t.notRegex(rules, /10\.77\.0\.1[23]/);
});

test("each lab's faults live in a table of its own bridge", (t) => {
    t.not(fault.faultTable("kl-br0"), fault.faultTable("kl-br9"));
    t.regex(fault.faultTable("kl-e2e.x"), /^[A-Za-z0-9_]+$/, "a name nft accepts");
});

test("a fault the lab cannot have is refused, naming what is allowed", (t) => {
    const refused = (req: object, outputs: object, pattern: RegExp) => t.throws(() => fault.planFault(req, outputs), { message: pattern });
    refused({ kind: "partition", host: "broker" }, oneBroker, /one broker; use isolate or pause/);
    refused({ kind: "partition", host: "producer" }, cluster, /producer is not a broker \(broker1, broker2, broker3\)/);
    refused({ kind: "unplug", host: "broker1" }, cluster, /unknown fault "unplug"; one of: kill, partition, isolate, pause, or heal/);
    refused({ kind: "pause", host: "broker9" }, cluster, /no host "broker9" in this lab; one of: broker1, broker2, broker3, producer, consumer/);
    refused({ kind: "pause", host: "broker1", seconds: 0 }, cluster, /--seconds 0: a whole number of seconds from 1 to 600/);
    refused({ kind: "pause", host: "broker1", acks: "0" }, cluster, /--acks 0: all .* or 1/);
    refused({ kind: "pause", host: "broker1", leader: "producer" }, cluster, /--leader producer: a broker of this lab/);
});

test("pause and kill act on the machine, not the network; the leader can be chosen apart from the victim", (t) => {
    const plan = fault.planFault({ kind: "pause", host: "broker1", leader: "broker3", seconds: 25 }, cluster);
    t.is(plan.leader, "broker3");
    t.is(plan.seconds, 25);
    t.throws(() => fault.faultRules("kl-br0", plan), { message: /pause is not a network fault/ });
    t.is(fault.planFault({ kind: "kill", host: "producer" }, cluster).leader, "broker1", "a client's fault: the first broker leads");
});

test("the machine behind a host, and how a killed one boots again", (t) => {
    const config = { target: "local", local: { bridge: "kl-br0", bridgeAddress: "10.77.0.1/24", machinePrefix: "kl-local", dataVolumeSize: "2G" } };
    const lab = fault.localLab(config, oneBroker);
    t.is(lab.machine("broker"), "kl-local-broker");
    t.deepEqual(lab.machines, ["kl-local-broker", "kl-local-producer", "kl-local-consumer"]);
    t.deepEqual(lab.bootArgs("broker", "ssh-ed25519 AAAA"), ["kl-local-broker", "10.77.0.11/24", "kl-br0", "ssh-ed25519 AAAA", "2G"]);
    t.throws(() => fault.localLab({ target: "aws" }, oneBroker), { message: /faults are made on a local lab; this stack.s target is aws/ });
});

test("lost and duplicated are counted against what was acknowledged", (t) => {
    const r = load.tally(["a", "b", "c", "d"], ["a", "a", "c", "x"]);
    t.is(r.acknowledged, 4);
    t.is(r.lost, 2);
    t.deepEqual(r.lostKeys, ["b", "d"]);
    t.is(r.duplicated, 1);
    t.is(r.unacknowledgedRead, 1, "a message whose send timed out may still be written: read, not lost");
    t.is(load.nodeId("broker"), 1);
    t.is(load.nodeId("broker3"), 3);
});
