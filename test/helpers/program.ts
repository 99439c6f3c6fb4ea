// The whole program (index.ts) under Pulumi's own mocks, as `pulumi up` runs it: its config from a stack
// file, its own last outputs through the stack reference it reads, and every AWS resource handed to a
// model of AWS (helpers/aws-world.ts). A stack transformation records each resource's options, which
// the mocks never see.
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { parse } from "yaml";
import program from "../../index";
import { JMX_EXPORTER_AGENT, KAFKA_PYTHON_WHEEL } from "../../src/downloads";
import { LabConfig, loadLabConfig } from "../../src/config";
import { AwsWorld, WorldSetup, worldKey } from "./aws-world";
import { REPO } from "./lab";

export interface Registered {
    type: string;
    name: string;
    /** The inputs as the program gave them (outputs included): resolve() them. */
    inputs: Record<string, any>;
    dependsOn: string[];
    customTimeouts?: pulumi.CustomTimeouts;
    additionalSecretOutputs?: string[];
    deleteBeforeReplace?: boolean;
    protect?: boolean;
    retainOnDelete?: boolean;
    ignoreChanges?: string[];
}
export interface Run {
    resources: Registered[];
    invokes: { token: string; args: Record<string, any> }[];
    /** The stack's outputs, as `pulumi stack output --show-secrets` shows them. */
    outputs: Record<string, any>;
    /** The names of the outputs that are secrets. */
    secretOutputs: string[];
    config: LabConfig;
    world: AwsWorld;
    byName(name: string, type?: string): Registered;
}

