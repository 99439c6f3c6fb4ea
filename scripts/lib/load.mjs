// A producer and a consumer group running against a lab through a fault, from this host over the external
// listener, and what came of it: what was acknowledged, what the topic holds afterwards, what the group read.
import { Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import { SUDO_TOOL, brokerHosts, externalClient, ssh, toolsConfig } from "./stack.mjs";

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
    await ssh(outputs, key, from, `${SUDO_TOOL} timeout 90 /opt/kafka/bin/kafka-topics.sh --bootstrap-server ${outputs.internalBootstrapServers} --command-config ${toolsConfig(outputs, from)} --create --topic ${topic} --replica-assignment ${replicas.join(":")}`, { timeout: "120s" });
    return replicas;
}

/**
 * The connection settings of every client of a run (@platformatic/kafka): the external listener, its TLS and
 * SCRAM when the stack has them, bounded dialling and requests, 30 retries backing off from 0.2 s to 5 s.
 */
function client(outputs, clientId) {
    return {
        clientId,
        bootstrapBrokers: outputs.bootstrapServers.split(","),
        connectTimeout: 5000,
        requestTimeout: 30000,
        timeout: 30000, // how long a broker may wait for its replicas before it answers a produce (the client's default: 5 s)
        retries: 30,
        retryDelay: (_client, _operation, attempt) => Math.min(5000, 200 * 2 ** Math.max(0, attempt - 1)),
        ...externalClient(outputs),
    };
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
    const options = client(outputs, "kafka-lab-fault");
    // acks=all: idempotent (no duplicates by retries); acks=1: the leader alone, not idempotent. One send at a
    // time (each awaited), one request in flight per connection.
    const requiredAcks = acks === "all" ? -1 : 1;
    const producer = new Producer({ ...options, maxInflights: 1, idempotent: acks === "all", acks: requiredAcks, serializers: stringSerializers });
    const group = groupMember(options, topic);
    if (acks === "all") await within(60000, producer.initIdempotentProducer({}), "producer connect");
    await group.start();

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
    for (let batch = 0; ; batch++) {
        if (faultError) break;
        if (at.firstAckAfterHeal && Date.now() - at.firstAckAfterHeal > afterHeal * 1000) break;
        if (at.heal && Date.now() - at.heal > 120000) break;
        const messages = Array.from({ length: 10 }, (_, i) => ({ key: `${topic}-${batch}-${i}`, value: JSON.stringify({ batch, i, at: Date.now() - t0 }) }));
        const sentAt = Date.now();
        try {
            await within(90000, producer.send({ messages: messages.map((m) => ({ ...m, topic })) }), "send");
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
    await within(30000, producer.close(), "producer disconnect").catch(() => {});

    // The group had all along to read what was acknowledged: give it a bounded time to catch up.
    const groupMissed = () => {
        const seen = new Set(group.read);
        return acked.filter((k) => !seen.has(k)).length;
    };
    // A member that reads nothing for 15 s while acknowledged messages wait is restarted, as a liveness probe would.
    for (let i = 0, missed = groupMissed(), stalled = 0; i < 60 && missed > 0; i++) {
        await sleep(1000);
        const now = groupMissed();
        stalled = now < missed ? 0 : stalled + 1;
        missed = now;
        if (stalled >= 15) {
            stalled = 0;
            void group.restart();
        }
    }
    await group.close();
    errors.push(...group.errors.map((e) => `group: ${e}`));
    const topicRead = await readTopic(options, topic);
    const secs = (a, b) => (a && b ? Math.round((b - a) / 100) / 10 : null);
    return {
        topic,
        acks,
        ...tally(acked, topicRead),
        failedSends: failed,
        groupMissed: groupMissed(),
        groupRestarts: group.restarts,
        secondsToFirstAckAfterFault: secs(at.inPlace, at.firstAckAfterFault),
        secondsToFirstAckAfterHeal: secs(at.heal, at.firstAckAfterHeal),
        faultSeconds: secs(at.inPlace, at.healStart),
        errors,
    };
}

/**
 * The consumer group's one member, run as a service runs it: it reads from the group's committed offsets (else
 * the earliest) and, when its stream ends before the run does (a metadata or fetch request out of retries ends a
 * @platformatic/kafka stream with that error), or when it stalls, starts again from the committed offsets, as a
 * service's supervisor or liveness probe restarts it.
 * What it read, its errors and its restarts are the run's figures.
 */
function groupMember(options, topic) {
    const member = { read: [], errors: [], restarts: 0 };
    let consumer;
    let closing = false;
    const note = (e) => member.errors.length < 10 && member.errors.push(`${e?.name}: ${String(e?.message).slice(0, 160)}`);
    const subscribe = async () => {
        consumer = new Consumer({ ...options, retries: 50, groupId: `${topic}-group`, sessionTimeout: 10000, heartbeatInterval: 1000, deserializers: stringDeserializers });
        // A rejoin after a failed heartbeat that fails in turn is emitted as the consumer's own "error"; with no
        // listener Node throws it (the CI run of 483d0e3 lost a whole fault run to one after a freeze).
        consumer.on("error", note);
        const stream = await within(60000, consumer.consume({ topics: [topic], mode: "committed", fallbackMode: "earliest", autocommit: true }), "consumer subscribe");
        stream.on("data", (message) => void member.read.push(message.key));
        stream.on("error", note);
        stream.once("close", () => !closing && void restart());
        member.stream = stream;
    };
    let restarting;
    const restart = () => (restarting ??= startAgain().finally(() => (restarting = undefined)));
    const startAgain = async () => {
        member.restarts++;
        const stream = member.stream;
        member.stream = undefined;
        stream?.removeAllListeners("close");
        await consumer.close(true).catch(() => {});
        while (!closing) {
            await sleep(1000);
            if (closing) return;
            try {
                return await subscribe();
            } catch (e) {
                note(e);
                await consumer.close(true).catch(() => {});
            }
        }
    };
    member.start = subscribe;
    member.restart = restart;
    member.close = async () => {
        closing = true;
        const leave = async () => {
            await member.stream?.close();
            await consumer.close();
        };
        await within(30000, leave(), "consumer disconnect").catch(() => consumer.close(true).catch(() => {}));
    };
    return member;
}

/**
 * Every key in the topic, read from the start up to the end offsets by a fresh consumer; a read that fails
 * (its group's coordinator still settling after the fault) is made again by another, three times at most.
 */
async function readTopic(options, topic) {
    const end = await endOffsets(options, topic);
    if ([...end.values()].every((e) => e === 0)) return [];
    let lastError;
    for (let attempt = 1; attempt <= 3; attempt++) {
        try {
            return await readUpTo(options, topic, end);
        } catch (e) {
            lastError = e;
            await sleep(2000);
        }
    }
    throw lastError;
}

/** Partition to end offset, asked until the cluster answers (30 tries, 2 s apart, each bounded to 30 s). */
async function endOffsets(options, topic) {
    const admin = new Consumer({ ...options, groupId: `${topic}-offsets-${Date.now()}` });
    try {
        for (let i = 0; i < 30; i++) {
            try {
                const ends = (await within(30000, admin.listOffsets({ topics: [topic] }), "topic offsets")).get(topic);
                return new Map(ends.map((offset, partition) => [partition, Number(offset)]));
            } catch {
                await sleep(2000);
            }
        }
        throw new Error(`cannot read the end offsets of ${topic}`);
    } finally {
        await admin.close(true).catch(() => {});
    }
}

async function readUpTo(options, topic, end) {
    const reader = new Consumer({ ...options, groupId: `${topic}-readback-${Date.now()}`, deserializers: stringDeserializers });
    // As the group member's: a failed rejoin is emitted as the consumer's "error", thrown where nothing listens.
    let rejoinFailed;
    reader.on("error", (e) => rejoinFailed?.(e));
    try {
        const keys = [];
        const reached = new Map([...end].map(([p, e]) => [p, e === 0]));
        const stream = await within(60000, reader.consume({ topics: [topic], mode: "earliest", autocommit: false }), "reader connect");
        try {
            await within(
                120000,
                new Promise((resolve, reject) => {
                    rejoinFailed = reject;
                    stream.on("error", reject);
                    stream.on("data", (message) => {
                        keys.push(message.key);
                        if (Number(message.offset) + 1 >= end.get(message.partition)) reached.set(message.partition, true);
                        if ([...reached.values()].every(Boolean)) resolve();
                    });
                }),
                `reading ${topic} back`,
            );
        } finally {
            await stream.close().catch(() => {});
        }
        return keys;
    } finally {
        await reader.close(true).catch(() => {});
    }
}
