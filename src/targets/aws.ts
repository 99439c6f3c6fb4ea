// AWS target: a network, one security group per role, three instances and the broker's data
// volume. It only creates machines; provisioning happens over SSH like on every other target.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { IMAGE_FAMILIES, LabConfig } from "../config";
import { LabMachine, LabMachines, ROLES, Role } from "../machines";
import { BENCH_STREAM_PORT } from "../render";

export interface AwsLabMachinesArgs {
    config: LabConfig;
    /** The private key matching config sshPublicKey, when the user brings a key pair. */
    sshPrivateKey?: pulumi.Output<string>;
}

const DATA_DEVICE_NAME = "/dev/sdf";

export class AwsLabMachines extends pulumi.ComponentResource implements LabMachines {
    readonly machines: Record<Role, LabMachine>;
    readonly sshUser: string;
    readonly sshPort = 22;
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly brokerDataDevices: pulumi.Output<string[]>;
    readonly instances: Record<Role, aws.ec2.Instance>;
    readonly securityGroups: Record<Role, aws.ec2.SecurityGroup>;

    constructor(name: string, args: AwsLabMachinesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("kafka-lab:aws:LabMachines", name, {}, opts);
        const cfg = args.config.aws!;
        const kafka = args.config.kafka;
        const network = args.config.network;
        const tags = { Project: "kafka-lab", Stack: args.config.stack };
        const provider = new aws.Provider("aws", { region: cfg.region as aws.Region, defaultTags: { tags } }, { parent: this });
        const child = { parent: this, provider };

        // Network: an existing VPC and subnet when given, else a public subnet of our own.
        let vpcId: pulumi.Input<string>;
        let subnetId: pulumi.Input<string>;
        let gateway: aws.ec2.InternetGateway | undefined;
        if (cfg.vpcId && cfg.subnetId) {
            vpcId = cfg.vpcId;
            subnetId = cfg.subnetId;
        } else {
            const vpc = new aws.ec2.Vpc("lab-vpc", { cidrBlock: cfg.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: `kafka-lab-${args.config.stack}` } }, child);
            gateway = new aws.ec2.InternetGateway("lab-gateway", { vpcId: vpc.id, tags: { Name: `kafka-lab-${args.config.stack}` } }, child);
            const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this, provider });
            const subnet = new aws.ec2.Subnet(
                "lab-subnet",
                { vpcId: vpc.id, cidrBlock: cfg.subnetCidr, availabilityZone: zones.names[0], mapPublicIpOnLaunch: true, tags: { Name: `kafka-lab-${args.config.stack}-public` } },
                child,
            );
            const routes = new aws.ec2.RouteTable("lab-routes", { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }] }, child);
            new aws.ec2.RouteTableAssociation("lab-routes-subnet", { subnetId: subnet.id, routeTableId: routes.id }, child);
            vpcId = vpc.id;
            subnetId = subnet.id;
        }

        // One security group per role, rules as separate resources (one CIDR or group each).
        this.securityGroups = Object.fromEntries(
            ROLES.map((role) => [role, new aws.ec2.SecurityGroup(`${role}SecurityGroup`, { vpcId, description: `kafka-lab ${role}`, tags: { Name: `kafka-lab-${args.config.stack}-${role}` } }, child)]),
        ) as Record<Role, aws.ec2.SecurityGroup>;
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
        for (const role of ROLES) {
            const sg = this.securityGroups[role];
            network.adminCidrs.forEach((cidr, i) => rule(`${role}-ssh-admin-${i}`, sg, 22, { cidr }, "SSH from admins"));
            // AWS provider v7 has no default allow-all egress: the machines need it for packages and Kafka.
            new aws.vpc.SecurityGroupEgressRule(`${role}-egress`, { securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description: "all outbound" }, child);
        }
        const broker = this.securityGroups.broker;
        for (const role of ROLES) {
            rule(`broker-kafka-from-${role}`, broker, kafka.internalPort, { group: this.securityGroups[role] }, `Kafka (inside the lab) from ${role}`);
            rule(`broker-zookeeper-from-${role}`, broker, kafka.zookeeperPort, { group: this.securityGroups[role] }, `ZooKeeper from ${role}`);
        }
        network.clientCidrs.forEach((cidr, i) => rule(`broker-kafka-client-${i}`, broker, kafka.externalPort, { cidr }, "Kafka (external listener) from clients"));
        network.zookeeperCidrs.forEach((cidr, i) => rule(`broker-zookeeper-private-${i}`, broker, kafka.zookeeperPort, { cidr }, "ZooKeeper from a private range"));
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

        this.instances = Object.fromEntries(
            ROLES.map((role) => [
                role,
                new aws.ec2.Instance(
                    role,
                    {
                        ami: image.id,
                        instanceType: role === "broker" ? cfg.brokerInstanceType : cfg.clientInstanceType,
                        subnetId,
                        vpcSecurityGroupIds: [this.securityGroups[role].id],
                        keyName: keyPair.keyName,
                        associatePublicIpAddress: true,
                        rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: true },
                        metadataOptions: { httpTokens: "required" },
                        tags: { Name: role, Role: role, ImageFamily: cfg.imageFamily },
                    },
                    // A newer image must not replace a provisioned machine on the next run.
                    { ...child, ignoreChanges: ["ami"] },
                ),
            ]),
        ) as Record<Role, aws.ec2.Instance>;

        const dataVolume = new aws.ebs.Volume(
            "broker-data",
            { availabilityZone: this.instances.broker.availabilityZone, size: cfg.dataVolumeGiB, type: "gp3", encrypted: true, tags: { Name: `kafka-lab-${args.config.stack}-broker-data` } },
            child,
        );
        // Detaching a volume that Kafka still writes to can stay "busy" for ever, and `pulumi destroy` with it:
        // the instance is stopped first, which stops Kafka and unmounts the volume cleanly, with no SSH needed.
        const attachment = new aws.ec2.VolumeAttachment(
            "broker-data",
            { instanceId: this.instances.broker.id, volumeId: dataVolume.id, deviceName: DATA_DEVICE_NAME, stopInstanceBeforeDetaching: true },
            child,
        );
        // Nitro instances expose EBS volumes as NVMe devices named after the volume id; older ones keep /dev/sdf or /dev/xvdf.
        this.brokerDataDevices = dataVolume.id.apply((id) => [`/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${id.replace("-", "")}`, DATA_DEVICE_NAME, "/dev/xvdf"]);

        // The broker's public address is advertised to clients: an Elastic IP keeps it across a stop and start,
        // where an instance's own public address would change and leave advertised.listeners stale.
        const brokerAddress = new aws.ec2.Eip("broker-address", { domain: "vpc", tags: { Name: `kafka-lab-${args.config.stack}-broker` } }, { ...child, dependsOn: gateway ? [gateway] : [] });
        const association = new aws.ec2.EipAssociation("broker-address", { instanceId: this.instances.broker.id, allocationId: brokerAddress.allocationId }, child);
        const brokerPublicIp = pulumi.all([association.id, brokerAddress.publicIp]).apply(([, ip]) => ip);

        this.machines = Object.fromEntries(
            ROLES.map((role) => {
                const i = this.instances[role];
                const publicIp = role === "broker" ? brokerPublicIp : i.publicIp;
                // The broker also waits for its volume (a resized one must be resized before the mount step
                // grows the filesystem), the volume's attachment and its address.
                const ready: pulumi.Resource[] = role === "broker" ? [attachment, dataVolume, association] : [];
                return [role, { sshHost: publicIp, privateIp: i.privateIp, publicIp, identity: i.id, ready }];
            }),
        ) as Record<Role, LabMachine>;
        this.registerOutputs({});
    }
}
