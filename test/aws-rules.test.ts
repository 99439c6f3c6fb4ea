// The AWS stacks held to the rules AWS itself enforces, and to what a change does to a running stack:
// the whole program under Pulumi's mocks, every AWS resource handed to a model of AWS
// (helpers/aws-world.ts) that gives it the ids and attributes AWS would, and that knows which inputs
// replace a resource. Nothing here can call AWS; the shape of the graph alone proved nothing (a stack
// whose security groups sat in the default VPC passed every shape test).
import test from "ava";
import { IMAGE_FAMILIES } from "../src/config";
import { NOTHING } from "../src/provision";
import { AwsWorld, EXISTING_NETWORK, HAMBURG, INSTANCE_STOPPED_BY, REGIONS, awsViolations, changes, worldKey } from "./helpers/aws-world";
import { Run, RunOptions, engineCreated, resolve, runProgram, stackConfig } from "./helpers/program";

const STACKS = ["dev", "staging", "prod"];
const BROKER_COUNTS = [1, 3, 5];

const brokerNames = (n: number) => (n === 1 ? ["broker"] : Array.from({ length: n }, (_, i) => `broker${i + 1}`));
const instanceOf = (run: Run, host: string) => run.world.get("aws:ec2/instance:Instance", host)!;

/** The lab's VPC: the one the stack made, or the one it was pointed at. */
function labVpcId(run: Run): string {
    return run.config.aws?.vpcId ?? run.world.ofType("aws:ec2/vpc:Vpc")[0]?.id ?? "(no VPC)";
}

/** A run that must be refused before anything exists: returns its message. */
async function refused(t: any, stack: string, opts: RunOptions): Promise<string> {
    const before = engineCreated.length;
    const err = await t.throwsAsync(() => runProgram(stack, opts));
    await new Promise((r) => setTimeout(r, 200));
    // The stack itself and the reference it reads its last outputs through are no resources of the lab.
    t.deepEqual(engineCreated.slice(before).filter((n) => n !== "deployed" && n !== `kafka-lab-${stack}`), [], "nothing was created before the refusal");
    return err?.message ?? "";
}

/** Every broker's broker.rack, from its rendered server.properties ("" when it has none). */
async function racks(run: Run): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const b of run.config.topology.brokers) {
        const script: string = await resolve(run.byName(`${b.name}-kafka-broker`).inputs.stdin);
        out[b.name] = /^broker\.rack=(.*)$/m.exec(script)?.[1] ?? "";
    }
    return out;
}

for (const stack of STACKS) {
    for (const brokers of BROKER_COUNTS) {
        test.serial(`${stack}, ${brokers} broker(s): AWS takes the graph (one VPC, groups and subnets in it, zones, addresses, volumes)`, async (t) => {
            const run = await runProgram(stack, { overrides: { "kafka-lab:brokers": String(brokers) } });
            t.deepEqual(awsViolations(run.world, { vpcId: labVpcId(run), eipQuota: 5 }), []);
            t.is(run.world.ofType("aws:ec2/vpc:Vpc").length, 1, "one VPC of the lab's own");
            t.deepEqual(run.world.ofType("aws:ec2/instance:Instance").map((i) => i.name).sort(), [...brokerNames(brokers), "producer", "consumer"].sort());

            // Kafka: broker.rack on every broker or on none, and each the zone id its instance runs in.
            const zoneIdOf = (host: string) => run.world.zone(instanceOf(run, host).state.availabilityZone)!.zoneId;
            const rackOf = await racks(run);
            for (const b of brokerNames(brokers)) t.is(rackOf[b], zoneIdOf(b), `${b}: broker.rack is its zone id`);
            // The brokers spread over min(N, 3) zones.
            const zones = new Set(brokerNames(brokers).map((b) => instanceOf(run, b).state.availabilityZone));
            t.is(zones.size, Math.min(brokers, 3));
        });
    }

    test.serial(`${stack}: what AWS only allows in one order is replaced delete-first; data volumes ${stack === "prod" ? "are protected" : "are not protected (dev and staging)"}`, async (t) => {
        const run = await runProgram(stack);
        for (const type of ["aws:ec2/volumeAttachment:VolumeAttachment", "aws:ec2/eipAssociation:EipAssociation"]) {
            const all = run.world.ofType(type);
            t.true(all.length > 0, type);
            // A volume still attached to the old instance cannot attach to the new one (VolumeInUse, pulumi/pulumi-aws#2769);
            // an address still associated would be taken from the new instance when the old association is deleted.
            for (const r of all) t.true(r.options.deleteBeforeReplace, `${type} ${r.name} is replaced delete-first`);
        }
        for (const v of run.world.ofType("aws:ebs/volume:Volume")) t.is(!!v.options.protect, stack === "prod", `${v.name}: protect`);
        for (const i of run.world.ofType("aws:ec2/instance:Instance")) t.true(i.options.ignoreChanges?.includes("ami"), `${i.name}: a newer image does not replace it`);
    });
}

