// A producer and a consumer group running against a lab through a fault, from this host over the external
// listener, and what came of it: what was acknowledged, what the topic holds afterwards, what the group read.
import { Kafka, logLevel } from "kafkajs";
import { brokerHosts, externalClient, ssh } from "./stack.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Broker host name to Kafka node id: `broker` is 1, brokerN is N. */
export const nodeId = (host) => Number(host.slice(6) || 1);

/** Acknowledged versus read back, by message key. */
export function tally(ackedKeys, readKeys) {
    const counts = new Map();
    for (const k of readKeys) counts.set(k, (counts.get(k) ?? 0) + 1);
    const lost = ackedKeys.filter((k) => !counts.has(k));
    const duplicated = [...counts.values()].reduce((n, c) => n + (c - 1), 0);
    const acked = new Set(ackedKeys);
    return { acknowledged: ackedKeys.length, read: readKeys.length, lost: lost.length, duplicated, unacknowledgedRead: [...counts.keys()].filter((k) => !acked.has(k)).length, lostKeys: lost.slice(0, 20) };
}

/**
 * The fault's topic: one partition led by `leader`, replicated to every broker up to three, so that the
 * producer's writes all go to the broker the fault is about. Made from a broker the fault leaves alone.
 */
export async function createFaultTopic(outputs, key, topic, leader, avoid) {
    const brokers = brokerHosts(outputs);
    const replicas = [leader, ...brokers.filter((b) => b !== leader)].slice(0, 3).map(nodeId);
    const from = brokers.find((b) => b !== avoid) ?? brokers[0];
    await ssh(outputs, key, from, `sudo -n timeout 90 /opt/kafka/bin/kafka-topics.sh --bootstrap-server ${outputs.internalBootstrapServers} --create --topic ${topic} --replica-assignment ${replicas.join(":")}`, { timeout: "120s" });
    return replicas;
}

function client(outputs, clientId) {
    return new Kafka({
        clientId,
        brokers: outputs.bootstrapServers.split(","),
        logLevel: logLevel.NOTHING,
        connectionTimeout: 5000,
        requestTimeout: 30000,
        retry: { retries: 30, maxRetryTime: 5000, initialRetryTime: 200 },
        ...externalClient(outputs),
    });
}

