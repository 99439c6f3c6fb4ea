// AWS target: a network with a public subnet per zone (up to three), one security group per kind of
// host, an instance per host of the topology, and each broker's data volume and Elastic IP. It only
// creates machines; provisioning happens over SSH like on every other target.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { IMAGE_FAMILIES, LabConfig } from "../config";
import { LabMachine, LabMachines } from "../machines";
import { subnetInside } from "../net";
import { BENCH_STREAM_PORT, CONTROLLER_PORT, ZOOKEEPER_PEER_PORTS } from "../render";
import { hasRole } from "../topology";

export interface AwsLabMachinesArgs {
    config: LabConfig;
    /** The private key matching config sshPublicKey, when the user brings a key pair. */
    sshPrivateKey?: pulumi.Output<string>;
}

const DATA_DEVICE_NAME = "/dev/sdf";

/** The kinds of host, each with its own security group. */
const KINDS = ["broker", "producer", "consumer"] as const;
type Kind = (typeof KINDS)[number];

export class AwsLabMachines extends pulumi.ComponentResource implements LabMachines {
    readonly machines: Record<string, LabMachine>;
    readonly sshUser: string;
    readonly sshPort = 22;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly instances: Record<string, aws.ec2.Instance>;
    readonly securityGroups: Record<Kind, aws.ec2.SecurityGroup>;

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

        // Network: existing public subnets when given, else a VPC with one public subnet per zone the
        // brokers spread over (up to three). Each subnet's zone id is the rack of the brokers in it.
        let vpcId: pulumi.Input<string>;
        let subnets: { id: pulumi.Input<string>; zoneId: pulumi.Output<string> }[];
        let gateway: aws.ec2.InternetGateway | undefined;
        if (cfg.vpcId && cfg.subnetIds.length) {
            vpcId = cfg.vpcId;
            subnets = cfg.subnetIds.map((id) => ({ id, zoneId: aws.ec2.getSubnetOutput({ id }, { parent: this, provider }).availabilityZoneId }));
        } else {
            const vpc = new aws.ec2.Vpc("lab-vpc", { cidrBlock: cfg.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: `kafka-lab-${stack}` } }, child);
            gateway = new aws.ec2.InternetGateway("lab-gateway", { vpcId: vpc.id, tags: { Name: `kafka-lab-${stack}` } }, child);
            const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this, provider });
            const routes = new aws.ec2.RouteTable("lab-routes", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }] }, child);
            subnets = Array.from({ length: Math.min(topology.brokers.length, 3) }, (_, i) => {
                const suffix = i === 0 ? "" : `-${i + 1}`;
                const subnet = new aws.ec2.Subnet(
                    `lab-subnet${suffix}`,
                    { vpcId: vpc.id, cidrBlock: subnetInside(cfg.subnetCidr, i), availabilityZone: zones.names[i], mapPublicIpOnLaunch: true, tags: { Name: `kafka-lab-${stack}-public${suffix}` } },
                    child,
                );
                new aws.ec2.RouteTableAssociation(`lab-routes-subnet${suffix}`, { subnetId: subnet.id, routeTableId: routes.id }, child);
                return { id: subnet.id, zoneId: zones.zoneIds[i] };
            });
        }

        // One security group per kind of host, rules as separate resources (one CIDR or group each).
        this.securityGroups = Object.fromEntries(
            KINDS.map((kind) => [kind, new aws.ec2.SecurityGroup(`${kind}SecurityGroup`, { vpcId, description: `kafka-lab ${kind}`, tags: { Name: `kafka-lab-${stack}-${kind}` } }, child)]),
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
        if (topology.metadata === "zookeeper") {
            for (const kind of KINDS) rule(`broker-zookeeper-from-${kind}`, broker, kafka.zookeeperPort, { group: this.securityGroups[kind] }, `ZooKeeper from ${kind}`);
            network.zookeeperCidrs.forEach((cidr, i) => rule(`broker-zookeeper-private-${i}`, broker, kafka.zookeeperPort, { cidr }, "ZooKeeper from a private range"));
            if (topology.zookeepers.length > 1) {
                for (const port of ZOOKEEPER_PEER_PORTS) rule(`broker-zookeeper-peers-${port}`, broker, port, { group: broker }, "ZooKeeper ensemble, between the lab's brokers only");
            }
        } else {
            rule("broker-controller-from-broker", broker, CONTROLLER_PORT, { group: broker }, "KRaft controllers, between the lab's brokers only");
        }
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
            const kind: Kind = hasRole(host, "broker") ? "broker" : (host.name as Kind);
            // Brokers round-robin over the zones; the clients sit in the first.
            const subnet = subnets[hasRole(host, "broker") ? (host.nodeId! - 1) % subnets.length : 0];
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
                    tags: { Name: host.name, Role: kind, ImageFamily: cfg.imageFamily },
                },
                // A newer image must not replace a provisioned machine on the next run.
                { ...child, ignoreChanges: ["ami"] },
            );
            this.instances[host.name] = instance;
            if (kind !== "broker") {
                this.machines[host.name] = { sshHost: instance.publicIp, privateIp: instance.privateIp, publicIp: instance.publicIp, identity: instance.id, ready: [] };
                continue;
            }
            const dataVolume = new aws.ebs.Volume(
                `${host.name}-data`,
                { availabilityZone: instance.availabilityZone, size: cfg.dataVolumeGiB, type: "gp3", encrypted: true, tags: { Name: `kafka-lab-${stack}-${host.name}-data` } },
                child,
            );
            // Detaching a volume that Kafka still writes to can stay "busy" for ever, and `pulumi destroy` with it:
            // the instance is stopped first, which stops Kafka and unmounts the volume cleanly, with no SSH needed.
            const attachment = new aws.ec2.VolumeAttachment(
                `${host.name}-data`,
                { instanceId: instance.id, volumeId: dataVolume.id, deviceName: DATA_DEVICE_NAME, stopInstanceBeforeDetaching: true },
                child,
            );
            // A broker's public address is advertised to clients: an Elastic IP keeps it across a stop and start,
            // where an instance's own public address would change and leave advertised.listeners stale.
            const address = new aws.ec2.Eip(`${host.name}-address`, { domain: "vpc", tags: { Name: `kafka-lab-${stack}-${host.name}` } }, { ...child, dependsOn: gateway ? [gateway] : [] });
            const association = new aws.ec2.EipAssociation(`${host.name}-address`, { instanceId: instance.id, allocationId: address.allocationId }, child);
            const publicIp = pulumi.all([association.id, address.publicIp]).apply(([, ip]) => ip);
            this.machines[host.name] = {
                sshHost: publicIp,
                privateIp: instance.privateIp,
                publicIp,
                identity: instance.id,
                // Its volume too: a resized one must be resized before the mount step grows the filesystem.
                ready: [attachment, dataVolume, association],
                // Nitro instances expose EBS volumes as NVMe devices named after the volume id; older ones keep /dev/sdf or /dev/xvdf.
                dataDevices: dataVolume.id.apply((id) => [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id.replace("-", "")}`, DATA_DEVICE_NAME, "/dev/xvdf"]),
                dataVolumeGiB: cfg.dataVolumeGiB,
                // The zone's id (not its name, which differs per account) is the broker's rack.
                rack: subnet.zoneId,
            };
        }
        this.registerOutputs({});
    }
}
