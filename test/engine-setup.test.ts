// The engine setup without the vendored sources: a Pulumi installed the usual way is used, and where
// there is none it stops, naming what is missing. (With them, `npm run lab` builds the real engine.)
import test from "ava";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO } from "./helpers/lab";

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

function setupEngine(pathDirs: string[]) {
    return spawnSync("bash", [path.join(REPO, "scripts", "setup-engine.sh")], {
        encoding: "utf8",
        env: { ...process.env, KAFKA_LAB_VENDOR: tmp("kafka-lab-no-vendor-"), KAFKA_LAB_CACHE: tmp("kafka-lab-empty-cache-"), PATH: [...pathDirs, "/usr/bin", "/bin"].join(":") },
    });
}

test("no vendored sources and no Pulumi installed: it stops, naming both sources and the way out", (t) => {
    const r = setupEngine([]);
    t.is(r.status, 1);
    t.is(r.stdout, "", "no bin directory is printed");
    t.regex(r.stderr, /Missing: \S+\/pulumi-language-nodejs-3\.259\.0\.tar\.gz and \S+\/pulumi-command-provider-1\.2\.1\.tar\.gz/);
    t.regex(r.stderr, /no Pulumi installed the usual way/);
    t.regex(r.stderr, /set KAFKA_LAB_VENDOR/);
});

test("no vendored sources, but a Pulumi installed the usual way: that one is used", (t) => {
    const bin = tmp("kafka-lab-pulumi-");
    fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\necho v3.274.1\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "pulumi-language-nodejs"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = setupEngine([bin]);
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim(), bin);
    t.regex(r.stderr, /using the installed Pulumi/);
});
