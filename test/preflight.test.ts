// The local lab refuses, before making anything, when the host cannot run it. Real script, real
// checks; the host's facts are changed with PATH shims and by dropping root.
import test from "ava";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const script = path.join(__dirname, "..", "scripts", "local", "preflight.sh");
const isRoot = process.platform === "linux" && process.getuid?.() === 0;

/** A PATH whose commands are the host's own, minus `without`, plus `shims` (name -> script body). */
function fakePath(without: string[], shims: Record<string, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-path-"));
    for (const src of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
        if (!fs.existsSync(src)) continue;
        for (const name of fs.readdirSync(src)) {
            const target = path.join(dir, name);
            if (!without.includes(name) && !fs.existsSync(target)) fs.symlinkSync(path.join(src, name), target);
        }
    }
    for (const [name, body] of Object.entries(shims)) {
        fs.rmSync(path.join(dir, name), { force: true });
        fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    }
    return dir;
}

const runPreflight = (env: Record<string, string>, asUser?: string) =>
    spawnSync(asUser ? "setpriv" : "bash", asUser ? ["--reuid", asUser, "--regid", "65534", "--clear-groups", "bash", script] : [script], {
        encoding: "utf8",
        env: { ...process.env, ...env },
    });

const rootOnly = isRoot ? test : test.skip;

rootOnly("refuses when a needed tool is missing, naming it and its Debian package", (t) => {
    const r = runPreflight({ PATH: fakePath(["systemd-nspawn", "debootstrap"]) });
    t.is(r.status, 2);
    t.regex(r.stderr, /missing tool 'debootstrap' \(Debian package: debootstrap; or run: .*--install\)/);
    t.regex(r.stderr, /missing tool 'systemd-nspawn' \(Debian package: systemd-container/);
});

rootOnly("refuses when not root", (t) => {
    const r = runPreflight({}, "nobody");
    t.is(r.status, 2);
    t.regex(r.stderr, /the local target needs root/);
});

rootOnly("refuses when not Linux", (t) => {
    const r = runPreflight({ PATH: fakePath([], { uname: "echo Darwin" }) });
    t.is(r.status, 2);
    t.regex(r.stderr, /the local target needs Linux \(this is Darwin\)/);
});
