// A bar chart (PNG) of the bench: each Kafka run's MB/s beside the limit it is bound by.
import fs from "node:fs";
import { createRequire } from "node:module";
import * as PImage from "pureimage";

const require = createRequire(import.meta.url);

export async function writeBenchChart(file, title, rows) {
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
    const max = Math.max(...rows.flatMap((r) => [r.mbPerSec, r.limitMbPerSec])) * 1.1;
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
    rows.forEach((r, i) => {
        const x = left + i * slot + slot * 0.15;
        const w = slot * 0.32;
        ctx.fillStyle = "#bbbbbb";
        ctx.fillRect(x, bottom - scale(r.limitMbPerSec), w, scale(r.limitMbPerSec));
        ctx.fillStyle = r.side === "producer" ? "#2f6fb0" : "#2f9e5f";
        ctx.fillRect(x + w, bottom - scale(r.mbPerSec), w, scale(r.mbPerSec));
        ctx.fillStyle = "#111111";
        ctx.fillText(`${(r.ratio * 100).toFixed(0)}%`, x + w, bottom - scale(r.mbPerSec) - 6);
        ctx.font = "12px 'DejaVu Sans'";
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
    ctx.fillText("limit (disk for producers, network or disk for consumers)", left + 20, height - 18);
    ctx.fillStyle = "#2f6fb0";
    ctx.fillRect(left + 470, height - 30, 14, 14);
    ctx.fillStyle = "#333333";
    ctx.fillText("producer", left + 490, height - 18);
    ctx.fillStyle = "#2f9e5f";
    ctx.fillRect(left + 580, height - 30, 14, 14);
    ctx.fillStyle = "#333333";
    ctx.fillText("consumer", left + 600, height - 18);
    await PImage.encodePNGToStream(img, fs.createWriteStream(file));
}
