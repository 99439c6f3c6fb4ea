// What a stack that already runs may not become in place. Kafka cannot shrink a cluster, change its
// controller quorum or ZooKeeper ensemble, or move from ZooKeeper to KRaft by a change of config: such a
// change is refused before anything is created, unless rebuildCluster says to rebuild (losing the data).
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, LabConfig, PROJECT } from "./config";
import { controllerCount, zookeeperCount } from "./topology";

/** What the stack's last deploy says of itself (its outputs); undefined before the first deploy. */
export interface DeployedLab {
    brokers?: number;
    metadata?: string;
    kafkaVersion?: string;
}

export function transitionProblems(deployed: DeployedLab | undefined, config: LabConfig): string[] {
    if (!deployed?.metadata || deployed.brokers === undefined || config.rebuildCluster) return [];
    const was = { brokers: deployed.brokers, metadata: deployed.metadata, version: deployed.kafkaVersion ?? "?" };
    const now = { brokers: config.topology.brokers.length, metadata: config.topology.metadata, version: config.kafka.version };
    const rebuild = `Set ${PROJECT}:rebuildCluster to true to rebuild the cluster instead (its data is lost), or destroy the stack and deploy it anew.`;
    const problems: string[] = [];
    if (was.metadata !== now.metadata) {
        problems.push(
            was.metadata === "zookeeper"
                ? `this stack runs Kafka ${was.version} in ZooKeeper mode; ${PROJECT}:kafkaVersion ${now.version} with ${PROJECT}:metadata kraft cannot take over its data in place (Kafka 4.x has no ZooKeeper mode, and a ZooKeeper cluster must first be migrated to KRaft on 3.9, which the lab does not do). Keep a 3.x kafkaVersion with metadata zookeeper. ${rebuild}`
                : `this stack runs in KRaft mode; ${PROJECT}:metadata zookeeper cannot take over its data in place. ${rebuild}`,
        );
    }
    if (now.brokers < was.brokers) {
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
    return problems;
}

/** Reads the stack's own last outputs (a stack reference to itself): what it runs now. */
export async function deployedLab(): Promise<DeployedLab | undefined> {
    const self = new pulumi.StackReference("deployed", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const read = async (name: string) => (await self.getOutputDetails(name)).value;
    const [brokers, metadata, kafkaVersion] = await Promise.all([read("brokers"), read("metadata"), read("kafkaVersion")]);
    if (metadata === undefined) {
        // Deployed before the cluster came (one broker, ZooKeeper), or never deployed.
        return kafkaVersion === undefined ? undefined : { brokers: 1, metadata: "zookeeper", kafkaVersion };
    }
    return { brokers: Number(brokers), metadata, kafkaVersion };
}

/** Refuses, before anything is created, a change the running cluster cannot take in place. */
export async function refuseImpossibleChange(config: LabConfig): Promise<void> {
    const problems = transitionProblems(await deployedLab(), config);
    if (problems.length) throw new ConfigError(problems);
}
