// What a stack that already runs may not become in place. Kafka cannot shrink a cluster, change its
// controller quorum or ZooKeeper ensemble, or move from ZooKeeper to KRaft by a change of config: such a
// change is refused before anything is created, unless rebuildCluster says to rebuild (losing the data).
// On AWS, neither may anything that would replace every instance or move the data volumes (the region,
// the image family, the network, the zones, the key pair) nor shrink a volume; these no flag lifts.
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, IMAGE_FAMILIES, ImageFamily, LabConfig, PROJECT } from "./config";
import { CertificateAuthority, deployedAuthorities } from "./credentials";
import { controllerCount, zookeeperCount } from "./topology";

/** What an AWS stack's last deploy ran on: its `aws` output. */
export interface DeployedAws {
    region: string;
    imageFamily: string;
    /** The zones its subnets are in, in the brokers' order. */
    zones: string[];
    vpcCidr: string;
    subnetCidr: string;
    /** The configured network ("" and [] when the stack made its own). */
    vpcId: string;
    subnetIds: string[];
    /** The user's own public key ("" when the stack generated its key pair). */
    sshPublicKey: string;
    dataVolumeGiB: number;
}

/** What the stack's last deploy says of itself (its outputs); undefined before the first deploy. */
export interface DeployedLab {
    target?: string;
    brokers?: number;
    metadata?: string;
    /** KRaft: combined or dedicated controllers (a stack deployed before the choice existed: combined). */
    controllers?: string;
    /** The ZooKeeper to KRaft migration's phase it ran last ("none", or absent before migrations existed). */
    kraftMigration?: string;
    kafkaVersion?: string;
    /** internalSecurity (absent before it existed: plaintext). */
    internalSecurity?: string;
    /** credentialsGeneration: the stack's CA (absent before it was an output). */
    credentialsGeneration?: number;
    externalSecurity?: string;
    /** The CAs it holds, the old first during a rotation (absent before the output existed: see deployedAuthorities). */
    certificateAuthorities?: CertificateAuthority[];
    /** caRotation's phase it ran last (absent: none). */
    caRotation?: string;
    aws?: DeployedAws;
}

/** The deployed AWS machines' and network's inputs that no change may touch: each would replace them all. */
function awsProblems(was: DeployedAws, config: LabConfig): string[] {
    const now = config.aws!;
    const problems: string[] = [];
    const anew = "Destroy the stack and deploy it anew (its data is lost), or deploy the change as another stack.";
    if (now.region !== was.region) problems.push(`aws:region ${now.region} on a stack deployed in ${was.region}: every resource would be made anew in ${now.region} and the brokers' data volumes left behind. ${anew}`);
    if (now.imageFamily !== was.imageFamily) {
        const [from, to] = [IMAGE_FAMILIES[was.imageFamily as ImageFamily], IMAGE_FAMILIES[now.imageFamily]];
        problems.push(
            `${PROJECT}:imageFamily ${now.imageFamily} on a stack whose machines run ${was.imageFamily}: a running instance keeps its image (a newer image never replaces a provisioned machine), so the machines would stay ${was.imageFamily} while SSH logs in as ${to.sshUser}${from ? ` instead of ${from.sshUser}` : ""}. Keep ${PROJECT}:imageFamily ${was.imageFamily}. ${anew}`,
        );
    }
    const network: [string, string, string][] = [
        ["vpcId", was.vpcId, now.vpcId ?? ""],
        ["subnetIds", was.subnetIds.join(","), now.vpcId ? now.subnetIds.join(",") : ""],
    ];
    if (!was.vpcId && !now.vpcId) {
        network.push(["vpcCidr", was.vpcCidr, now.vpcCidr], ["subnetCidr", was.subnetCidr, now.subnetCidr]);
        // Zones left unset keep the deployed ones.
        if (now.zones.length) network.push(["zones", was.zones.join(","), now.zones.join(",")]);
    }
    for (const [k, before, after] of network) {
        if (before !== after) {
            problems.push(`${PROJECT}:${k} ${after || "(none)"} on a stack deployed with ${before || "(none)"}: every subnet would move, and with it every instance and the brokers' data volumes (a volume cannot leave its zone). ${anew}`);
        }
    }
    if ((now.sshPublicKey ?? "") !== was.sshPublicKey) {
        problems.push(
            `${PROJECT}:sshPublicKey ${now.sshPublicKey ? "set to another key" : "removed"} on a running stack: EC2 puts a key pair on an instance only at launch, so a new key pair replaces every instance at once (all brokers down together). Keep the key the stack was deployed with (${was.sshPublicKey ? "your own" : "the generated one: leave sshPublicKey unset"}). ${anew}`,
        );
    }
    if (now.dataVolumeGiB < was.dataVolumeGiB) problems.push(`${PROJECT}:dataVolumeGiB ${now.dataVolumeGiB} is smaller than the deployed ${was.dataVolumeGiB} GiB: EBS volumes can grow, never shrink. Keep ${was.dataVolumeGiB} or more.`);
    return problems;
}

