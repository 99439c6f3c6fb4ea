// A bar chart (PNG) of the bench: each Kafka run's MB/s beside the limit it is bound by, for one stack or
// several side by side (say the one-broker lab and a 3-broker cluster of the same run).
import fs from "node:fs";
import { createRequire } from "node:module";
import * as PImage from "pureimage";
import { brokerMbPerSec } from "./bench-report.mjs";

const require = createRequire(import.meta.url);

/** Bar colours of each measured stack: producer, consumer. */
const SERIES_COLOURS = [
    ["#2f6fb0", "#2f9e5f"],
    ["#173a5e", "#17603a"],
    ["#7fa9d6", "#7fcf9f"],
];

/** `series`: [{ stack, brokers, runs }] (one per measured stack, the same runs in the same order). */
export async function writeBenchChart(file, title, series) {
    const rows = series[0].runs;
    const width = 1000;
    const height = 560;
    const img = PImage.make(width, height);
    const ctx = img.getContext("2d");
    const font = PImage.registerFont(require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf"), "DejaVu Sans");
    await font.load();
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = "#111111";
    ctx.font = "20px 'DejaVu Sans'";
    ctx.fillText(title, 20, 34);

    const left = 90;
    const bottom = height - 110;
    const top = 70;
    const max = Math.max(...series.flatMap((s) => s.runs.flatMap((r) => [r.mbPerSec, r.limitMbPerSec, brokerMbPerSec(r) ?? 0]))) * 1.1;
    const scale = (v) => ((bottom - top) * v) / max;
    ctx.strokeStyle = "#888888";
    ctx.font = "13px 'DejaVu Sans'";
    for (let i = 0; i <= 5; i++) {
        const v = (max * i) / 5;
        const y = bottom - scale(v);
        ctx.fillStyle = "#e8e8e8";
        ctx.fillRect(left, y, width - left - 20, 1);
        ctx.fillStyle = "#333333";
        ctx.fillText(`${v.toFixed(0)}`, 20, y + 4);
    }
    ctx.fillText("MB/s", 20, top - 10);

    const slot = (width - left - 20) / rows.length;
    // In each slot: the limit (of the first stack), then each stack's figure.
    const w = (slot * 0.7) / (series.length + 1);
    rows.forEach((r, i) => {
        const x = left + i * slot + slot * 0.15;
        ctx.fillStyle = "#bbbbbb";
        ctx.fillRect(x, bottom - scale(r.limitMbPerSec), w, scale(r.limitMbPerSec));
        series.forEach((s, k) => {
            const run = s.runs.find((x) => x.name === r.name);
            if (!run) return;
            const colours = SERIES_COLOURS[k % SERIES_COLOURS.length];
            ctx.fillStyle = run.side === "producer" ? colours[0] : colours[1];
            const bx = x + w * (k + 1);
            ctx.fillRect(bx, bottom - scale(run.mbPerSec), w, scale(run.mbPerSec));
            // The brokers' own figure for the run (their metrics): a black bar across the client's.
            const broker = brokerMbPerSec(run);
            if (broker !== undefined) {
                ctx.fillStyle = "#000000";
                ctx.fillRect(bx - 2, bottom - scale(broker) - 1, w + 4, 3);
            }
            ctx.fillStyle = "#111111";
            ctx.font = "11px 'DejaVu Sans'";
            ctx.fillText(`${(run.ratio * 100).toFixed(0)}%`, bx, bottom - scale(Math.max(run.mbPerSec, broker ?? 0)) - 6);
        });
        ctx.font = "12px 'DejaVu Sans'";
        ctx.fillStyle = "#111111";
        r.name.split(" ").reduce((lines, word) => {
            const last = lines.at(-1);
            if (last && `${last} ${word}`.length <= 14) lines[lines.length - 1] = `${last} ${word}`;
            else lines.push(word);
            return lines;
        }, []).forEach((l, j) => ctx.fillText(l, x - 4, bottom + 18 + j * 15));
        ctx.font = "13px 'DejaVu Sans'";
    });
    ctx.fillStyle = "#bbbbbb";
    ctx.fillRect(left, height - 30, 14, 14);
    ctx.fillStyle = "#333333";
    ctx.fillText("limit", left + 20, height - 18);
    ctx.fillStyle = "#000000";
    ctx.fillRect(width - 250, height - 24, 20, 3);
    ctx.fillStyle = "#333333";
    ctx.fillText("the brokers' own MB/s", width - 224, height - 18);
    series.forEach((s, k) => {
        const colours = SERIES_COLOURS[k % SERIES_COLOURS.length];
        const lx = left + 80 + k * 300;
        ctx.fillStyle = colours[0];
        ctx.fillRect(lx, height - 30, 14, 14);
        ctx.fillStyle = colours[1];
        ctx.fillRect(lx + 16, height - 30, 14, 14);
        ctx.fillStyle = "#333333";
        ctx.fillText(`${s.stack}${s.brokers ? ` (${s.brokers} broker${s.brokers > 1 ? "s" : ""})` : ""}: produce, consume`, lx + 36, height - 18);
    });
    await PImage.encodePNGToStream(img, fs.createWriteStream(file));
}
