// The README's measured tables cite a run: every number in them must be one that run recorded in the
// committed docs/measured/guarantees.jsonl, so that no figure is typed in by hand.
import test from "ava";
import * as fs from "fs";
import * as path from "path";
import { MEASURED, REPO } from "./helpers/lab";

const readme = fs.readFileSync(path.join(REPO, "README.md"), "utf8");
const records = fs.existsSync(MEASURED)
    ? fs.readFileSync(MEASURED, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
    : [];

/** The line that names the run a table's figures come from. */
const CITATION = /^Figures: the end-to-end run of (\d{4}-\d\d-\d\d) on commit ([0-9a-f]{7,12})\b/;

/** Each cited table: the run it cites, and the last column of its rows. */
function citedTables(text: string) {
    const lines = text.split("\n");
    const tables: { date: string; commit: string; line: number; cells: string[] }[] = [];
    lines.forEach((line, i) => {
        const cite = CITATION.exec(line);
        if (!cite) return;
        let j = i + 1;
        while (j < lines.length && !lines[j].startsWith("|")) j++;
        const rows = [];
        for (j += 2; j < lines.length && lines[j].startsWith("|"); j++) rows.push(lines[j]);
        tables.push({ date: cite[1], commit: cite[2], line: i + 1, cells: rows.map((r) => r.split("|").slice(-2, -1)[0]) });
    });
    return tables;
}

/** The figures of a cell: its numbers, leaving out dates, versions and names in backticks (`broker4`, `9092`). */
function figures(cell: string): string[] {
    const text = cell
        .replace(/`[^`]*`/g, " ")
        .replace(/\d{4}-\d\d-\d\d/g, " ")
        .replace(/\b\d+\.\d+\.\d+\b/g, " ");
    return text.match(/\d+(?:\.\d+)?/g) ?? [];
}

/** Every number a record holds, as text: its figures, and the digits inside its strings (broker3 -> 3). */
function recorded(record: any): Set<string> {
    return new Set(JSON.stringify(record.numbers).match(/\d+(?:\.\d+)?/g) ?? []);
}

test("the README's measured tables each cite a run", (t) => {
    const tables = citedTables(readme);
    t.true(tables.length >= 3, `tables citing a run: ${tables.map((x) => `line ${x.line}`).join(", ")}`);
});

test("every figure in a cited table is a number that run recorded", (t) => {
    for (const table of citedTables(readme)) {
        const run = records.filter((r) => r.commit.startsWith(table.commit) || table.commit.startsWith(r.commit));
        t.true(run.length > 0, `README line ${table.line}: no record of commit ${table.commit} in docs/measured/guarantees.jsonl`);
        t.true(run.every((r) => r.at.startsWith(table.date)), `README line ${table.line}: the run of ${table.commit} was on ${run[0]?.at}, not ${table.date}`);
        t.true(run.every((r) => r.dirty === false), `README line ${table.line}: the run of ${table.commit} had uncommitted changes`);
        const numbers = new Set(run.flatMap((r) => [...recorded(r)]));
        for (const cell of table.cells) {
            const missing = figures(cell).filter((n) => !numbers.has(n));
            t.deepEqual(missing, [], `README line ${table.line}: "${cell.trim().slice(0, 120)}" has figures no record of that run holds`);
        }
    }
});

test("figures leave out dates, versions and names, and keep measured numbers", (t) => {
    t.deepEqual(figures(" acknowledged 1720, lost 0; first ack 0.29 s (2026-11-30), Kafka 4.4.0, `broker4` "), ["1720", "0", "0.29"]);
});