export function transitionProblems(deployed: DeployedLab | undefined, config: LabConfig): string[] {
    if (deployed?.target && deployed.target !== config.target) {
        return [`${PROJECT}:target ${config.target} on a stack deployed to ${deployed.target}: its machines cannot move to another target. Destroy the stack first, or deploy to ${config.target} as another stack.`];
    }
    const aws = deployed?.aws && config.target === "aws" ? awsProblems(deployed.aws, config) : [];
    const internalWas = deployed?.kafkaVersion === undefined ? undefined : (deployed.internalSecurity ?? "plaintext");
    if (internalWas && internalWas !== config.security.internal && !config.rebuildCluster) {
        // Not yet rolled in place (Kafka's order: the TLS listener beside the plaintext one, inter-broker traffic
        // moved, then plaintext removed): every node and client would change at once, the cluster down meanwhile.
        aws.push(
            `${PROJECT}:internalSecurity ${config.security.internal} on a cluster running with ${internalWas}: the lab does not yet switch a running cluster's internal and controller listeners (every node, tool and client would change at once, with the cluster unreachable in between). Keep ${internalWas}, or set ${PROJECT}:rebuildCluster to true to rebuild the cluster with ${config.security.internal} (its data is lost), or deploy ${config.security.internal} as a new stack.`,
        );
    }
    aws.push(...rotationProblems(deployed, config, internalWas));
    if (!deployed?.metadata || deployed.brokers === undefined || config.rebuildCluster) return aws;
    const was = { brokers: deployed.brokers, metadata: deployed.metadata, version: deployed.kafkaVersion ?? "?" };
    const now = { brokers: config.topology.brokers.length, metadata: config.topology.metadata, version: config.kafka.version };
    const rebuild = `Set ${PROJECT}:rebuildCluster to true to rebuild the cluster instead (its data is lost), or destroy the stack and deploy it anew${config.target === "local" ? " (the local lab: npm run lab -- down, then npm run lab)" : ""}.`;
    const problems: string[] = [];
    const migrationWas = deployed.kraftMigration ?? "none";
    const migrationNow = config.topology.migration;
    const phases = `${PROJECT}:kraftMigration dual-write, then finalize (one pulumi up each, on Kafka 3.9.x; see README "Day two")`;
    const migrating = migrationWas !== "none" || migrationNow !== "none";
    if (migrating) problems.push(...migrationProblems(migrationWas, migrationNow, was, now));
    if (was.metadata !== now.metadata && !(migrationWas === "dual-write" && migrationNow === "finalize")) {
        problems.push(
            was.metadata === "zookeeper"
                ? `this stack runs Kafka ${was.version} in ZooKeeper mode; ${PROJECT}:kafkaVersion ${now.version} with ${PROJECT}:metadata kraft cannot take over its data directly (Kafka 4.x has no ZooKeeper mode). Migrate it in place instead: ${phases}, then the 4.x kafkaVersion. ${rebuild}`
                : `this stack runs in KRaft mode; ${PROJECT}:metadata zookeeper cannot take over its data in place. ${rebuild}`,
        );
    }
    const controllersWere = deployed.controllers ?? "combined";
    if (was.metadata === "kraft" && now.metadata === "kraft" && controllersWere !== config.topology.controllerMode) {
        problems.push(
            `${PROJECT}:controllers ${config.topology.controllerMode} on a cluster whose controllers are ${controllersWere}: the controller quorum (its node ids and the processes that vote) is fixed when a KRaft cluster is made, and the lab does not move it. Keep ${controllersWere}. ${rebuild}`,
        );
    }
    if (was.version !== "?" && olderRelease(now.version, was.version)) {
        const why =
            now.metadata === "kraft"
                ? "its upgrade raised metadata.version, which Kafka does not lower again"
                : "its brokers speak the newer release's inter.broker.protocol.version, which an older release does not know";
        problems.push(`${PROJECT}:kafkaVersion ${now.version} is older than the running ${was.version}: the lab upgrades in place, never back (${why}). Keep ${was.version} or a newer release. ${rebuild}`);
    }
    if (migrating && now.brokers !== was.brokers && !(migrationWas === "finalize" && migrationNow === "finalize")) {
        problems.push(`${PROJECT}:brokers ${was.brokers} -> ${now.brokers} during a ZooKeeper to KRaft migration: the lab keeps the brokers as they are until it is finalized. Keep ${was.brokers}.`);
    } else if (now.brokers < was.brokers) {
        problems.push(`${PROJECT}:brokers ${now.brokers} would remove brokers from the running ${was.brokers}-broker cluster, and with them replicas the lab does not move first. ${rebuild}`);
    } else if (now.brokers > was.brokers) {
        if (was.brokers === 1) {
            problems.push(`${PROJECT}:brokers ${now.brokers} would turn the one-broker lab (host broker) into a cluster of broker1..broker${now.brokers}: new machines, another controller set. ${rebuild}`);
        } else if (now.metadata === "kraft" && controllerCount(now.brokers) !== controllerCount(was.brokers)) {
            problems.push(`${PROJECT}:brokers ${was.brokers} -> ${now.brokers} changes the KRaft controller quorum (${controllerCount(was.brokers)} -> ${controllerCount(now.brokers)} controllers), which is fixed when the cluster is made. Brokers can be added from three on. ${rebuild}`);
        } else if (now.metadata === "zookeeper" && zookeeperCount(now.brokers) !== zookeeperCount(was.brokers)) {
            problems.push(`${PROJECT}:brokers ${was.brokers} -> ${now.brokers} changes the ZooKeeper ensemble (${zookeeperCount(was.brokers)} -> ${zookeeperCount(now.brokers)} nodes). Brokers can be added from three on. ${rebuild}`);
        }
    }
    return [...aws, ...problems];
}

