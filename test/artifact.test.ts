// How the Kafka tarball reaches the machines: the checksum pinned for the default release, and the
// deploying machine's single fetch (artifactDelivery upload) against an HTTP server on loopback.
import test from "ava";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { PINNED_SHA512, deliverArtifact, deliverPinned, knownSha512 } from "../src/artifact";
import { JMX_EXPORTER_AGENT, KAFKA_PYTHON_WHEEL } from "../src/downloads";
import { validateConfig } from "../src/config";
import { REPO } from "./helpers/lab";

const sha512 = (b: Buffer | string) => crypto.createHash("sha512").update(b).digest("hex");
const body = Buffer.from("a tarball, as far as this test is concerned");

/** A Kafka archive on loopback; counts what is asked of it. */
async function archive(sha512File: string | null = sha512(body)) {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        requests.push(req.url!);
        if (req.url!.endsWith(".tgz")) res.writeHead(200, { "content-length": body.length, Connection: "close" }).end(body);
        else if (req.url!.endsWith(".sha512") && sha512File) res.writeHead(200, { Connection: "close" }).end(`kafka_2.13-9.9.9.tgz: ${sha512File.toUpperCase().replace(/(.{8})/g, "$1 ")}\n`);
        else res.writeHead(404, { Connection: "close" }).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/kafka/9.9.9/kafka_2.13-9.9.9.tgz`;
    return { url, requests, close: () => server.close() };
}
const cacheDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-artifact-"));
const progress: string[] = [];
const log = (l: string) => void progress.push(l);

test("the default release from the Apache archive carries a checksum pinned in the program (never read from the same server)", (t) => {
    for (const target of ["aws", "existing"]) {
        const raw =
            target === "aws"
                ? { target, adminCidrs: ["203.0.113.0/24"] }
                : { target, adminCidrs: ["203.0.113.0/24"], brokerAddress: "10.0.0.1", producerAddress: "10.0.0.2", consumerAddress: "10.0.0.3", sshUser: "admin", sshPrivateKey: "(secret)" };
        const config = validateConfig(raw, { stack: "dev", awsRegion: "eu-west-1" });
        t.deepEqual(config.kafka.artifact.kind === "url" && config.kafka.artifact.url, "https://archive.apache.org/dist/kafka/3.9.2/kafka_2.13-3.9.2.tgz");
        t.is(knownSha512(config.kafka.artifact, "kafka_2.13-3.9.2.tgz"), PINNED_SHA512["kafka_2.13-3.9.2.tgz"]);
        t.is(config.kafka.artifact.kind === "url" && config.kafka.artifact.delivery, target === "aws" ? "upload" : "download", `${target}: the default delivery`);
    }
    t.regex(PINNED_SHA512["kafka_2.13-3.9.2.tgz"], /^[0-9a-f]{128}$/);
    // Another release, or another URL: its .sha512 decides, unless artifactSha512 is set.
    const other = validateConfig({ target: "aws", adminCidrs: ["203.0.113.0/24"], kafkaVersion: "4.4.0" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.is(knownSha512(other.kafka.artifact, "kafka_2.13-4.4.0.tgz"), "");
    const mirror = validateConfig({ target: "aws", adminCidrs: ["203.0.113.0/24"], artifactUrl: "https://mirror.example/kafka_2.13-3.9.2.tgz" }, { stack: "dev", awsRegion: "eu-west-1" });
    t.is(knownSha512(mirror.kafka.artifact, "kafka_2.13-3.9.2.tgz"), "", "a mirror's tarball is checked against its own .sha512, not the archive's pin");
});

test("upload: fetched once into the deploying machine's cache, checked, then used from the cache", async (t) => {
    const server = await archive();
    try {
        const dir = cacheDir();
        const artifact = { kind: "url" as const, url: server.url, delivery: "upload" as const, cacheDir: dir };
        const first = await deliverArtifact(artifact, "kafka_2.13-9.9.9.tgz", log);
        t.is(first.upload, path.join(dir, "downloads", "kafka_2.13-9.9.9.tgz"), "not in dist/, where the local lab keeps its own build");
        t.is(first.sha512, sha512(body));
        t.deepEqual(fs.readFileSync(first.upload!), body);
        t.true(progress.some((l) => /fetching .* once, to upload it to every machine/.test(l)));
        const second = await deliverArtifact(artifact, "kafka_2.13-9.9.9.tgz", log);
        t.deepEqual(second, first);
        t.deepEqual(server.requests.filter((u) => u.endsWith(".tgz")).length, 1, "the tarball itself is fetched once");
    } finally {
        server.close();
    }
});

test("upload: a tarball that does not match its checksum is refused and not kept; nothing was created", async (t) => {
    const server = await archive("ab".repeat(64));
    try {
        const dir = cacheDir();
        const err = await t.throwsAsync(() => deliverArtifact({ kind: "url", url: server.url, delivery: "upload", cacheDir: dir }, "kafka_2.13-9.9.9.tgz", log));
        t.regex(err!.message, /SHA-512 of http:\/\/127\.0\.0\.1:\d+\/kafka\/9\.9\.9\/kafka_2\.13-9\.9\.9\.tgz does not match .*\.sha512: expected abab.*Nothing was created/);
        t.false(fs.existsSync(path.join(dir, "downloads", "kafka_2.13-9.9.9.tgz")));
        const pinned = await t.throwsAsync(() => deliverArtifact({ kind: "url", url: server.url, sha512: "cd".repeat(64), delivery: "upload", cacheDir: dir }, "kafka_2.13-9.9.9.tgz", log));
        t.regex(pinned!.message, /does not match kafka-lab:artifactSha512: expected cdcd/);
    } finally {
        server.close();
    }
});

test("upload: an archive that cannot be reached is a clear error naming the URL and the way out", async (t) => {
    const server = await archive(null);
    try {
        const err = await t.throwsAsync(() => deliverArtifact({ kind: "url", url: server.url, delivery: "upload", cacheDir: cacheDir() }, "kafka_2.13-9.9.9.tgz", log));
        t.regex(err!.message, /cannot fetch http:\S+\.tgz\.sha512: HTTP 404; set kafka-lab:artifactSha512\. Nothing was created\./);
    } finally {
        server.close();
    }
});

test("download: each machine fetches the URL itself; nothing is fetched here", async (t) => {
    const server = await archive();
    try {
        const delivered = await deliverArtifact({ kind: "url", url: server.url, sha512: "ef".repeat(64), delivery: "download", cacheDir: cacheDir() }, "kafka_2.13-9.9.9.tgz", log);
        t.deepEqual(delivered, { url: server.url, sha512: "ef".repeat(64) });
        t.deepEqual(server.requests, []);
    } finally {
        server.close();
    }
});

test.serial("the JMX exporter agent: fetched once from the Maven repository into the cache, its pinned SHA-256 checked; a jar that does not match is refused and not kept", async (t) => {
    t.is(JMX_EXPORTER_AGENT.sha256, "7d61f737fd661610ccc14aea79764faa1ea94a340cbc8f0029b3d2edea3d80c1", "the pin of jmx_prometheus_javaagent 1.0.1 (Maven Central's .sha1 agrees with the jar it hashes)");
    t.is(KAFKA_PYTHON_WHEEL.sha256, "67add72052e3ad0c37ed9963ebe2b1696adc7f063c64eaf19862c21b69a64a18", "the pin of kafka-python 3.0.12's wheel, as PyPI's index gives it");
    t.regex(KAFKA_PYTHON_WHEEL.url(), /^https:\/\/files\.pythonhosted\.org\/packages\/.*\/kafka_python-3\.0\.12-py3-none-any\.whl$/);
    const jar = Buffer.from("an agent, as far as this test is concerned");
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        requests.push(req.url!);
        res.writeHead(req.url === "/maven2/io/prometheus/jmx/jmx_prometheus_javaagent/1.0.1/jmx_prometheus_javaagent-1.0.1.jar" ? 200 : 404, { Connection: "close" }).end(jar);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const pinned = JMX_EXPORTER_AGENT.sha256;
    process.env.KAFKA_LAB_MAVEN_REPO = `http://127.0.0.1:${(server.address() as { port: number }).port}/maven2/`;
    try {
        const dir = cacheDir();
        const refused = await t.throwsAsync(() => deliverPinned(JMX_EXPORTER_AGENT, dir, log));
        t.regex(refused!.message, new RegExp(`SHA-256 of .*jmx_prometheus_javaagent-1\\.0\\.1\\.jar does not match the checksum pinned for it: expected ${pinned}, got ${crypto.createHash("sha256").update(jar).digest("hex")}\\. Nothing was created\\.`));
        t.false(fs.existsSync(path.join(dir, "downloads", JMX_EXPORTER_AGENT.file)), "the bad jar is not kept");
        JMX_EXPORTER_AGENT.sha256 = crypto.createHash("sha256").update(jar).digest("hex");
        const first = await deliverPinned(JMX_EXPORTER_AGENT, dir, log);
        t.deepEqual(fs.readFileSync(first.upload), jar);
        t.is(first.sha256, JMX_EXPORTER_AGENT.sha256);
        const again = await deliverPinned(JMX_EXPORTER_AGENT, dir, log);
        t.is(again.upload, first.upload);
        t.is(requests.length, 2, "fetched once per attempt; the cached jar is used as is");
    } finally {
        JMX_EXPORTER_AGENT.sha256 = pinned;
        delete process.env.KAFKA_LAB_MAVEN_REPO;
        server.close();
    }
});

test("the local image carries the kafka-python wheel (file and SHA-256) that src/downloads.ts pins for the other targets", (t) => {
    const rootfs = fs.readFileSync(path.join(REPO, "scripts", "local", "rootfs.sh"), "utf8");
    t.is(/^KAFKA_PYTHON_URL="([^"]+)"$/m.exec(rootfs)?.[1], KAFKA_PYTHON_WHEEL.url());
    t.is(/^KAFKA_PYTHON_SHA256="([0-9a-f]{64})"$/m.exec(rootfs)?.[1], KAFKA_PYTHON_WHEEL.sha256);
});
