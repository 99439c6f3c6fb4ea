// What the lab's Prometheus scrapes, as data from the topology: each exporter (job) with its targets by
// the machines' lab names. Rendering (the Prometheus configuration, the firewall, the units) reads it.
import { LabHost, METRICS_PORTS, Topology, hasRole, keepsDedicatedController } from "./topology";

/** On every JVM service's machine: the JMX exporter agent and its rules. */
export const AGENT_JAR = "/opt/kafka-lab/lib/jmx_prometheus_javaagent.jar";
export const AGENT_RULES = "/etc/kafka-lab/jmx-exporter.yaml";
/** On the monitoring host. */
export const PROMETHEUS_CONFIG_DIR = "/etc/kafka-lab/prometheus";
export const PROMETHEUS_DATA_DIR = "/var/lib/kafka-lab-prometheus";
export const LAG_EXPORTER = "/opt/kafka-lab/monitoring/lag-exporter.py";
/** The consumer group the lag alert watches: the guide's. */
export const WATCHED_GROUP = "my-group";
/** Strimzi's threshold: more than this many messages behind for a minute. */
export const LAG_ALERT_THRESHOLD = 1000;
export const DISK_ALERT_RATIO = 0.8;

export type ScrapeJob = "kafka" | "kafka-controller" | "zookeeper" | "node" | "lag";
export interface ScrapeTarget {
    host: string;
    port: number;
}

/**
 * Every exporter of the lab by job: a broker's agent on each broker, a dedicated controller's and
 * ZooKeeper's beside it, node_exporter on every machine, the lag exporter on the monitoring host.
 */
export function scrapeTargets(topology: Topology): Record<ScrapeJob, ScrapeTarget[]> {
    const on = (hosts: { name: string }[], port: number) => hosts.map((h) => ({ host: h.name, port }));
    return {
        kafka: on(topology.brokers, METRICS_PORTS.broker),
        "kafka-controller": on(topology.controllers.filter((c) => keepsDedicatedController(topology, c)), METRICS_PORTS.controller),
        zookeeper: on(topology.zookeepers, METRICS_PORTS.zookeeper),
        node: on(topology.hosts, METRICS_PORTS.node),
        lag: on([topology.monitoring], METRICS_PORTS.lag),
    };
}

/** The exporter ports of a host that the monitoring host scrapes over the network (the lag exporter is local). */
export function exporterPorts(topology: Topology, hostName: string): number[] {
    const targets = scrapeTargets(topology);
    return (["kafka", "kafka-controller", "zookeeper", "node"] as const).flatMap((job) => targets[job].filter((t) => t.host === hostName).map((t) => t.port));
}

/** The host runs a JVM service that loads the JMX exporter agent. */
export const runsJvmService = (host: LabHost) => hasRole(host, "broker");
