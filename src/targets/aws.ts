// AWS target: a network with a public subnet per zone (up to three), one security group per kind of
// host, an instance per host of the topology, and each broker's data volume and Elastic IP. It only
// creates machines; provisioning happens over SSH like on every other target.
import * as command from "@pulumi/command";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ConfigError, IMAGE_FAMILIES, LabConfig, PROJECT } from "../config";
import { LabMachine, LabMachines } from "../machines";
import { subnetInside } from "../net";
import { renderUserData } from "../render";
import { exporterPorts } from "../monitoring";
import { BENCH_STREAM_PORT, CONTROLLER_PORT, LabHost, PROMETHEUS_PORT, ZOOKEEPER_PEER_PORTS, hasRole } from "../topology";
import type { DeployedAws } from "../transitions";

/** Where the brokers go: a zone (name and id, the id is broker.rack) and, on an existing network, its subnet. */
export interface AwsZonePlacement {
    zone: string;
    zoneId: string;
    subnetId?: string;
}

/**
 * The zones the brokers spread over, settled before anything is created. On the stack's own network: the
 * configured zones, else the zones of its last deploy (kept, so that a zone list that changes later, an
 * impaired zone or an opted-in Local Zone that sorts first, moves nothing), else the first of the
 * region's own zones that are available, by name. On an existing network: its subnets' zones, each subnet
 * checked to be in the configured VPC. Too few zones, or a subnet of another VPC, is refused here.
 */
export async function placeAwsLab(config: LabConfig, deployed?: DeployedAws): Promise<AwsZonePlacement[]> {
    const cfg = config.aws!;
    const zoneCount = Math.min(config.topology.brokers.length, 3);
    if (cfg.vpcId) {
        const subnets = await Promise.all(cfg.subnetIds.map((id) => aws.ec2.getSubnet({ id, region: cfg.region })));
        const foreign = subnets.filter((s) => s.vpcId !== cfg.vpcId);
        if (foreign.length) {
            throw new ConfigError(foreign.map((s) => `${PROJECT}:subnetIds: ${s.id} is in ${s.vpcId}, not ${PROJECT}:vpcId ${cfg.vpcId}; allowed: subnets of that VPC (an instance's security groups and subnet must share a VPC)`));
        }
        return subnets.map((s) => ({ zone: s.availabilityZone, zoneId: s.availabilityZoneId, subnetId: s.id }));
    }
    // The region's own zones (not Local or Wavelength Zones, which need an opt-in, other instance types and
    // their own Elastic IP border group); the available ones are those a new lab may be placed in.
    const ownZones = { name: "opt-in-status", values: ["opt-in-not-required"] };
    const [all, available] = await Promise.all([
        aws.getAvailabilityZones({ region: cfg.region, filters: [ownZones] }),
        aws.getAvailabilityZones({ region: cfg.region, state: "available", filters: [ownZones] }),
    ]);
    const zoneId = Object.fromEntries(all.names.map((n, i) => [n, all.zoneIds[i]]));
    const unknown = cfg.zones.filter((z) => !(z in zoneId));
    if (unknown.length) throw new ConfigError([`${PROJECT}:zones names ${unknown.join(", ")}, not among aws:region ${cfg.region}'s own zones (${all.names.join(", ")})`]);
    const kept = deployed?.zones?.length ? deployed.zones : undefined;
    const chosen = cfg.zones.length ? cfg.zones : (kept ?? [...available.names].sort().slice(0, zoneCount));
    if (chosen.length < zoneCount) {
        throw new ConfigError([
            `aws:region ${cfg.region} has ${available.names.length} zones available to the lab (its own zones in state available: ${available.names.join(", ") || "none"}); ${config.topology.brokers.length} brokers need ${zoneCount} (one per zone, up to three). Set ${PROJECT}:zones to ${zoneCount} zones you know, or use fewer brokers`,
        ]);
    }
    return chosen.slice(0, zoneCount).map((zone) => ({ zone, zoneId: zoneId[zone] }));
}

export interface AwsLabMachinesArgs {
    config: LabConfig;
    /** The private key matching config sshPublicKey, when the user brings a key pair. */
    sshPrivateKey?: pulumi.Output<string>;
    /** The brokers' zones, from placeAwsLab. */
    placement: AwsZonePlacement[];
}

const DATA_DEVICE_NAME = "/dev/sdf";

/** The kinds of host, each with its own security group. */
const KINDS = ["broker", "producer", "consumer"] as const;
type Kind = (typeof KINDS)[number];
/** A host's kind: every broker shares one security group; the producer and consumer have their own. */
const kindOf = (host: LabHost): Kind => (hasRole(host, "broker") ? "broker" : (host.name as Kind));

