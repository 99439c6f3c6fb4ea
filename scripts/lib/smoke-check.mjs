// The smoke test's judgement, kept apart from the machines so that it can be tested on recorded input.

/** Parses the example consumer's --json output: one message per line; other lines are ignored. */
export function parseConsumed(text) {
    const out = [];
    for (const line of text.split("\n")) {
        const l = line.trim();
        if (!l.startsWith("{")) continue;
        const m = JSON.parse(l);
        if (m.topic !== undefined && m.partition !== undefined && m.offset !== undefined) out.push(m);
    }
    return out;
}

/**
 * Compares what one consumer group read with what was sent. `expected` maps key -> value (string or
 * object). Every expected key must come back exactly once, with its value; messages of other runs are
 * not counted (each run has its own topic, but a re-used topic must not fool the check).
 */
export function checkExactlyOnce(expected, consumed, runId) {
    const seen = new Map();
    for (const m of consumed) {
        if (typeof m.key !== "string" || !m.key.startsWith(runId)) continue;
        seen.set(m.key, [...(seen.get(m.key) ?? []), m]);
    }
    const missing = Object.keys(expected).filter((k) => !seen.has(k));
    const duplicated = [...seen].filter(([, ms]) => ms.length > 1).map(([k]) => k);
    const unexpected = [...seen.keys()].filter((k) => !(k in expected));
    const wrongValue = Object.keys(expected).filter((k) => {
        const got = seen.get(k)?.[0]?.value;
        return got !== undefined && JSON.stringify(normalise(got)) !== JSON.stringify(normalise(expected[k]));
    });
    const partitions = new Set([...seen.values()].map((ms) => ms[0].partition));
    return {
        expected: Object.keys(expected).length,
        received: [...seen.values()].reduce((n, ms) => n + ms.length, 0),
        missing,
        duplicated,
        unexpected,
        wrongValue,
        partitions: [...partitions].sort((a, b) => a - b),
        ok: missing.length === 0 && duplicated.length === 0 && unexpected.length === 0 && wrongValue.length === 0,
    };
}

// JSON values carry a send time the check cannot know in advance; the rest must match.
function normalise(v) {
    if (v && typeof v === "object") {
        const { sent_at: _ignored, ...rest } = v;
        return rest;
    }
    return v;
}

/** A fixed-width table of the steps, for the terminal. */
export function formatTable(rows) {
    const head = ["step", "host", "messages", "seconds", "result"];
    const body = rows.map((r) => [r.step, r.host, String(r.messages ?? ""), (r.seconds ?? 0).toFixed(1), r.ok ? "ok" : "FAILED"]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** The partitions of `kafka-topics.sh --describe`: leader, replicas and in-sync replicas by broker id. */
export function parseTopicDescription(text) {
    const ids = (field, line) => (new RegExp(`\\b${field}: *([\\d,]*)`).exec(line)?.[1] ?? "").split(",").filter(Boolean).map(Number);
    return text
        .split("\n")
        .filter((l) => /\bPartition: *\d+/.test(l))
        .map((l) => ({ partition: Number(/\bPartition: *(\d+)/.exec(l)[1]), leader: Number(/\bLeader: *(-?\d+)/.exec(l)[1]), replicas: ids("Replicas", l), isr: ids("Isr", l) }));
}