test.serial("an existing VPC and its subnets: the groups are made in that VPC, and nothing else of a network", async (t) => {
    const subnetIds = Object.keys(EXISTING_NETWORK.subnets).slice(0, 3);
    const run = await runProgram("staging", { overrides: { "kafka-lab:vpcId": EXISTING_NETWORK.vpcId, "kafka-lab:subnetIds": JSON.stringify(subnetIds) } });
    t.deepEqual(awsViolations(run.world, { vpcId: EXISTING_NETWORK.vpcId, eipQuota: 5 }), []);
    t.is(run.world.ofType("aws:ec2/vpc:Vpc").length, 0);
    t.is(run.world.ofType("aws:ec2/subnet:Subnet").length, 0);
    for (const g of run.world.ofType("aws:ec2/securityGroup:SecurityGroup")) t.is(g.state.vpcId, EXISTING_NETWORK.vpcId, g.name);
});

test.serial("a subnet of another VPC than kafka-lab:vpcId is refused before anything is created, naming both", async (t) => {
    const message = await refused(t, "staging", { overrides: { "kafka-lab:vpcId": EXISTING_NETWORK.vpcId, "kafka-lab:subnetIds": JSON.stringify(["subnet-0a1a1a1a1a1a1a1a1", "subnet-0f9f9f9f9f9f9f9f9"]) } });
    t.regex(message, /subnet-0f9f9f9f9f9f9f9f9 is in vpc-0ee55ff66aa77bb88, not kafka-lab:vpcId vpc-0aa11bb22cc33dd44/);
});

test.serial("zones: an opted-in Local Zone that sorts first and an impaired zone are never chosen", async (t) => {
    const zones = [HAMBURG, { ...REGIONS["eu-central-1"][0], state: "impaired" as const }, ...REGIONS["eu-central-1"].slice(1), { name: "eu-central-1d", zoneId: "euc1-az4", state: "available" as const, optInStatus: "opt-in-not-required" as const, zoneType: "availability-zone" as const, group: "eu-central-1" }];
    const run = await runProgram("prod", { aws: { zones } });
    t.deepEqual(awsViolations(run.world, { vpcId: labVpcId(run), eipQuota: 5 }), []);
    const chosen = run.world.ofType("aws:ec2/subnet:Subnet").map((s) => s.state.availabilityZone).sort();
    t.deepEqual(chosen, ["eu-central-1b", "eu-central-1c", "eu-central-1d"]);
});

test.serial("zones: a region with fewer zones than min(brokers, 3) is refused before anything is created", async (t) => {
    const message = await refused(t, "dev", { overrides: { "aws:region": "us-west-1", "kafka-lab:brokers": "3" } });
    t.regex(message, /us-west-1 has 2 zones .* 3 brokers need 3/);
    t.regex(message, /kafka-lab:zones|fewer brokers/);
});