/**
 * A host's SSH host key, made on the deploying machine before its instance (which gets it through user
 * data), so that every connection can check it from the first. Made once, kept secret in the state.
 */
function hostKey(hostName: string, parent: pulumi.Resource): pulumi.Output<{ privateKey: string; publicKey: string }> {
    const key = new command.local.Command(
        `${hostName}-host-key`,
        {
            create: `d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT && ssh-keygen -q -t ed25519 -N '' -C ${hostName} -f "$d/key" && cat "$d/key" "$d/key.pub"`,
            logging: "none",
            addPreviousOutputInEnv: false,
        },
        { parent, additionalSecretOutputs: ["stdout"] },
    );
    return pulumi.secret(
        key.stdout.apply((out) => {
            const privateKey = /-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]+?-----END OPENSSH PRIVATE KEY-----\n/.exec(out)?.[0];
            const publicKey = /^ssh-ed25519 \S+/m.exec(out)?.[0];
            if (!privateKey || !publicKey) throw new Error(`ssh-keygen printed no ed25519 key pair for ${hostName}`);
            return { privateKey, publicKey };
        }),
    );
}

export class AwsLabMachines extends pulumi.ComponentResource implements LabMachines {
    readonly machines: Record<string, LabMachine>;
    readonly sshUser: string;
    readonly sshPort = 22;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly instances: Record<string, aws.ec2.Instance>;
    readonly securityGroups: Record<Kind, aws.ec2.SecurityGroup>;
    /** What the stack is deployed with, for the `aws` output (a later change of these is refused). */
    readonly deployed: DeployedAws;

