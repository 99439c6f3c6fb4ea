// Provisioning over SSH, written once for every target: each step of templates/scripts becomes one
// @pulumi/command remote command, run in order per host, run again only when its rendered script or
// the machine under it changes. The hosts and their steps come from the topology.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { DeliveredArtifact, DeliveredFile } from "./artifact";
import { LabConfig } from "./config";
import { LabCredentials } from "./credentials";
import { LabMachines, labAddresses } from "./machines";
import type { LabHost } from "./topology";
import { runsJvmService } from "./monitoring";
import { HostCredentials, ProvisionContext, StepName, identitiesOf, renderStep, renderUninstall, stagedAgentPath, stagedUploadPath, stagedWheelPath, stepsFor } from "./render";

export interface LabProvisioningArgs {
    config: LabConfig;
    lab: LabMachines;
    /** How the Kafka tarball reaches the machines, and its expected SHA-512. */
    artifact: DeliveredArtifact;
    /** The JMX exporter agent, checked on the deploying machine, uploaded to the machines of JVM services. */
    agent: DeliveredFile;
    /** kafka-python's wheel, uploaded to the client machines (the example clients, the lag exporter). */
    clientWheel: DeliveredFile;
    /** KRaft: the cluster's id, kept in the stack's state ("" in ZooKeeper mode). */
    clusterId: pulumi.Input<string>;
    /** externalSecurity sasl_ssl or internalSecurity mtls: the stack's CA, certificates and SCRAM passwords. */
    credentials?: LabCredentials;
}

/**
 * A step's command line: the script arrives on stdin and runs as root, directly when the SSH user is
 * root, else through sudo, which must not ask for a password (-n: a clear error instead of a hang).
 */
export function runAsRoot(...args: string[]): string {
    const argv = args.length ? ` -- ${args.join(" ")}` : "";
    return (
        `if [ "$(id -u)" -eq 0 ]; then exec bash -s${argv}; fi; ` +
        `if ! sudo -n true 2>/dev/null; then echo "kafka-lab: user $(id -un) on $(hostname) needs sudo without a password (sudo asked for one, or is missing)" >&2; exit 1; fi; ` +
        `exec sudo -n bash -s${argv}`
    );
}
export const RUN_AS_ROOT = runAsRoot();
/**
 * A command that does nothing but read the step's script from stdin. The provider writes stdin while the
 * command runs: a bare `true` can exit first, and the write then fails the step with "EOF" (seen once in a
 * roll, on broker1's kafka-broker update).
 */
export const NOTHING = "cat >/dev/null";

/** A new machine's sshd may take a while: dial again, but a bounded number of times (about 3 minutes). */
export const DIAL_ERROR_LIMIT = 40;
export const PER_DIAL_TIMEOUT = 15;
/** No step may hang a deploy: the slowest (a package install, Kafka's first start) takes a few minutes. */
export const STEP_TIMEOUTS: pulumi.CustomTimeouts = { create: "20m", update: "20m", delete: "10m" };

/**
 * The steps that start or restart a service, with the arguments of their script. A new machine starts its
 * service (side by side with the others): a changed setting or release is an update, which leaves it
 * running. The roll steps then restart one node after the other where it runs another configuration:
 * ZooKeeper first, then the brokers (a ZooKeeper-mode upgrade keeps their protocol until kafka-protocol).
 */
const SERVICE_STEPS: Partial<Record<StepName, { create: string[]; update: string[] | "nothing" }>> = {
    zookeeper: { create: ["start"], update: "nothing" },
    "zookeeper-roll": { create: ["roll"], update: ["roll"] },
    "kafka-controller": { create: ["start"], update: "nothing" },
    "kafka-controller-roll": { create: ["roll"], update: ["roll"] },
    "kafka-broker": { create: ["start"], update: "nothing" },
    "kafka-migrate": { create: ["migrate"], update: ["migrate"] },
    "kafka-roll": { create: ["roll", "pin-protocol"], update: ["roll", "pin-protocol"] },
    "kafka-protocol": { create: ["roll"], update: ["roll"] },
};

export class LabProvisioning extends pulumi.ComponentResource {
    /** The commands of each host (by host name), in order; the last one of a host means that host is ready. */
    readonly steps: Record<string, command.remote.Command[]>;