/**
 * What a CA rotation's phases allow. With mtls every node must trust the CA of every certificate it is shown,
 * so a new CA goes in three rolls: trusted beside the old (trust), issuing (reissue), alone (none). A new CA
 * in one roll (a new generation without caRotation) splits a running mtls cluster: refused.
 */
function rotationProblems(deployed: DeployedLab | undefined, config: LabConfig, internalWas: string | undefined): string[] {
    const key = `${PROJECT}:caRotation`;
    const gen = `${PROJECT}:credentialsGeneration`;
    const { generation, caRotation: phase } = config.security;
    const [old, next] = deployedAuthorities(deployed);
    const phaseWas = deployed?.caRotation ?? "none";
    if (!old) return phase === "none" ? [] : [`${key} ${phase} on a stack with no CA deployed yet: there is nothing to rotate. Deploy it with ${key} none first.`];
    if (!next) {
        if (phase === "reissue") return [`${key} reissue before trust: the nodes would be shown certificates of a CA they do not trust yet. Set ${key} trust (with ${gen} ${old.generation + 1}) first, one pulumi up, then reissue.`];
        if (phase === "trust" && generation === old.generation) return [`${key} trust with ${gen} ${generation}, the generation already running: set ${gen} to ${old.generation + 1} (the new CA's) with it.`];
        const splits = phase === "none" && generation !== old.generation && internalWas === "mtls" && config.security.internal === "mtls" && !config.rebuildCluster;
        return splits
            ? [
                  `${gen} ${generation} on a cluster running with internalSecurity mtls (generation ${old.generation}): a new CA in one roll would cut each restarted node off from the others. Roll it in with ${key}: trust (with ${gen} ${generation}), then reissue, then none, one pulumi up each (README "Inside the lab"). Or keep ${old.generation}; renew the certificates with ${PROJECT}:certificatesGeneration (same CA), or set ${PROJECT}:rebuildCluster to true (the data is lost).`,
              ]
            : [];
    }
    const under = `a rotation from generation ${old.generation} to ${next.generation} is under way (${key} ${phaseWas})`;
    if (generation !== next.generation && !(phase === "none" && generation === old.generation)) {
        return [`${gen} ${generation} while ${under}: keep ${gen} ${next.generation} and finish it (${key} reissue, then none), or, from trust, go back to ${old.generation} with ${key} none.`];
    }
    if (phase === "none" && generation === next.generation && phaseWas !== "reissue") {
        return [`${key} none while ${under}: the certificates are still the old CA's, which none would stop trusting. Set ${key} reissue first, one pulumi up, then none.`];
    }
    if (phase === "none" && generation === old.generation && phaseWas !== "trust") {
        return [`${gen} ${generation} with ${key} none while ${under}: the certificates are already the new CA's, which going back would stop trusting. Set ${key} trust (certificates of the old CA again, both trusted) first, then ${gen} ${old.generation} with ${key} none; or finish the rotation with ${key} none.`];
    }
    return [];
}

