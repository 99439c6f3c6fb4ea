// The lab's topology as data, computed once from config: which hosts exist and what each one runs.
// Rendering, provisioning and the targets read it instead of naming "broker" in code (the shape of
// Strimzi's KafkaCluster model or cp-ansible's inventory groups). The guide's lab is the cluster with
// one broker: hosts `broker`, `producer`, `consumer`.

export type HostRole = "broker" | "controller" | "zookeeper" | "producer" | "consumer" | "monitoring";
export type MetadataMode = "zookeeper" | "kraft";
/**
 * KRaft: where the controllers run. combined: in the broker's own process (process.roles=broker,controller).
 * dedicated: a process of their own on the same machines (its own unit, properties, data dir and node id),
 * as Kafka's docs recommend for production and as a ZooKeeper migration needs.
 */
export type ControllerMode = "combined" | "dedicated";
/**
 * ZooKeeper to KRaft in place (KIP-866), one phase per `pulumi up` (Kafka 3.9). none: no migration.
 * dual-write: dedicated controllers (formatted with ZooKeeper's cluster id) copy the metadata, the brokers
 * become KRaft brokers; the controllers still write every change to ZooKeeper too. finalize: the controllers
 * leave ZooKeeper, which is stopped and removed: a KRaft cluster. rollback (from dual-write only): the brokers
 * back to ZooKeeper mode, the controllers removed, ZooKeeper's migration state cleared.
 */
export type KraftMigration = "none" | "dual-write" | "finalize" | "rollback";
export const KRAFT_MIGRATIONS: readonly KraftMigration[] = ["none", "dual-write", "finalize", "rollback"];

export interface LabHost {
    /** The hostname, and the name of the machine and of its steps: broker or broker1..N, producer, consumer. */
    name: string;
    roles: HostRole[];
    /** Kafka's broker.id / node.id (1..N), on brokers. */
    nodeId?: number;
    /** KRaft, dedicated controllers: the controller process's node.id (3001..3003), on controller hosts. */
    controllerId?: number;
    /** ZooKeeper's myid (1..3), on ZooKeeper nodes. */
    zookeeperId?: number;
    /** broker.rack, on brokers when racks are configured. */
    rack?: string;
}

export interface Topology {
    metadata: MetadataMode;
    /** KRaft: combined broker+controller processes or dedicated controller processes ("combined" in ZooKeeper mode). */
    controllerMode: ControllerMode;
    /** Brokers first (in node id order), then producer and consumer. */
    hosts: LabHost[];
    brokers: LabHost[];
    /** KRaft: the hosts of the controller quorum (combined nodes, or the machines of the dedicated controllers). */
    controllers: LabHost[];
    /** ZooKeeper mode: the ensemble's nodes. */
    zookeepers: LabHost[];
    /** The ZooKeeper to KRaft migration's phase ("none" without one; "finalize" stays for good after it). */
    migration: KraftMigration;
    /** finalize: the machines whose ZooKeeper the migration stops and removes. */
    retiredZookeepers: LabHost[];
    /**
     * Where Prometheus runs and scrapes from: the consumer machine. It is the lab's lightest (a Python client
     * now and then), already on the lab's network, and a machine of its own would cost a fourth VM per stack.
     */
    monitoring: LabHost;
    /** Default for every topic the lab creates, internal ones included: min(brokers, 3). */
    replicationFactor: number;
    /** min(2, RF) from three brokers on, else 1: acks=all then survives one broker down. */
    minInsyncReplicas: number;
}

/** KRaft controllers listen here, reachable from the lab's brokers only. */
export const CONTROLLER_PORT = 9093;
/** A dedicated controller's JMX, on its machine's loopback only: the migration's gate reads ZkMigrationState there. */
export const CONTROLLER_JMX_PORT = 9999;
/**
 * Metrics, each admitted only from the monitoring host: the JMX exporter agent in each JVM service (the
 * broker on Strimzi's port, its controller and ZooKeeper beside it on the next ones), node_exporter on every
 * machine. The lag exporter answers on the monitoring host's loopback only; Prometheus from adminCidrs.
 */