test.serial("zones are chosen once and kept: a zone list that changes later moves no subnet, instance or volume", async (t) => {
    const first = await runProgram("prod");
    t.deepEqual(first.outputs.aws?.zones, ["eu-central-1a", "eu-central-1b", "eu-central-1c"], "the chosen zones are in the stack's outputs");
    const later = [HAMBURG, { ...REGIONS["eu-central-1"][0], state: "impaired" as const }, ...REGIONS["eu-central-1"].slice(1)];
    const second = await runProgram("prod", { deployed: first.outputs, aws: { previous: first.world, zones: later } });
    const moved = [...changes(first.world, second.world)].filter(([k, c]) => c !== "same" && /Subnet|Instance|Volume|VolumeAttachment|Eip/.test(k));
    t.deepEqual(moved, []);
    t.deepEqual(await racks(second), await racks(first));
});

test.serial("kafka-lab:zones: given zones are used as given, and must name standard zones of the region", async (t) => {
    const run = await runProgram("prod", { overrides: { "kafka-lab:zones": '["eu-central-1c", "eu-central-1a", "eu-central-1b"]' } });
    t.deepEqual(run.world.ofType("aws:ec2/subnet:Subnet").map((s) => s.state.availabilityZone), ["eu-central-1c", "eu-central-1a", "eu-central-1b"]);
    const message = await refused(t, "prod", { overrides: { "kafka-lab:zones": '["eu-central-1-ham-1a", "eu-central-1a", "eu-central-1b"]' }, aws: { zones: [HAMBURG, ...REGIONS["eu-central-1"]] } });
    t.regex(message, /kafka-lab:zones.*eu-central-1-ham-1a/);
});

test.serial("Elastic IPs: one stack needing more than the quota (5 by default) is refused unless the quota is said to be higher", async (t) => {
    const message = await refused(t, "dev", { overrides: { "kafka-lab:brokers": "6", "kafka-lab:kafkaVersion": "4.4.0" } });
    t.regex(message, /kafka-lab:brokers 6 needs 6 Elastic IPs.*quota of 5.*kafka-lab:elasticIpQuota/);
    const run = await runProgram("dev", { overrides: { "kafka-lab:brokers": "6", "kafka-lab:kafkaVersion": "4.4.0", "kafka-lab:elasticIpQuota": "10" } });
    t.deepEqual(awsViolations(run.world, { vpcId: labVpcId(run), eipQuota: 10 }), []);
});

