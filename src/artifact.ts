// The Kafka tarball: its expected SHA-512, and how it reaches the machines (uploaded from the deploying
// machine, or fetched by each machine), settled on the deploying machine before any resource exists.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { KafkaConfig, LabError } from "./config";
import type { PinnedDownload } from "./downloads";

export class ArtifactError extends LabError {}

/**
 * Checksums pinned in the program, so that a checksum never comes from the server the tarball comes from.
 * kafka_2.13-3.9.2.tgz (the default release): Apache's published .sha512 for it, as quoted by public code
 * that pins it (the archive itself cannot be reached from the machine this was written on).
 */
export const PINNED_SHA512: Record<string, string> = {
    "kafka_2.13-3.9.2.tgz": "01186a5086b5ae753811ee71808a797baec1303d4e0d4b1c0acf42c489654a7b8988136f8469d0b66f0be439f8e3e9b816171ea0b0d7a36462b07aa2d3ef0023",
};

/** What the machines get: a local file uploaded to each, or a URL each fetches; and its SHA-512. */
export interface DeliveredArtifact {
    /** The tarball on the deploying machine, uploaded to every machine; undefined when they fetch `url`. */
    upload?: string;
    url?: string;
    /** Expected SHA-512; "" when each machine reads the .sha512 published beside the URL. */
    sha512: string;
}

/** Reads a .sha512 file in either layout: `sha512sum` ("HEX  name") or Apache's `gpg --print-md` ("name: HE X..."). */
export function parseSha512File(text: string): string {
    const colon = text.indexOf(":");
    const hex = (colon >= 0 && !/^[0-9a-fA-F]{128}\s/.test(text) ? text.slice(colon + 1) : text.split(/\s+/)[0]).replace(/\s+/g, "").toLowerCase();
    if (!/^[0-9a-f]{128}$/.test(hex)) throw new ArtifactError(`not a SHA-512 checksum file: ${JSON.stringify(text.slice(0, 80))}`);
    return hex;
}

const sha512Of = (file: string) => crypto.createHash("sha512").update(fs.readFileSync(file)).digest("hex");

/** The configured checksum, else the pinned one for this tarball, else "" (the .sha512 beside it decides). */
export function knownSha512(artifact: KafkaConfig["artifact"], tarball: string): string {
    const configured = artifact.sha512?.replace(/\s+/g, "").toLowerCase() ?? "";
    const official = artifact.kind === "url" && artifact.url.startsWith("https://archive.apache.org/dist/kafka/");
    return configured || (official ? (PINNED_SHA512[tarball] ?? "") : "");
}

/** A file artifact: it must exist and match the configured checksum, or the .sha512 beside it. */
function checkedFile(file: string, expected: string, source: string): string {
    if (!fs.existsSync(file)) {
        throw new ArtifactError(`Kafka tarball ${file} does not exist. Build it with \`npm run lab\` (scripts/local/kafka-dist.sh), or set kafka-lab:artifactFile or kafka-lab:artifactUrl.`);
    }
    const actual = sha512Of(file);
    const published = fs.existsSync(`${file}.sha512`) ? parseSha512File(fs.readFileSync(`${file}.sha512`, "utf8")) : "";
    const wanted = expected || published;
    if (wanted && wanted !== actual) {
        throw new ArtifactError(`SHA-512 of ${file} does not match ${expected ? source : `${file}.sha512`}: expected ${wanted}, got ${actual}. Nothing was created.`);
    }
    return actual;
}

/** Why a fetch failed: undici hides the reason (ECONNREFUSED, ENOTFOUND, a timeout) in `cause`. */
const reason = (e: Error) => [e.message, (e.cause as Error | undefined)?.message].filter(Boolean).join(": ");

