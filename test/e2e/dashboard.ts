// The lab's dashboard in a real browser: Debian's chromium, headless, driven by puppeteer-core. What a
// person opening the page would see: the nodes table, the cluster's signals, each graph drawn from data.
import * as fs from "fs";
import * as path from "path";
import puppeteer from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";
/** The graphs of templates/monitoring/dashboard.html, by the id of their node. */
export const DASHBOARD_GRAPHS = ["messages-in", "bytes", "partitions", "latency", "lag", "disk", "cpu"];

export interface DashboardView {
    title: string;
    /** host -> jobs shown up or DOWN in the nodes table. */
    nodes: { host: string; job: string; up: boolean }[];
    /** The cluster table's rows, as shown. */
    cluster: Record<string, string>;
    /** Per graph: how many plotted points its lines have (0: drawn without data, or not drawn). */
    points: Record<string, number>;
    /** What the browser reported as failed: console errors, failed requests. */
    errors: string[];
}

/** What the page shows, read in the browser. A line path holds a coordinate pair ("x,y") per point drawn. */
const READ_PAGE = `(ids) => {
    const text = (e) => ((e && e.textContent) || "").trim();
    const nodes = [...document.querySelectorAll("#nodes tr[data-host]")].map((r) => ({ host: r.getAttribute("data-host"), job: r.getAttribute("data-job"), up: text(r.lastElementChild) === "up" }));
    const cluster = Object.fromEntries([...document.querySelectorAll("#cluster tr")].map((r) => [text(r.children[0]), text(r.children[1])]));
    const points = Object.fromEntries(ids.map((id) => [id, [...document.querySelectorAll("#" + id + " svg path")].reduce((n, p) => n + ((p.getAttribute("d") || "").match(/,/g) || []).length, 0)]));
    return { title: document.title, nodes, cluster, points };
}`;

/** Loads the page, waits for its graphs, takes a full-page screenshot, and reads what it shows. */
export async function viewDashboard(url: string, screenshot: string): Promise<DashboardView> {
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    try {
        const page = await browser.newPage();
        await page.setViewport({ width: 1400, height: 1000 });
        const errors: string[] = [];
        page.on("console", (m) => m.type() === "error" && errors.push(`console: ${m.text()}`));
        page.on("pageerror", (e) => errors.push(`page: ${(e as Error).message}`));
        page.on("requestfailed", (r) => errors.push(`request ${r.url()}: ${r.failure()?.errorText}`));
        page.on("response", (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));
        const response = await page.goto(url, { waitUntil: "networkidle0", timeout: 60_000 });
        if (!response?.ok()) throw new Error(`${url}: HTTP ${response?.status()}`);
        // Each graph draws an SVG path per series once its query_range answer is in. (The page's code goes as
        // text: the test's compiler would add helpers to a function that the browser does not have.)
        const graphs = JSON.stringify(DASHBOARD_GRAPHS);
        await page.waitForFunction(`${graphs}.every((id) => document.querySelector("#" + id + " svg path"))`, { timeout: 30_000 }).catch(() => errors.push("not every graph was drawn within 30 s"));
        fs.mkdirSync(path.dirname(screenshot), { recursive: true });
        await page.screenshot({ path: screenshot, fullPage: true });
        const view = (await page.evaluate(`(${READ_PAGE})(${graphs})`)) as Omit<DashboardView, "errors">;
        return { ...view, errors };
    } finally {
        await browser.close();
    }
}