// What a change does to a running stack: refused before anything changes (naming the key), or handled:
// no data volume replaced, and a replaced instance provisioned from scratch with its volume re-attached.
interface Change {
    what: string;
    overrides?: (stack: string) => Record<string, string>;
    secrets?: Record<string, string>;
    aws?: (world: AwsWorld) => RunOptions["aws"];
    refusedNaming?: RegExp;
    /** The stacks it applies to (default: every one). */
    stacks?: string[];
    /** It rolls every broker and replaces no instance. */
    rolls?: boolean;
}
const otherFamily = (stack: string) => (stackConfig(stack)["kafka-lab:imageFamily"] === "rocky-9" ? "almalinux-9" : "rocky-9");
const CHANGES: Change[] = [
    { what: "another image family", overrides: (s) => ({ "kafka-lab:imageFamily": otherFamily(s) }), refusedNaming: /kafka-lab:imageFamily/ },
    { what: "a key pair of one's own instead of the generated one", overrides: () => ({ "kafka-lab:sshPublicKey": "ssh-ed25519 AAAAC3NzaUSERKEY me@laptop" }), secrets: { "kafka-lab:sshPrivateKey": "USER-KEY" }, refusedNaming: /kafka-lab:sshPublicKey/ },
    { what: "another VPC range", overrides: () => ({ "kafka-lab:vpcCidr": "10.99.0.0/16", "kafka-lab:subnetCidr": "10.99.1.0/24" }), refusedNaming: /kafka-lab:vpcCidr/ },
    { what: "another subnet range", overrides: (s) => ({ "kafka-lab:subnetCidr": (stackConfig(s)["kafka-lab:subnetCidr"] ?? "10.42.1.0/24").replace(/\.1\.0\/24$/, ".8.0/24") }), refusedNaming: /kafka-lab:subnetCidr/ },
    { what: "an existing network instead of the lab's", overrides: () => ({ "kafka-lab:vpcId": EXISTING_NETWORK.vpcId, "kafka-lab:subnetIds": JSON.stringify(Object.keys(EXISTING_NETWORK.subnets).slice(0, 3)) }), refusedNaming: /kafka-lab:vpcId/ },
    { what: "another region", overrides: (s) => ({ "aws:region": stackConfig(s)["aws:region"] === "eu-west-1" ? "eu-central-1" : "eu-west-1" }), refusedNaming: /aws:region/ },
    { what: "a smaller data volume", overrides: () => ({ "kafka-lab:dataVolumeGiB": "10" }), refusedNaming: /kafka-lab:dataVolumeGiB/ },
    { what: "a larger data volume", overrides: () => ({ "kafka-lab:dataVolumeGiB": "900" }) },
    { what: "a larger broker instance type", overrides: () => ({ "kafka-lab:brokerInstanceType": "m6i.2xlarge" }) },
    { what: "a newer image published", aws: () => ({ newerImage: true }) },
    { what: "a Local Zone opted in and a zone impaired", aws: (w) => ({ zones: [HAMBURG, { ...w.zones[0], state: "impaired" }, ...w.zones.slice(1)] }) },
    { what: "`pulumi up --replace` of a broker's instance", aws: () => ({ forceReplace: ["broker", "broker2"] }) },
    // With mtls inside: a new CA in one roll would split the cluster; its first phase only adds a CA and rolls.
    { what: "a new CA in one roll (mtls inside)", overrides: () => ({ "kafka-lab:credentialsGeneration": "2" }), refusedNaming: /kafka-lab:credentialsGeneration 2 on a cluster running with internalSecurity mtls.*kafka-lab:caRotation/, stacks: ["staging", "prod"] },
    { what: "a new CA's first phase (caRotation trust)", overrides: () => ({ "kafka-lab:credentialsGeneration": "2", "kafka-lab:caRotation": "trust" }), stacks: ["staging", "prod"], rolls: true },
];