export const METRICS_PORTS = { broker: 9404, controller: 9405, zookeeper: 9406, node: 9100, lag: 9308 } as const;
export const PROMETHEUS_PORT = 9090;
/** A ZooKeeper ensemble's quorum (2888) and leader election (3888) ports, between its nodes only. */
export const ZOOKEEPER_PEER_PORTS = [2888, 3888];
/**
 * The bench's plain TCP stream from the producer to the broker (its network limit): the broker's
 * security group admits it from the producer's, firewalld only for the bench's duration.
 */
export const BENCH_STREAM_PORT = 5201;

/**
 * A dedicated controller's node.id: this base plus its place in the quorum (3001..3003), never a broker's id
 * (1..9), as Kafka's migration docs number theirs.
 */
export const DEDICATED_CONTROLLER_ID_BASE = 3000;

/** The most brokers a lab may have: node ids and names stay one digit (broker1..broker9). */
export const MAX_BROKERS = 9;

export function brokerNames(count: number): string[] {
    return count === 1 ? ["broker"] : Array.from({ length: count }, (_, i) => `broker${i + 1}`);
}

/** ZooKeeper mode: a three-node ensemble on the first three brokers from three brokers on, else one node. */
export function zookeeperCount(brokers: number): number {
    return brokers >= 3 ? 3 : 1;
}

/** KRaft: the controllers (combined or dedicated) are on the first min(N, 3) broker machines. */
export function controllerCount(brokers: number): number {
    return Math.min(brokers, 3);
}

export function labTopology(brokers: number, metadata: MetadataMode, racks: string[] = [], controllerMode: ControllerMode = "combined", migration: KraftMigration = "none"): Topology {
    // A migration runs ZooKeeper (until finalize) and dedicated controllers side by side.
    const migrating = migration === "dual-write" || migration === "rollback";
    if (migration !== "none") controllerMode = "dedicated";
    const dedicated = (metadata === "kraft" || migrating) && controllerMode === "dedicated";
    const brokerHosts: LabHost[] = brokerNames(brokers).map((name, i) => {
        const roles: HostRole[] = ["broker"];
        const controller = (metadata === "kraft" || migrating) && i < controllerCount(brokers);
        if (controller) roles.push("controller");
        const zookeeperId = metadata === "zookeeper" && i < zookeeperCount(brokers) ? i + 1 : undefined;
        if (zookeeperId) roles.push("zookeeper");
        const controllerId = controller && dedicated ? DEDICATED_CONTROLLER_ID_BASE + i + 1 : undefined;
        return { name, roles, nodeId: i + 1, controllerId, zookeeperId, rack: racks[i] || undefined };
    });
    const monitoring: LabHost = { name: "consumer", roles: ["consumer", "monitoring"] };
    const hosts: LabHost[] = [...brokerHosts, { name: "producer", roles: ["producer"] }, monitoring];
    const replicationFactor = Math.min(brokers, 3);
    return {
        metadata,
        controllerMode: dedicated ? "dedicated" : "combined",
        hosts,
        brokers: brokerHosts,
        controllers: brokerHosts.filter((h) => h.roles.includes("controller")),
        zookeepers: brokerHosts.filter((h) => h.roles.includes("zookeeper")),
        migration,
        retiredZookeepers: migration === "finalize" ? brokerHosts.slice(0, zookeeperCount(brokers)) : [],
        monitoring,
        replicationFactor,
        minInsyncReplicas: brokers >= 3 ? Math.min(2, replicationFactor) : 1,
    };
}

export const hasRole = (host: LabHost, role: HostRole) => host.roles.includes(role);

/** The node.id of the controller on a controller host: its own process's when dedicated, else the broker's. */
export const controllerNodeId = (host: LabHost) => host.controllerId ?? host.nodeId!;
/** The host runs a dedicated controller process (its own unit, properties and data dir). */
export const runsDedicatedController = (host: LabHost) => host.controllerId !== undefined;
/** The host's dedicated controller runs once this deploy is done: a rollback keeps the role (its steps retire the controller) but not the process. */
export const keepsDedicatedController = (topology: Topology, host: LabHost) => runsDedicatedController(host) && topology.migration !== "rollback";
/** The host's broker process is a controller too (controllers: combined). */
export const runsCombinedController = (host: LabHost) => hasRole(host, "controller") && !runsDedicatedController(host);
