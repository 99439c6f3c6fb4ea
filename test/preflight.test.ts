// The local lab refuses, before making anything, when the host cannot run it. Real script, real
// checks; the host's facts are changed with PATH shims and by dropping root.
import test from "ava";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RUN_AS_ROOT } from "../src/provision";
import { REPO } from "./helpers/lab";

// A copy any user can read: the checkout may lie where only root may enter (say, under /root), and some
// tests run the script as an unprivileged user.
const script = (() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-preflight-"));
    fs.chmodSync(dir, 0o755);
    const copy = path.join(dir, "preflight.sh");
    fs.copyFileSync(path.join(REPO, "scripts", "local", "preflight.sh"), copy);
    fs.chmodSync(copy, 0o755);
    return copy;
})();
const isRoot = process.platform === "linux" && process.getuid?.() === 0;

/** A PATH whose commands are the host's own, minus `without`, plus `shims` (name -> script body). */
function fakePath(without: string[], shims: Record<string, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-path-"));
    fs.chmodSync(dir, 0o755); // also for the unprivileged user some tests run as
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

rootOnly("a command of an npm package under node_modules/.bin (npm run puts it first) does not count as the host's tool", (t) => {
    // @vercel/nft, a file tracer that some dependency pulls in, installs `nft`; the host's nft is nftables.
    const bin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-npm-")), "node_modules", ".bin");
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, "nft"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = runPreflight({ PATH: `${bin}:${fakePath(["nft"])}` });
    t.is(r.status, 2);
    t.regex(r.stderr, /missing tool 'nft' \(Debian package: nftables/);
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

rootOnly("a provisioning step as a user whose sudo asks for a password stops with a clear message", (t) => {
    const shims = fakePath([], { sudo: 'echo "sudo: a password is required" >&2; exit 1' });
    const r = spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "bash", "-c", RUN_AS_ROOT], {
        encoding: "utf8",
        input: "echo provisioned\n",
        env: { ...process.env, PATH: shims },
    });
    t.is(r.status, 1);
    t.regex(r.stderr, /kafka-lab: user nobody on .* needs sudo without a password \(sudo asked for one, or is missing\)/);
    t.notRegex(r.stdout, /provisioned/);
});