for (const stack of STACKS) {
    for (const change of CHANGES.filter((c) => !c.stacks || c.stacks.includes(stack))) {
        test.serial(`${stack}, running: ${change.what} is ${change.refusedNaming ? "refused before anything changes, naming the key" : "handled: no data volume replaced, a replaced instance provisioned anew"}`, async (t) => {
            const first = await runProgram(stack);
            const opts = { overrides: change.overrides?.(stack), secrets: change.secrets, deployed: first.outputs };
            if (change.refusedNaming) {
                t.regex(await refused(t, stack, { ...opts, aws: { previous: first.world } }), change.refusedNaming);
                return;
            }
            const second = await runProgram(stack, { ...opts, aws: { previous: first.world, ...change.aws?.(first.world) } });
            t.deepEqual(awsViolations(second.world, { vpcId: labVpcId(second), eipQuota: 5 }), []);
            const diff = changes(first.world, second.world);
            const changed = (type: string, what: string) => [...diff].filter(([k, c]) => k.startsWith(`${type}::`) && c === what).map(([k]) => k.split("::")[1]);
            t.deepEqual([...changed("aws:ebs/volume:Volume", "replaced"), ...changed("aws:ebs/volume:Volume", "deleted")], [], "no data volume is replaced or deleted");
            for (const type of ["aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup"]) t.deepEqual(changed(type, "replaced"), [], `no ${type} replaced`);
            const replaced = changed("aws:ec2/instance:Instance", "replaced");
            for (const host of second.config.topology.hosts.map((h) => h.name)) {
                const steps = [...diff].filter(([k]) => k.startsWith("command:remote:") && k.split("::")[1].startsWith(`${host}-`));
                if (replaced.includes(host)) {
                    // A new machine: every step of it runs again, in order, from the first.
                    t.deepEqual(steps.filter(([, c]) => c !== "replaced").map(([k]) => k), [], `${host}: every step runs again`);
                    for (const type of ["aws:ec2/volumeAttachment:VolumeAttachment", "aws:ec2/eipAssociation:EipAssociation"]) {
                        const r = second.world.ofType(type).find((x) => x.inputs.instanceId === instanceOf(second, host).id);
                        if (r) t.true(diff.get(worldKey(type, r.name)) === "replaced" && r.options.deleteBeforeReplace, `${host}: ${r.name} re-attached, delete-first`);
                    }
                } else {
                    // Kept: its machine's first step does not run again (it runs only on a new machine), nor its broker
                    // start; a step runs again only when its own script changed (e.g. a grown volume's mount step).
                    for (const step of ["wait-ready", "kafka-broker"]) {
                        const c = diff.get(worldKey("command:remote:Command", `${host}-${step}`));
                        // A service's start step may be updated (its script names what it runs, e.g. its TLS files'
                        // digest): an update does nothing; the roll step restarts it.
                        const doesNothing = c === "updated" && step === "kafka-broker" && (await resolve(second.byName(`${host}-${step}`).inputs.update)) === NOTHING;
                        if (c && !doesNothing) t.is(c, "same", `${host}: kept, its ${step} step not run again`);
                    }
                }
            }
            if (change.aws?.(first.world)?.forceReplace) t.true(replaced.length > 0, "the forced replacement happened");
            if (change.rolls) {
                t.deepEqual(replaced, [], "no instance replaced");
                for (const b of second.config.topology.brokers) t.is(diff.get(worldKey("command:remote:Command", `${b.name}-kafka-roll`)), "updated", `${b.name}: rolled`);
            }
            // An instance EC2 can only change while stopped (its type, its user data) is stopped and started: only a
            // change of instance type does that, to every broker at once (README says so).
            const stopped = second.world
                .ofType("aws:ec2/instance:Instance")
                .filter((i) => diff.get(worldKey(i.type, i.name)) === "updated" && INSTANCE_STOPPED_BY.some((p) => JSON.stringify(first.world.get(i.type, i.name)!.inputs[p]) !== JSON.stringify(i.inputs[p])))
                .map((i) => i.name);
            t.deepEqual(stopped, change.what.includes("broker instance type") ? second.config.topology.brokers.map((b) => b.name) : [], "instances stopped and started");
            // Every step connects as the user of the image the instance actually runs (the ami is never updated).
            for (const host of second.config.topology.hosts.map((h) => h.name)) {
                const ami = instanceOf(second, host).state.ami;
                const family = Object.values(IMAGE_FAMILIES).find((f) => ami.startsWith(`ami-${f.owner}`))!;
                const connection = await resolve(second.byName(`${host}-wait-ready`).inputs.connection);
                t.is(connection.user, family.sshUser, `${host}: SSH as the image's own user`);
            }
        });
    }
}

test.serial("3 -> 5 brokers on a running KRaft cluster: two instances are added, nothing is replaced", async (t) => {
    const first = await runProgram("prod");
    t.is(first.config.topology.brokers.length, 3);
    const second = await runProgram("prod", { overrides: { "kafka-lab:brokers": "5" }, deployed: first.outputs, aws: { previous: first.world } });
    const diff = [...changes(first.world, second.world)];
    t.deepEqual(diff.filter(([k, c]) => c === "created" && k.startsWith("aws:ec2/instance:Instance")).map(([k]) => k.split("::")[1]), ["broker4", "broker5"]);
    t.deepEqual(diff.filter(([k, c]) => (c === "replaced" || c === "deleted") && !k.startsWith("command:")).map(([k]) => k), [], "no AWS resource replaced or deleted");
    // The steps that list the brokers run again (/etc/hosts, firewalls, clients' bootstrap, the topic); no
    // running broker is restarted for it.
    for (const b of ["broker1", "broker2", "broker3"]) {
        for (const step of ["wait-ready", "install-kafka", "kafka-broker", "kafka-roll"]) t.is(diff.find(([k]) => k === `command:remote:Command::${b}-${step}`)?.[1], "same", `${b}-${step}`);
    }
});