/** What a ZooKeeper to KRaft migration's phases allow: dual-write from ZooKeeper mode on 3.9, then finalize or rollback, never back from finalize. */
function migrationProblems(from: string, to: string, was: { metadata: string; version: string }, now: { version: string }): string[] {
    const key = `${PROJECT}:kraftMigration`;
    if (from === to) {
        return from !== "finalize" && now.version !== was.version ? [`${PROJECT}:kafkaVersion ${now.version} during the migration's ${from} phase: the release stays ${was.version} until the migration is finalized (Kafka forbids a release or metadata.version change meanwhile). Keep ${was.version}.`] : [];
    }
    const phaseVersion = now.version !== was.version ? [`${PROJECT}:kafkaVersion ${now.version} with ${key} ${to}: a phase of the migration runs on the release it started on (${was.version}); change the release in a pulumi up of its own.`] : [];
    const allowed: Record<string, string[]> = { none: ["dual-write"], "dual-write": ["finalize", "rollback"], rollback: ["none"], finalize: [] };
    if ((allowed[from] ?? []).includes(to)) {
        if (from === "none" && was.metadata !== "zookeeper") return [`${key} dual-write on a cluster that already runs in KRaft mode: there is nothing to migrate. Remove ${key}.`];
        return phaseVersion;
    }
    const why: Record<string, string> = {
        none: `the migration starts with ${key} dual-write (then finalize, or rollback); it is ${to} on a cluster that has not started one`,
        "dual-write": `from dual-write the migration goes on to finalize, or back with rollback`,
        rollback: `after a rollback, set ${key} none (a pulumi up), then dual-write again to start over`,
        finalize: `a finalized migration cannot be undone: ZooKeeper is gone and the metadata lives in the controllers' log only. Keep ${key} finalize`,
    };
    return [`${key} ${to} after ${from}: ${why[from] ?? "an unknown phase"}.`];
}

/** Release a is older than release b (x.y.z, compared as numbers). */
export function olderRelease(a: string, b: string): boolean {
    const [x, y] = [a, b].map((v) => v.split(".").map(Number));
    for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
    return false;
}

/** Reads the stack's own last outputs (a stack reference to itself): what it runs now. */
export async function deployedLab(): Promise<DeployedLab | undefined> {
    const self = new pulumi.StackReference("deployed", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const read = async (name: string) => (await self.getOutputDetails(name)).value;
    const [target, brokers, metadata, controllers, kraftMigration, kafkaVersion, internalSecurity, externalSecurity, credentialsGeneration, certificateAuthorities, caRotation, aws] = await Promise.all([
        read("target"), read("brokers"), read("metadata"), read("controllers"), read("kraftMigration"), read("kafkaVersion"),
        read("internalSecurity"), read("externalSecurity"), read("credentialsGeneration"), read("certificateAuthorities"), read("caRotation"), read("aws"),
    ]);
    if (kafkaVersion === undefined) return undefined;
    // Deployed before the cluster came: one broker, ZooKeeper.
    if (metadata === undefined) return { target, brokers: 1, metadata: "zookeeper", kafkaVersion, aws };
    return { target, brokers: Number(brokers), metadata, controllers, kraftMigration, kafkaVersion, internalSecurity, externalSecurity, credentialsGeneration, certificateAuthorities, caRotation, aws };
}

/** Refuses, before anything is created, a change the running stack cannot take in place. */
export function refuseImpossibleChange(config: LabConfig, deployed: DeployedLab | undefined): void {
    const problems = transitionProblems(deployed, config);
    if (problems.length) throw new ConfigError(problems);
}