    constructor(name: string, args: LabProvisioningArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:index:Provisioning", name, {}, opts);
        const { config, lab } = args;
        const topology = config.topology;
        const hostNames = topology.hosts.map((h) => h.name);
        const addresses = labAddresses(lab, hostNames);

        this.steps = Object.fromEntries(hostNames.map((n) => [n, []]));
        /** The last resource of each host's chain, which its next step waits for. */
        const previous: Record<string, pulumi.Resource[]> = Object.fromEntries(hostNames.map((n) => [n, lab.machines[n].ready]));

        // What every step of a host shares: its machine, how to reach it, and what its scripts are rendered from.
        const perHost = Object.fromEntries(
            hostNames.map((n) => {
                const machine = lab.machines[n];
                const connection: command.types.input.remote.ConnectionArgs = {
                    host: machine.sshHost,
                    hostKey: machine.hostKey,
                    port: lab.sshPort,
                    user: lab.sshUser,
                    privateKey: lab.sshPrivateKey,
                    dialErrorLimit: DIAL_ERROR_LIMIT,
                    perDialTimeout: PER_DIAL_TIMEOUT,
                };
                // Each host gets the secrets of what it holds: a broker its external keystore, the first broker (which
                // sets the SCRAM users) the passwords; with mtls each Kafka node its own keystore, the first broker the
                // admin's, the client machines the client's. A step whose script holds one keeps it encrypted in the state.
                const c = args.credentials;
                const first = n === topology.brokers[0].name;
                const holds = identitiesOf(config, n);
                const internal = c?.internal;
                const credentials: pulumi.Output<HostCredentials> | undefined = c
                    ? pulumi.output({
                          keystore: c.keystores[n] ?? "",
                          adminPassword: first && config.security.external === "sasl_ssl" ? c.adminPassword : "",
                          clientPassword: first && config.security.external === "sasl_ssl" ? c.clientPassword : "",
                          caCertificate: internal ? c.caCertificate : "",
                          nodeKeystore: internal && holds.includes("node") ? internal.nodes[n] : "",
                          clientKeystore: internal && holds.includes("client") ? internal.client : "",
                          adminKeystore: internal && holds.includes("admin") ? internal.admin : "",
                      })
                    : undefined;
                const ctx: pulumi.Output<ProvisionContext> = pulumi
                    .all([addresses, machine.dataDevices ?? [], args.clusterId, machine.rack ?? "", credentials])
                    .apply(([addresses, dataDevices, clusterId, rack, credentials]) => ({
                        config,
                        addresses,
                        dataDevices,
                        dataVolumeGiB: machine.dataVolumeGiB ?? 0,
                        clusterId,
                        rack,
                        artifact: args.artifact,
                        agent: args.agent,
                        clientWheel: args.clientWheel,
                        credentials,
                    }));
                return [n, { machine, connection, ctx }];
            }),
        );

        const labHostNamed = (name: string) => topology.hosts.find((h) => h.name === name)!;
        const addStep = (hostName: string, step: StepName, alsoAfter: pulumi.Resource[] = []) => {
            const { machine, connection, ctx } = perHost[hostName];
            const options = (dependsOn: pulumi.Resource[]): pulumi.CustomResourceOptions => ({ parent: this, dependsOn, customTimeouts: STEP_TIMEOUTS });
            if (step === "stage-kafka" && args.artifact.upload) {
                // The tarball the deploying machine has checked, uploaded; the step then verifies it on the machine.
                previous[hostName] = [
                    new command.remote.CopyToRemote(
                        `${hostName}-upload-kafka`,
                        {
                            connection,
                            source: new pulumi.asset.FileAsset(args.artifact.upload),
                            remotePath: stagedUploadPath(config),
                            triggers: [args.artifact.sha512, machine.identity],
                        },
                        options(previous[hostName]),
                    ),
                ];
            }
            // The JMX exporter agent (to the machines of JVM services) and kafka-python's wheel (to the clients'),
            // as the deploying machine checked them, uploaded beside the steps once the machine answers; the step
            // that uses one checks it again on the machine.
            const pinnedUpload =
                step === "exporters" && runsJvmService(labHostNamed(hostName))
                    ? { name: "jmx-exporter", file: args.agent, path: stagedAgentPath() }
                    : step === "clients"
                      ? { name: "kafka-python", file: args.clientWheel, path: stagedWheelPath() }
                      : undefined;
            const uploaded = pinnedUpload
                ? [
                      new command.remote.CopyToRemote(
                          `${hostName}-upload-${pinnedUpload.name}`,
                          { connection, source: new pulumi.asset.FileAsset(pinnedUpload.file.upload), remotePath: pinnedUpload.path, triggers: [pinnedUpload.file.sha256, machine.identity] },
                          options([this.steps[hostName][0]]),
                      ),
                  ]
                : [];
            const rendered = ctx.apply((c) => renderStep(step, hostName, c));
            const service = SERVICE_STEPS[step];
            const commandArgs: command.remote.CommandArgs = service
                ? { connection, create: runAsRoot(...service.create), update: service.update === "nothing" ? NOTHING : runAsRoot(...service.update), stdin: rendered.script, triggers: [machine.identity] }
                : // A new script, or a new machine under the same name, runs the step (again).
                  { connection, create: RUN_AS_ROOT, stdin: rendered.script, triggers: [rendered.fingerprint, machine.identity] };
            // The previous run's output is of no use to the next, and sshd would refuse the variables.
            const cmd = new command.remote.Command(`${hostName}-${step}`, { ...commandArgs, addPreviousOutputInEnv: false }, options([...new Set([...previous[hostName], ...uploaded, ...alsoAfter])]));
            this.steps[hostName].push(cmd);
            previous[hostName] = [cmd];
            if (step === "wait-ready" && lab.uninstallOnDestroy) {
                // Every later step depends on it, so on destroy it goes last: it removes what they installed.
                // A remote command has one stdin for create and delete alike; create reads and ignores it. No triggers:
                // replaced, it would uninstall from the new machine at the same address after provisioning.
                const uninstall = renderUninstall(config, lab.uninstallOnDestroy.purgeData);
                previous[hostName] = [
                    new command.remote.Command(
                        `${hostName}-uninstall-on-destroy`,
                        { connection, create: NOTHING, delete: RUN_AS_ROOT, stdin: uninstall, addPreviousOutputInEnv: false },
                        options(previous[hostName]),
                    ),
                ];
            }
            return cmd;
        };

        // Each host's own steps, side by side across hosts, up to the ones that need the whole cluster.
        const clusterSteps: StepName[] = [
            "zookeeper", "zookeeper-roll", "kafka-controller", "kafka-controller-roll", "kafka-broker", "kafka-migrate", "migration-copied", "kafka-controller-retire",
            "zookeeper-unmigrate", "kafka-roll", "kafka-protocol", "migration-finalized", "zookeeper-retire", "internal-acls", "features", "topic", "scram-acls",
        ];
        const plan = Object.fromEntries(hostNames.map((n) => [n, stepsFor(config, n, lab.machines[n].dataDevices !== undefined)]));
        for (const n of hostNames) for (const step of plan[n].filter((s) => !clusterSteps.includes(s))) addStep(n, step);
        /** Runs `step` on each host in turn, each after the one before (and after `first`). */
        const chain = (hosts: { name: string }[], step: StepName, first: pulumi.Resource[]) => {
            const chained: command.remote.Command[] = [];
            for (const h of hosts) chained.push(addStep(h.name, step, chained.length ? chained.slice(-1) : first));
            return chained;
        };
        // ZooKeeper's nodes start side by side (an ensemble forms only with its majority), then a changed
        // setting or release rolls through them one at a time. Dedicated KRaft controllers are the same: side by
        // side, then rolled one at a time. Then the brokers start, side by side; a change rolls through them one
        // after the other (KRaft: the controllers, broker1..3, first); in ZooKeeper mode a second roll raises the
        // protocol, in KRaft the features are raised. Then the topic, once all are up.
        const first = topology.brokers[0].name;
        const migration = topology.migration;
        const zookeeperStarts = topology.zookeepers.map((z) => addStep(z.name, "zookeeper"));
        const zookeeperRolls = chain(topology.zookeepers, "zookeeper-roll", zookeeperStarts);
        /** The hosts whose plan has `step` (stepsFor decides which run what; the chains here only order them). */
        const planned = (hosts: LabHost[], step: StepName) => hosts.filter((h) => plan[h.name].includes(step));
        const dedicated = planned(topology.controllers, "kafka-controller");
        const controllerStarts = dedicated.map((c) => addStep(c.name, "kafka-controller"));
        const controllerRolls = chain(dedicated, "kafka-controller-roll", controllerStarts);
        for (const broker of topology.brokers) addStep(broker.name, "kafka-broker", [...zookeeperRolls.slice(-1), ...controllerRolls.slice(-1)]);
        // A migration's phase rolls the brokers twice (see stepsFor). dual-write: the first roll registers them
        // with the controllers, which copy the metadata; the second makes them KRaft brokers. rollback: the first
        // takes them back to ZooKeeper mode, the controllers go and ZooKeeper's migration state is cleared, the
        // second drops the migration's settings.
        let beforeRoll: pulumi.Resource[] = [];
        if (migration === "dual-write" || migration === "rollback") {
            const migrated = chain(topology.brokers, "kafka-migrate", []);
            if (migration === "dual-write") beforeRoll = [addStep(first, "migration-copied", migrated.slice(-1))];
            else {
                const retired = planned(topology.controllers, "kafka-controller-retire").map((c) => addStep(c.name, "kafka-controller-retire", migrated.slice(-1)));
                beforeRoll = [addStep(first, "zookeeper-unmigrate", retired)];
            }
        }
        const rollSteps = chain(topology.brokers, "kafka-roll", beforeRoll);
        let afterRolls: pulumi.Resource[] = rollSteps;
        if (topology.metadata === "zookeeper" && migration !== "dual-write") afterRolls = chain(topology.brokers, "kafka-protocol", rollSteps.slice(-1));
        if (migration === "finalize") {
            // The controllers rolled without ZooKeeper: once they say so, ZooKeeper goes.
            const finalized = addStep(first, "migration-finalized", [...controllerRolls.slice(-1), ...afterRolls]);
            afterRolls = topology.retiredZookeepers.map((z) => addStep(z.name, "zookeeper-retire", [finalized]));
        }
        if (plan[first].includes("internal-acls")) afterRolls = [addStep(first, "internal-acls", afterRolls)];
        if (topology.metadata === "kraft") afterRolls = [addStep(first, "features", afterRolls)];
        addStep(first, "topic", afterRolls);
        if (plan[first].includes("scram-acls")) addStep(first, "scram-acls");
        this.registerOutputs({});
    }
}