    constructor(name: string, args: AwsLabMachinesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:aws:LabMachines", name, {}, opts);
        const cfg = args.config.aws!;
        const kafka = args.config.kafka;
        const network = args.config.network;
        const topology = args.config.topology;
        const stack = args.config.stack;
        const tags = { Project: "kafka-lab", Stack: stack };
        const provider = new aws.Provider("aws", { region: cfg.region as aws.Region, defaultTags: { tags } }, { parent: this });
        const child = { parent: this, provider };
        const named = (what: string) => `${PROJECT}-${stack}-${what}`;

        // Network: existing public subnets when given, else a VPC with one public subnet per zone the
        // brokers spread over (up to three). Each subnet's zone id is the rack of the brokers in it.
        let vpcId: pulumi.Input<string>;
        let subnets: { id: pulumi.Input<string>; zone: string; zoneId: string; routed: pulumi.Resource[] }[];
        let gateway: aws.ec2.InternetGateway | undefined;
        if (cfg.vpcId) {
            vpcId = cfg.vpcId;
            subnets = args.placement.map((p) => ({ id: p.subnetId!, zone: p.zone, zoneId: p.zoneId, routed: [] }));
        } else {
            const vpc = new aws.ec2.Vpc("lab-vpc", { cidrBlock: cfg.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: named("vpc") } }, child);
            vpcId = vpc.id;
            gateway = new aws.ec2.InternetGateway("lab-gateway", { vpcId: vpc.id, tags: { Name: named("gateway") } }, child);
            const routes = new aws.ec2.RouteTable("lab-routes", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }], tags: { Name: named("routes") } }, child);
            subnets = args.placement.map((p, i) => {
                const suffix = i === 0 ? "" : `-${i + 1}`;
                const subnet = new aws.ec2.Subnet(
                    `lab-subnet${suffix}`,
                    { vpcId: vpc.id, cidrBlock: subnetInside(cfg.subnetCidr, i), availabilityZone: p.zone, mapPublicIpOnLaunch: true, tags: { Name: named(`public${suffix}`) } },
                    child,
                );
                // An instance started before its subnet has this route reaches neither SSH nor a package mirror.
                const association = new aws.ec2.RouteTableAssociation(`lab-routes-subnet${suffix}`, { subnetId: subnet.id, routeTableId: routes.id }, child);
                return { id: subnet.id, zone: p.zone, zoneId: p.zoneId, routed: [association] };
            });
        }

        // One security group per kind of host, rules as separate resources (one CIDR or group each).
        this.securityGroups = Object.fromEntries(
            KINDS.map((kind) => [kind, new aws.ec2.SecurityGroup(`${kind}SecurityGroup`, { vpcId, description: `kafka-lab ${kind}`, tags: { Name: named(kind) } }, child)]),
        ) as Record<Kind, aws.ec2.SecurityGroup>;
        const rule = (id: string, group: aws.ec2.SecurityGroup, port: number, from: { cidr?: string; group?: aws.ec2.SecurityGroup }, description: string) =>
            new aws.vpc.SecurityGroupIngressRule(
                id,
                {
                    securityGroupId: group.id,
                    ipProtocol: "tcp",
                    fromPort: port,
                    toPort: port,
                    cidrIpv4: from.cidr,
                    referencedSecurityGroupId: from.group?.id,
                    description,
                },
                child,
            );
        for (const kind of KINDS) {
            const sg = this.securityGroups[kind];
            network.adminCidrs.forEach((cidr, i) => rule(`${kind}-ssh-admin-${i}`, sg, 22, { cidr }, "SSH from admins"));
            // AWS provider v7 has no default allow-all egress: the machines need it for packages and Kafka.
            new aws.vpc.SecurityGroupEgressRule(`${kind}-egress`, { securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "all outbound" }, child);
        }
        const broker = this.securityGroups.broker;
        for (const kind of KINDS) rule(`broker-kafka-from-${kind}`, broker, kafka.internalPort, { group: this.securityGroups[kind] }, `Kafka (inside the lab) from ${kind}`);
        network.clientCidrs.forEach((cidr, i) => rule(`broker-kafka-client-${i}`, broker, kafka.externalPort, { cidr }, "Kafka (external listener) from clients"));
        // A migration's dual-write phase runs both: ZooKeeper until finalize, the controllers from dual-write on.
        if (topology.zookeepers.length > 0 || topology.retiredZookeepers.length > 0) {
            // ZooKeeper holds the SCRAM credentials and ACLs, unauthenticated: the brokers alone reach it.
            rule("broker-zookeeper-from-broker", broker, kafka.zookeeperPort, { group: broker }, "ZooKeeper, from the lab's brokers only");
            network.zookeeperCidrs.forEach((cidr, i) => rule(`broker-zookeeper-private-${i}`, broker, kafka.zookeeperPort, { cidr }, "ZooKeeper from a private range"));
            if (topology.zookeepers.length > 1 || topology.retiredZookeepers.length > 1) {
                for (const port of ZOOKEEPER_PEER_PORTS) rule(`broker-zookeeper-peers-${port}`, broker, port, { group: broker }, "ZooKeeper ensemble, between the lab's brokers only");
            }
        }
        if (topology.controllers.length > 0) {
            rule("broker-controller-from-broker", broker, CONTROLLER_PORT, { group: broker }, "KRaft controllers, between the lab's brokers only");
        }
        // Metrics: every exporter only to the monitoring host's Prometheus (its own security group), Prometheus to admins.
        const monitoring = this.securityGroups[kindOf(topology.monitoring)];
        const exporters = new Map<Kind, Set<number>>();
        for (const host of topology.hosts) for (const port of exporterPorts(topology, host.name)) exporters.set(kindOf(host), (exporters.get(kindOf(host)) ?? new Set()).add(port));
        for (const [kind, ports] of exporters) {
            for (const port of [...ports].sort((a, b) => a - b)) rule(`${kind}-metrics-${port}-from-monitoring`, this.securityGroups[kind], port, { group: monitoring }, `metrics (port ${port}), from the monitoring host only`);
        }
        network.adminCidrs.forEach((cidr, i) => rule(`${kindOf(topology.monitoring)}-prometheus-admin-${i}`, monitoring, PROMETHEUS_PORT, { cidr }, "Prometheus and the lab's dashboard, from admins"));
        // `npm run bench` measures the network with a plain TCP stream; firewalld opens it only while it runs.
        rule("broker-bench-from-producer", broker, BENCH_STREAM_PORT, { group: this.securityGroups.producer }, "npm run bench: TCP stream from the producer (firewalld opens it only during a bench)");

        // SSH key: the user's own, or one generated per stack whose private half is only a secret.
        let publicKey: pulumi.Input<string>;
        if (cfg.sshPublicKey) {
            publicKey = cfg.sshPublicKey;
            this.sshPrivateKey = pulumi.secret(args.sshPrivateKey!);
        } else {
            const key = new tls.PrivateKey("ssh-key", { algorithm: "ED25519" }, { parent: this });
            publicKey = key.publicKeyOpenssh;
            this.sshPrivateKey = pulumi.secret(key.privateKeyOpenssh);
        }
        const keyPair = new aws.ec2.KeyPair("ssh-key", { publicKey }, child);

        const family = IMAGE_FAMILIES[cfg.imageFamily];
        this.sshUser = family.sshUser;
        const image = aws.ec2.getAmiOutput(
            {
                owners: [family.owner],
                mostRecent: true,
                filters: [
                    { name: "name", values: [family.namePattern] },
                    { name: "architecture", values: ["x86_64"] },
                    { name: "state", values: ["available"] },
                ],
            },
            { parent: this, provider },
        );

        this.instances = {};
        this.machines = {};
        for (const host of topology.hosts) {
            const kind = kindOf(host);
            // Brokers round-robin over the zones; the clients sit in the first.
            const subnet = subnets[hasRole(host, "broker") ? (host.nodeId! - 1) % subnets.length : 0];
            const sshHostKey = hostKey(host.name, this);
            const instance = new aws.ec2.Instance(
                host.name,
                {
                    ami: image.id,
                    instanceType: kind === "broker" ? cfg.brokerInstanceType : cfg.clientInstanceType,
                    subnetId: subnet.id,
                    vpcSecurityGroupIds: [this.securityGroups[kind].id],
                    keyName: keyPair.keyName,
                    associatePublicIpAddress: true,
                    rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: true },
                    metadataOptions: { httpTokens: "required" },
                    // The host key, through cloud-init on first boot: a secret in the state (EC2 keeps user data readable to
                    // whoever may describe the instance's attributes, and to the instance itself).
                    userData: pulumi.secret(sshHostKey.apply((k) => renderUserData(host.name, k))),
                    userDataReplaceOnChange: false,
                    tags: { Name: named(host.name), Host: host.name, Role: kind, ImageFamily: cfg.imageFamily },
                },
                // A newer image must not replace a provisioned machine on the next run; user data only counts at first boot.
                { ...child, ignoreChanges: ["ami", "userData"], dependsOn: subnet.routed },
            );
            this.instances[host.name] = instance;
            const sshHostPublicKey = pulumi.unsecret(sshHostKey.apply((k) => k.publicKey));
            if (kind !== "broker") {
                this.machines[host.name] = { sshHost: instance.publicIp, hostKey: sshHostPublicKey, privateIp: instance.privateIp, publicIp: instance.publicIp, identity: instance.id, ready: [] };
                continue;
            }
            // In the subnet's zone, not the instance's: a replaced instance (same subnet) leaves the volume alone.
            const dataVolume = new aws.ebs.Volume(
                `${host.name}-data`,
                { availabilityZone: subnet.zone, size: cfg.dataVolumeGiB, type: "gp3", encrypted: true, tags: { Name: named(`${host.name}-data`) } },
                { ...child, protect: cfg.dataVolumeOnDestroy === "protect", retainOnDelete: cfg.dataVolumeOnDestroy === "retain" },
            );
            // Detaching a volume that Kafka still writes to can stay "busy" for ever, and `pulumi destroy` with it:
            // the instance is stopped first, which stops Kafka and unmounts the volume cleanly, with no SSH needed.
            // Replaced (a new instance) it detaches first: a volume attached to the old instance cannot attach to the
            // new one (VolumeInUse, pulumi/pulumi-aws#2769).
            const attachment = new aws.ec2.VolumeAttachment(
                `${host.name}-data`,
                { instanceId: instance.id, volumeId: dataVolume.id, deviceName: DATA_DEVICE_NAME, stopInstanceBeforeDetaching: true },
                { ...child, deleteBeforeReplace: true },
            );
            // A broker's public address is advertised to clients: an Elastic IP keeps it across a stop and start,
            // where an instance's own public address would change and leave advertised.listeners stale. Its
            // association moves to a replaced instance delete-first: deleting the old one last would take the
            // address from the new instance.
            const address = new aws.ec2.Eip(`${host.name}-address`, { domain: "vpc", tags: { Name: named(host.name) } }, { ...child, dependsOn: gateway ? [gateway] : [] });
            const association = new aws.ec2.EipAssociation(`${host.name}-address`, { instanceId: instance.id, allocationId: address.allocationId }, { ...child, deleteBeforeReplace: true });
            const publicIp = pulumi.all([association.id, address.publicIp]).apply(([, ip]) => ip);
            this.machines[host.name] = {
                sshHost: publicIp,
                hostKey: sshHostPublicKey,
                privateIp: instance.privateIp,
                publicIp,
                identity: instance.id,
                // Its volume too: a resized one must be resized before the mount step grows the filesystem.
                ready: [attachment, dataVolume, association],
                // Nitro instances expose EBS volumes as NVMe devices named after the volume id; older ones keep /dev/sdf or /dev/xvdf.
                dataDevices: dataVolume.id.apply((id) => [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id.replace("-", "")}`, DATA_DEVICE_NAME, "/dev/xvdf"]),
                dataVolumeGiB: cfg.dataVolumeGiB,
                // The zone's id (not its name, which differs per account) is the broker's rack.
                rack: pulumi.output(subnet.zoneId),
            };
        }
        this.deployed = {
            region: cfg.region,
            imageFamily: cfg.imageFamily,
            zones: subnets.map((s) => s.zone),
            vpcCidr: cfg.vpcCidr,
            subnetCidr: cfg.subnetCidr,
            vpcId: cfg.vpcId ?? "",
            subnetIds: cfg.vpcId ? cfg.subnetIds : [],
            sshPublicKey: cfg.sshPublicKey ?? "",
            dataVolumeGiB: cfg.dataVolumeGiB,
        };
        this.registerOutputs({});
    }
}
