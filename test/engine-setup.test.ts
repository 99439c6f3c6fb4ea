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

test("Go is found where its own tarball installs it, even on a login shell's PATH without it", (t) => {
    if (!fs.existsSync("/usr/local/go/bin/go")) {
        t.pass("no Go in /usr/local/go/bin on this machine");
        return;
    }
    const r = spawnSync("bash", ["-c", `. ${path.join(REPO, "scripts", "lib", "find-go.sh")} && find_go 1.22 test && command -v go`], {
        encoding: "utf8",
        env: { HOME: tmp("kafka-lab-home-"), PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" },
    });
    t.is(r.status, 0, r.stderr);
    t.is(r.stdout.trim(), "/usr/local/go/bin/go");
});

test("no Go new enough: it stops, saying where it looked and what it found", (t) => {
    const r = spawnSync("bash", ["-c", `. ${path.join(REPO, "scripts", "lib", "find-go.sh")} && find_go 99.0 "the Pulumi engine"`], {
        encoding: "utf8",
        env: { HOME: tmp("kafka-lab-home-"), PATH: "/usr/bin:/bin" },
    });
    t.is(r.status, 1);
    t.regex(r.stderr, /Go >= 99\.0 is required to build the Pulumi engine\. Looked on PATH, in \/usr\/local\/go\/bin, ~\/go\/bin, ~\/sdk\/go\*\/bin and \/usr\/lib\/go-\*\/bin; found .*https:\/\/go\.dev\/dl/);
});