/** Fetches a URL into a file, with a bounded time and progress every 10 %. */
async function download(url: string, file: string, progress: (line: string) => void): Promise<void> {
    const response = await fetch(url, { signal: AbortSignal.timeout(15 * 60 * 1000) }).catch((e: Error) => {
        throw new ArtifactError(`cannot fetch ${url}: ${reason(e)}. Nothing was created.`);
    });
    if (!response.ok || !response.body) throw new ArtifactError(`cannot fetch ${url}: HTTP ${response.status}. Nothing was created.`);
    const total = Number(response.headers.get("content-length") ?? 0);
    const out = fs.createWriteStream(`${file}.part`);
    let received = 0;
    let reported = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        received += chunk.length;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
        if (total && received / total >= reported + 0.1) {
            reported = Math.floor((received / total) * 10) / 10;
            progress(`${path.basename(file)}: ${Math.round(reported * 100)} % of ${(total / 1048576).toFixed(0)} MiB`);
        }
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    fs.renameSync(`${file}.part`, file);
}

/**
 * Settles how the tarball reaches the machines, before any resource exists. A file is checked. A URL with
 * delivery "upload" is fetched once into the deploying machine's cache and checked there (the pinned or
 * configured checksum, else the .sha512 beside it); a cached copy that still matches is used as is. A URL
 * with delivery "download" is left to each machine, with the checksum known here if any.
 */
export async function deliverArtifact(artifact: KafkaConfig["artifact"], tarball: string, progress: (line: string) => void = (l) => pulumi.log.info(l)): Promise<DeliveredArtifact> {
    const expected = knownSha512(artifact, tarball);
    if (artifact.kind === "file") return { upload: artifact.path, sha512: checkedFile(artifact.path, expected, "kafka-lab:artifactSha512") };
    if (artifact.delivery === "download") return { url: artifact.url, sha512: expected };
    // Not dist/, where the local lab keeps the tarball it builds: a fetched one must never take its place.
    const file = path.join(artifact.cacheDir, "downloads", tarball);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let wanted = expected;
    if (!wanted) {
        const published = await fetch(`${artifact.url}.sha512`, { signal: AbortSignal.timeout(60_000) }).catch((e: Error) => {
            throw new ArtifactError(`cannot fetch ${artifact.url}.sha512: ${reason(e)}; set kafka-lab:artifactSha512. Nothing was created.`);
        });
        if (!published.ok) throw new ArtifactError(`cannot fetch ${artifact.url}.sha512: HTTP ${published.status}; set kafka-lab:artifactSha512. Nothing was created.`);
        wanted = parseSha512File(await published.text());
    }
    if (!(fs.existsSync(file) && sha512Of(file) === wanted)) {
        progress(`fetching ${artifact.url} once, to upload it to every machine (kafka-lab:artifactDelivery upload)`);
        await download(artifact.url, file, progress);
        const actual = sha512Of(file);
        if (actual !== wanted) {
            fs.rmSync(file);
            throw new ArtifactError(`SHA-512 of ${artifact.url} does not match ${expected ? (artifact.sha512 ? "kafka-lab:artifactSha512" : "the checksum pinned for it") : `${artifact.url}.sha512`}: expected ${wanted}, got ${actual}. Nothing was created.`);
        }
    }
    fs.writeFileSync(`${file}.sha512`, `${wanted}  ${tarball}\n`);
    return { upload: file, sha512: wanted };
}

const sha256Of = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** A pinned download on the deploying machine (uploaded to the machines that need it), and its SHA-256. */
export interface DeliveredFile {
    upload: string;
    sha256: string;
}

/**
 * A pinned file, fetched once into the deploying machine's cache and checked against its SHA-256 (a cached
 * copy that still matches is used as is), so that machines without internet get it too.
 */
export async function deliverPinned(pinned: PinnedDownload, cacheDir: string, progress: (line: string) => void = (l) => pulumi.log.info(l)): Promise<DeliveredFile> {
    const file = path.join(cacheDir, "downloads", pinned.file);
    if (fs.existsSync(file) && sha256Of(file) === pinned.sha256) return { upload: file, sha256: pinned.sha256 };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const url = pinned.url();
    progress(`fetching ${pinned.what} from ${url} once, to upload it to the machines that need it`);
    await download(url, file, progress);
    const actual = sha256Of(file);
    if (actual !== pinned.sha256) {
        fs.rmSync(file);
        throw new ArtifactError(`SHA-256 of ${url} does not match the checksum pinned for it: expected ${pinned.sha256}, got ${actual}. Nothing was created.`);
    }
    return { upload: file, sha256: actual };
}