// A fake Kafka tarball with its .sha512 beside it, as the lab's own build leaves it.
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-test-"));
fs.mkdirSync(path.join(cacheDir, "dist"));
export const tarball = path.join(cacheDir, "dist", "kafka_2.13-3.9.2.tgz");
fs.writeFileSync(tarball, "not really a tarball");
export const tarballSha = crypto.createHash("sha512").update(fs.readFileSync(tarball)).digest("hex");
fs.writeFileSync(`${tarball}.sha512`, `${tarballSha}  kafka_2.13-3.9.2.tgz\n`);
process.env.KAFKA_LAB_CACHE = cacheDir;
// A fake JMX exporter agent and kafka-python wheel in the cache, their checksums pinned in place of the real
// ones': no test fetches from Maven Central or PyPI (test/artifact.test.ts fetches from loopback).
for (const pinned of [JMX_EXPORTER_AGENT, KAFKA_PYTHON_WHEEL]) {
    const file = path.join(cacheDir, "downloads", pinned.file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `not really ${pinned.what}`);
    pinned.sha256 = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/**
 * A Kafka archive on loopback: every AWS run fetches "the tarball" from here (artifactDelivery upload), never
 * from the Apache archive. Serves any kafka_*.tgz (its body names it) and its .sha512; counts requests.
 */
export const archive = { url: "", requests: [] as string[] };
const archiveReady = new Promise<void>((resolve) => {
    const server = http.createServer((req, res) => {
        archive.requests.push(req.url!);
        const m = /\/(kafka_[\w.-]+\.tgz)(\.sha512)?$/.exec(req.url ?? "");
        if (!m) {
            res.writeHead(404).end();
            return;
        }
        const body = Buffer.from(`fake tarball ${m[1]}`);
        res.writeHead(200, { Connection: "close" }).end(m[2] ? `${m[1]}: ${crypto.createHash("sha512").update(body).digest("hex").toUpperCase().replace(/(.{8})/g, "$1 ")}\n` : body);
    });
    server.listen(0, "127.0.0.1", () => {
        archive.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        server.unref();
        resolve();
    });
});

/** A stack file's config, values as the CLI hands them to the program (lists as JSON). */
export function stackConfig(stack: string): Record<string, string> {
    const file = parse(fs.readFileSync(path.join(REPO, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config ?? {};
    return Object.fromEntries(Object.entries(file).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

// Not in the SDK's type declarations, but exported: it waits until every outstanding call to the engine is done.
const waitForRPCs: () => Promise<void> = (settings as any).waitForRPCs;
/** A value through pulumi.output: outputs and nested outputs resolved. */
export const resolve = <T = any>(v: any): Promise<T> => new Promise((r) => pulumi.output(v).apply((x) => r(x as T)));

/** A secret input as the mocks see it: Pulumi's secret signature around the value. */
const unsecret = (v: any) => (v && typeof v === "object" && "4dabf18193072939515e22adb298388d" in v ? v.value : v);

/** Every resource name the mocked engine was asked to create, across runs: a run that throws must add nothing. */
export const engineCreated: string[] = [];

export interface RunOptions {
    overrides?: Record<string, string>;
    secrets?: Record<string, string>;
    /** The stack's outputs from its last deploy (what the stack reference to itself reads). */
    deployed?: Record<string, any>;
    /** The AWS side: region zones, the previous deploy's world, forced replacements, the AMI found. */
    aws?: Partial<WorldSetup>;
    /** What `command:local:run` answers (the existing target identifies its machines with it). */
    localRun?: (command: string) => string;
}

export async function runProgram(stack: string, opts: RunOptions = {}): Promise<Run> {
    const resources: Registered[] = [];
    const invokes: Run["invokes"] = [];
    await archiveReady;
    const file = stackConfig(stack);
    const version = opts.overrides?.["kafka-lab:kafkaVersion"] ?? file["kafka-lab:kafkaVersion"] ?? "3.9.2";
    const loopbackArchive: Record<string, string> = file["kafka-lab:target"] === "aws" ? { "kafka-lab:artifactUrl": `${archive.url}/kafka/${version}/kafka_2.13-${version}.tgz` } : {};
    const config: Record<string, string> = { ...file, ...loopbackArchive, ...opts.overrides, ...opts.secrets };
    const world = new AwsWorld({ region: config["aws:region"] ?? "eu-west-1", ...opts.aws });
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                engineCreated.push(args.name);
                if (args.type === "pulumi:pulumi:StackReference") return { id: args.id ?? args.name, state: { ...args.inputs, outputs: opts.deployed ?? {}, secretOutputNames: [] } };
                if (args.type.startsWith("aws:") || args.type.startsWith("pulumi:providers:aws") || args.type.startsWith("tls:")) {
                    return world.create(args.type, args.name, args.inputs, args.provider);
                }
                const state: Record<string, any> = { ...args.inputs };
                if (args.type.startsWith("command:")) state.stdout = args.name === "ssh-key" ? "LOCAL-KEY" : "";
                // The local machines' host keys, as machine.sh would read them from their disks.
                if (/^host-key-/.test(args.name)) state.stdout = `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILOCAL${args.name.slice(9).toUpperCase()}\n`;
                // The stack's credentials and AWS host keys are made for real (openssl, ssh-keygen in a temporary
                // directory), so that their certificates and keys can be checked.
                if (args.type === "command:local:Command" && (/credentials\.sh/.test(args.inputs.create) || /-host-key$/.test(args.name))) {
                    state.stdout = execFileSync("bash", ["-c", args.inputs.create], { cwd: REPO, env: { ...process.env, ...unsecret(args.inputs.environment) }, encoding: "utf8" });
                }
                return args.type.startsWith("command:") ? world.create(args.type, args.name, args.inputs, args.provider, state) : { id: `${args.name}-id`, state };
            },
            call(args) {
                invokes.push({ token: args.token, args: args.inputs });
                if (args.token === "aws:ec2/getAmi:getAmi") {
                    // The image of the family's owner (so that a test can tell which family an instance runs).
                    const id = `ami-${args.inputs.owners[0]}${world.setup.newerImage ? "-newer" : ""}`;
                    return { id, imageId: id };
                }
                if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones") return world.availabilityZones(args.inputs);
                if (args.token === "aws:ec2/getSubnet:getSubnet") return world.getSubnet(args.inputs);
                if (args.token === "command:local:run") return { stdout: opts.localRun?.(args.inputs.command) ?? "debian 12 4f1c0ffee4f1c0ffee4f1c0ffee4f1c0", stderr: "" };
                return {};
            },
        },
        "kafka-lab",
        stack,
        false,
        "organization",
    );
    pulumi.runtime.setAllConfig(config, Object.keys(opts.secrets ?? {}));
    let returned: Record<string, any> = {};
    let failed: unknown;
    const outputs = await pulumi.runtime.runInPulumiStack(async () => {
        // The legacy stack transformation runs in the SDK itself, so it sees every resource's options.
        pulumi.runtime.registerStackTransformation((args) => {
            const o = args.opts as pulumi.CustomResourceOptions;
            const dependsOn = ([] as any[]).concat(o.dependsOn ?? []).map((d) => d.__name);
            const seen = {
                dependsOn,
                deleteBeforeReplace: o.deleteBeforeReplace,
                protect: o.protect,
                retainOnDelete: o.retainOnDelete,
                ignoreChanges: o.ignoreChanges,
                customTimeouts: o.customTimeouts,
                additionalSecretOutputs: o.additionalSecretOutputs,
            };
            world.options.set(worldKey(args.type, args.name), seen);
            resources.push({ type: args.type, name: args.name, inputs: args.props as any, ...seen });
            return undefined;
        });
        // A program that stops (a refused config) is rethrown below: thrown here, the SDK would also
        // reject promises of its own that nobody awaits.
        try {
            returned = await (program as () => Promise<Record<string, any>>)();
        } catch (err) {
            failed = err;
        }
        return returned;
    });
    if (failed) throw failed;
    const secretOutputs: string[] = [];
    for (const [k, v] of Object.entries(returned)) if (pulumi.Output.isInstance(v) && (await pulumi.isSecret(v))) secretOutputs.push(k);
    // Let the program's last calls (a component's registerOutputs) reach this run's mocks, not the next one's.
    await waitForRPCs();
    const lab = loadLabConfig();
    return {
        resources,
        invokes,
        outputs: (outputs ?? {}) as Record<string, any>,
        secretOutputs,
        config: lab.config,
        world,
        byName(name, type) {
            const r = resources.find((x) => x.name === name && (!type || x.type === type));
            if (!r) throw new Error(`no resource named ${name}; have ${resources.map((x) => x.name).join(", ")}`);
            return r;
        },
    };
}

export const ofType = (run: Run, type: string) => run.resources.filter((r) => r.type === type);
