// Temporary directories of the tests, removed when the test process exits: a key written there never outlives the run.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const made: string[] = [];
process.on("exit", () => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new private (0700) directory under the system's temporary directory. */
export function tmpDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(dir);
    return dir;
}
