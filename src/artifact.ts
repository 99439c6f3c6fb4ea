// The Kafka tarball's expected SHA-512, settled on the deploying machine before any resource exists.
import * as crypto from "crypto";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { KafkaConfig } from "./config";

/** A RunError: Pulumi shows its message alone, without a stack trace. */
export class ArtifactError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "ArtifactError";
    }
}

/** Reads a .sha512 file in either layout: `sha512sum` ("HEX  name") or Apache's `gpg --print-md` ("name: HE X..."). */
export function parseSha512File(text: string): string {
    const colon = text.indexOf(":");
    const hex = (colon >= 0 && !/^[0-9a-fA-F]{128}\s/.test(text) ? text.slice(colon + 1) : text.split(/\s+/)[0]).replace(/\s+/g, "").toLowerCase();
    if (!/^[0-9a-f]{128}$/.test(hex)) throw new ArtifactError(`not a SHA-512 checksum file: ${JSON.stringify(text.slice(0, 80))}`);
    return hex;
}

/**
 * For a URL artifact: the configured checksum, or "" to let each host read the .sha512 beside the URL.
 * For a file artifact: the file must exist and match the configured checksum, or the .sha512 beside it.
 */
export function expectedArtifactSha512(artifact: KafkaConfig["artifact"]): string {
    const configured = artifact.sha512?.replace(/\s+/g, "").toLowerCase() ?? "";
    if (artifact.kind === "url") return configured;
    if (!fs.existsSync(artifact.path)) {
        throw new ArtifactError(
            `Kafka tarball ${artifact.path} does not exist. Build it with \`npm run lab\` (scripts/local/kafka-dist.sh), or set kafka-lab:artifactFile or kafka-lab:artifactUrl.`,
        );
    }
    const actual = crypto.createHash("sha512").update(fs.readFileSync(artifact.path)).digest("hex");
    const published = fs.existsSync(`${artifact.path}.sha512`) ? parseSha512File(fs.readFileSync(`${artifact.path}.sha512`, "utf8")) : "";
    const expected = configured || published;
    if (expected && expected !== actual) {
        throw new ArtifactError(
            `SHA-512 of ${artifact.path} does not match ${configured ? "kafka-lab:artifactSha512" : `${artifact.path}.sha512`}: expected ${expected}, got ${actual}. Nothing was created.`,
        );
    }
    return actual;
}