/** `promise`, or an error after `ms`; the timer is cleared either way (a pending one would keep the process alive). */
function within(ms, promise, what) {
    let timer;
    const expired = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s`)), ms)));
    return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Runs the load through a fault: `warmup` seconds of producing, then `fault()` (which resolves to its undo),
 * `seconds` later the undo, then producing until `afterHeal` seconds after the first acknowledgement that
 * follows it (or 120 s). A consumer group reads all along. Returns the figures, never throws for the fault.
 */
export async function loadThroughFault({ outputs, topic, acks, warmup = 5, seconds, afterHeal = 5, fault, onProgress = () => {} }) {
    const kafka = client(outputs, "kafka-lab-fault");
    // acks=all: idempotent, one request in flight (no reordering, no duplicates by retries); acks=1: the leader alone.
    const producer = kafka.producer(acks === "all" ? { idempotent: true, maxInFlightRequests: 1 } : { idempotent: false, maxInFlightRequests: 1 });
    const group = kafka.consumer({ groupId: `${topic}-group`, sessionTimeout: 10000, heartbeatInterval: 1000, retry: { retries: 50 } });
    const groupRead = [];
    await within(60000, producer.connect(), "producer connect");
    await within(60000, group.connect(), "consumer connect");
    await within(60000, group.subscribe({ topic, fromBeginning: true }), "consumer subscribe");
    await group.run({ eachMessage: async ({ message }) => void groupRead.push(message.key.toString()) });

    const acked = [];
    const errors = [];
    let failed = 0;
    const t0 = Date.now();
    // inPlace: the fault made; healStart/heal: its undo begun/done. Acks count from sends begun after inPlace.
    const at = { fault: 0, inPlace: 0, healStart: 0, heal: 0, firstAckAfterFault: 0, firstAckAfterHeal: 0 };
    let undo;
    let faultError;
    const timeline = (async () => {
        await sleep(warmup * 1000);
        onProgress(`fault on (${seconds}s)`);
        at.fault = Date.now();
        try {
            undo = await fault();
        } catch (e) {
            faultError = e;
            return;
        }
        at.inPlace = Date.now();
        await sleep(seconds * 1000);
        onProgress("healing");
        at.healStart = Date.now();
        await undo();
        undo = undefined;
        at.heal = Date.now();
        onProgress("healed");
    })();
    const requiredAcks = acks === "all" ? -1 : 1;
    for (let batch = 0; ; batch++) {
        if (faultError) break;
        if (at.firstAckAfterHeal && Date.now() - at.firstAckAfterHeal > afterHeal * 1000) break;
        if (at.heal && Date.now() - at.heal > 120000) break;
        const messages = Array.from({ length: 10 }, (_, i) => ({ key: `${topic}-${batch}-${i}`, value: JSON.stringify({ batch, i, at: Date.now() - t0 }) }));
        const sentAt = Date.now();
        try {
            await within(90000, producer.send({ topic, acks: requiredAcks, messages }), "send");
            acked.push(...messages.map((m) => m.key));
            const now = Date.now();
            if (at.inPlace && sentAt >= at.inPlace && !at.firstAckAfterFault) at.firstAckAfterFault = now;
            if (at.heal && !at.firstAckAfterHeal) at.firstAckAfterHeal = now;
        } catch (e) {
            failed += messages.length;
            if (errors.length < 10) errors.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${e?.name}: ${String(e?.message).slice(0, 160)}`);
        }
        await sleep(50);
    }
    await timeline;
    if (undo) await undo(); // the fault ended early (an error): it is healed all the same
    if (faultError) throw faultError;
    await within(30000, producer.disconnect(), "producer disconnect").catch(() => {});

    // The group had all along to read what was acknowledged: give it a bounded time to catch up.
    const groupMissed = () => {
        const seen = new Set(groupRead);
        return acked.filter((k) => !seen.has(k)).length;
    };
    for (let i = 0; i < 60 && groupMissed() > 0; i++) await sleep(1000);
    await within(30000, group.disconnect(), "consumer disconnect").catch(() => {});
    const topicRead = await readTopic(kafka, topic);
    const secs = (a, b) => (a && b ? Math.round((b - a) / 100) / 10 : null);
    return {
        topic,
        acks,
        ...tally(acked, topicRead),
        failedSends: failed,
        groupMissed: groupMissed(),
        secondsToFirstAckAfterFault: secs(at.inPlace, at.firstAckAfterFault),
        secondsToFirstAckAfterHeal: secs(at.heal, at.firstAckAfterHeal),
        faultSeconds: secs(at.inPlace, at.healStart),
        errors,
    };
}

/** Every key in the topic, read from the start by a fresh consumer up to the end offsets. */
async function readTopic(kafka, topic) {
    const admin = kafka.admin();
    await within(60000, admin.connect(), "admin connect");
    let ends;
    for (let i = 0; i < 30; i++) {
        try {
            ends = await within(30000, admin.fetchTopicOffsets(topic), "topic offsets");
            break;
        } catch {
            await sleep(2000);
        }
    }
    await admin.disconnect();
    if (!ends) throw new Error(`cannot read the end offsets of ${topic}`);
    const end = new Map(ends.map((p) => [p.partition, Number(p.high)]));
    const keys = [];
    const reached = new Map([...end].map(([p, e]) => [p, e === 0]));
    const reader = kafka.consumer({ groupId: `${topic}-readback-${Date.now()}` });
    await within(60000, reader.connect(), "reader connect");
    await reader.subscribe({ topic, fromBeginning: true });
    let done;
    const finished = new Promise((r) => (done = r));
    if ([...reached.values()].every(Boolean)) done();
    await reader.run({
        eachMessage: async ({ partition, message }) => {
            keys.push(message.key.toString());
            if (Number(message.offset) + 1 >= end.get(partition)) reached.set(partition, true);
            if ([...reached.values()].every(Boolean)) done();
        },
    });
    await within(120000, finished, `reading ${topic} back`).finally(() => reader.disconnect());
    return keys;
}
