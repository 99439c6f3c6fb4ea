// The smoke test's judgement on recorded inputs: no lab needed.
import test from "ava";

type Check = {
    ok: boolean;
    expected: number;
    received: number;
    missing: string[];
    duplicated: string[];
    unexpected: string[];
    wrongValue: string[];
    partitions: number[];
};
let lib: {
    parseConsumed(text: string): any[];
    checkExactlyOnce(expected: Record<string, unknown>, consumed: any[], runId: string): Check;
    formatTable(rows: any[]): string;
    parseTopicDescription(text: string): { partition: number; leader: number; replicas: number[]; isr: number[] }[];
};
let stack: { parseStackOutputs(json: string): any; brokerHosts(outputs: any): string[]; labHosts(outputs: any): string[] };
test.before(async () => {
    lib = await import("../scripts/lib/smoke-check.mjs" as string);
    stack = await import("../scripts/lib/stack.mjs" as string);
});

const recorded = [
    '{"topic": "t", "partition": 0, "offset": 0, "key": "r1-json-0", "value": {"run": "r1", "seq": 0, "kind": "json", "sent_at": 1.5}}',
    "consumed 3 messages",
    '{"topic": "t", "partition": 2, "offset": 0, "key": "r1-json-1", "value": {"run": "r1", "seq": 1, "kind": "json", "sent_at": 1.6}}',
    '{"topic": "t", "partition": 1, "offset": 4, "key": "r1-console-0", "value": "run r1 console message 0"}',
    '{"topic": "t", "partition": 1, "offset": 5, "key": "r0-json-0", "value": {"run": "r0"}}',
].join("\n");
const expected = {
    "r1-json-0": { run: "r1", seq: 0, kind: "json" },
    "r1-json-1": { run: "r1", seq: 1, kind: "json" },
    "r1-console-0": "run r1 console message 0",
};

test("parses the example consumer's JSON lines and skips everything else", (t) => {
    const msgs = lib.parseConsumed(recorded);
    t.is(msgs.length, 4);
    t.deepEqual(msgs.map((m) => m.offset), [0, 0, 4, 5]);
});

test("every message of the run exactly once passes, other runs' messages are not counted", (t) => {
    const c = lib.checkExactlyOnce(expected, lib.parseConsumed(recorded), "r1");
    t.true(c.ok);
    t.is(c.expected, 3);
    t.is(c.received, 3);
    t.deepEqual(c.partitions, [0, 1, 2]);
});

test("a lost message fails and is named", (t) => {
    const c = lib.checkExactlyOnce({ ...expected, "r1-json-2": { run: "r1", seq: 2, kind: "json" } }, lib.parseConsumed(recorded), "r1");
    t.false(c.ok);
    t.deepEqual(c.missing, ["r1-json-2"]);
});

test("a duplicate fails and is named", (t) => {
    const msgs = lib.parseConsumed(recorded);
    const c = lib.checkExactlyOnce(expected, [...msgs, { ...msgs[0], offset: 9 }], "r1");
    t.false(c.ok);
    t.deepEqual(c.duplicated, ["r1-json-0"]);
    t.is(c.received, 4);
});

test("a wrong value or an unexpected key of the run fails", (t) => {
    const msgs = lib.parseConsumed(recorded);
    msgs[2].value = "tampered";
    const c = lib.checkExactlyOnce(expected, [...msgs, { topic: "t", partition: 0, offset: 7, key: "r1-extra", value: "x" }], "r1");
    t.false(c.ok);
    t.deepEqual(c.wrongValue, ["r1-console-0"]);
    t.deepEqual(c.unexpected, ["r1-extra"]);
});

test("the table lists every step with its result", (t) => {
    const table = lib.formatTable([
        { step: "produce", host: "producer", messages: 100, seconds: 1.25, ok: true },
        { step: "consume", host: "consumer", seconds: 30, ok: false },
    ]);
    const lines = table.split("\n");
    t.is(lines.length, 4);
    t.regex(lines[2], /^produce\s+producer\s+100\s+1\.3\s+ok$/);
    t.regex(lines[3], /^consume\s+consumer\s+30\.0\s+FAILED$/);
});

test("stack outputs: a stack missing outputs or the secret key is refused with a clear message", (t) => {
    const hosts = { broker: { publicIp: "a", privateIp: "a" }, producer: { publicIp: "b", privateIp: "b" }, consumer: { publicIp: "c", privateIp: "c" } };
    const full = { hosts, bootstrapServers: "a:9094", internalBootstrapServers: "broker:9092", sshUser: "u", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n", topic: "test" };
    t.is(stack.parseStackOutputs(JSON.stringify(full)).sshUser, "u");
    t.throws(() => stack.parseStackOutputs("{}"), { message: /no output hosts, bootstrapServers, internalBootstrapServers, sshUser, sshPrivateKey, topic: is it deployed/ });
    t.throws(() => stack.parseStackOutputs(JSON.stringify({ ...full, sshPrivateKey: "[secret]" })), { message: /--show-secrets/ });
    t.throws(() => stack.parseStackOutputs(JSON.stringify({ ...full, hosts: { ...hosts, consumer: {} } })), { message: /hosts.consumer lacks/ });
});

test("a topic's description: leader, replicas and in-sync replicas of each partition, in 3.9's and 4.x's layouts", (t) => {
    const text = [
        "Topic: smoke\tTopicId: abc\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: min.insync.replicas=2",
        "\tTopic: smoke\tPartition: 0\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3,1",
        "\tTopic: smoke\tPartition: 1\tLeader: 3\tReplicas: 3,1,2\tIsr: 3,1\tElr: \tLastKnownElr: ",
        "\tTopic: smoke\tPartition: 2\tLeader: -1\tReplicas: 1,2,3\tIsr: ",
    ].join("\n");
    t.deepEqual(lib.parseTopicDescription(text), [
        { partition: 0, leader: 2, replicas: [2, 3, 1], isr: [2, 3, 1] },
        { partition: 1, leader: 3, replicas: [3, 1, 2], isr: [3, 1] },
        { partition: 2, leader: -1, replicas: [1, 2, 3], isr: [] },
    ]);
});

test("stack outputs of a cluster: its brokers in node id order, every host required", (t) => {
    const host = { publicIp: "a", privateIp: "a" };
    const hosts = { broker10: host, broker2: host, broker1: host, producer: host, consumer: host };
    const full = { hosts, bootstrapServers: "a:9094", internalBootstrapServers: "broker1:9092", sshUser: "u", sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n", topic: "test" };
    const o = stack.parseStackOutputs(JSON.stringify(full));
    t.deepEqual(stack.brokerHosts(o), ["broker1", "broker2", "broker10"]);
    t.deepEqual(stack.labHosts(o), ["broker1", "broker2", "broker10", "producer", "consumer"]);
    t.throws(() => stack.parseStackOutputs(JSON.stringify({ ...full, hosts: { producer: host, consumer: host } })), { message: /names no broker/ });
});
