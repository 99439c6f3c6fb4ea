// A small model of what AWS does with the resources the program registers under Pulumi's mocks: the ids
// and attributes AWS gives them (a security group without a vpcId lands in the region's default VPC, an
// instance takes its subnet's zone), which inputs make AWS (or the provider) replace a resource, and the
// rules AWS enforces when it creates them. Nothing here calls AWS; the rules come from the EC2 API
// reference and the AWS provider's docs, each named where it is checked.
import * as crypto from "crypto";

export interface AwsZone {
    name: string;
    zoneId: string;
    state: "available" | "impaired" | "unavailable";
    optInStatus: "opt-in-not-required" | "opted-in" | "not-opted-in";
    zoneType: "availability-zone" | "local-zone" | "wavelength-zone";
    /** The network border group: an Elastic IP can only be associated inside its own. */
    group: string;
}

const az = (region: string, letter: string, zoneId: string): AwsZone => ({ name: `${region}${letter}`, zoneId, state: "available", optInStatus: "opt-in-not-required", zoneType: "availability-zone", group: region });

/** The regions the stacks use, and one with two zones only (as us-west-1 is for most accounts). */
export const REGIONS: Record<string, AwsZone[]> = {
    "eu-west-1": [az("eu-west-1", "a", "euw1-az3"), az("eu-west-1", "b", "euw1-az1"), az("eu-west-1", "c", "euw1-az2")],
    "eu-central-1": [az("eu-central-1", "a", "euc1-az2"), az("eu-central-1", "b", "euc1-az3"), az("eu-central-1", "c", "euc1-az1")],
    "us-west-1": [az("us-west-1", "a", "usw1-az3"), az("us-west-1", "c", "usw1-az1")],
};
/** An opted-in Local Zone: its name sorts before the region's own zones. */
export const HAMBURG: AwsZone = { name: "eu-central-1-ham-1a", zoneId: "euc1-ham1-az1", state: "available", optInStatus: "opted-in", zoneType: "local-zone", group: "eu-central-1-ham-1" };

/** An existing network a stack may be pointed at (vpcId + subnetIds). */
export const EXISTING_NETWORK = {
    vpcId: "vpc-0aa11bb22cc33dd44",
    otherVpcId: "vpc-0ee55ff66aa77bb88",
    subnets: {
        "subnet-0a1a1a1a1a1a1a1a1": { vpcId: "vpc-0aa11bb22cc33dd44", zone: 0, cidrBlock: "10.50.1.0/24" },
        "subnet-0b2b2b2b2b2b2b2b2": { vpcId: "vpc-0aa11bb22cc33dd44", zone: 1, cidrBlock: "10.50.2.0/24" },
        "subnet-0c3c3c3c3c3c3c3c3": { vpcId: "vpc-0aa11bb22cc33dd44", zone: 2, cidrBlock: "10.50.3.0/24" },
        "subnet-0f9f9f9f9f9f9f9f9": { vpcId: "vpc-0ee55ff66aa77bb88", zone: 0, cidrBlock: "10.60.1.0/24" },
    } as Record<string, { vpcId: string; zone: number; cidrBlock: string }>,
};

/**
 * The inputs whose change makes the AWS provider replace a resource (ForceNew in the provider's schema),
 * for the types the program uses. A command's triggers replace it; its other inputs update it in place.
 */
export const REPLACED_ON: Record<string, string[]> = {
    "pulumi:providers:aws": ["region"],
    "aws:ec2/vpc:Vpc": ["cidrBlock", "instanceTenancy"],
    "aws:ec2/internetGateway:InternetGateway": [],
    "aws:ec2/routeTable:RouteTable": ["vpcId"],
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ["subnetId", "gatewayId"],
    "aws:ec2/subnet:Subnet": ["vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"],
    "aws:ec2/securityGroup:SecurityGroup": ["vpcId", "description", "name", "namePrefix"],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ["securityGroupId"],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ["securityGroupId"],
    "aws:ec2/keyPair:KeyPair": ["publicKey", "keyName", "keyNamePrefix"],
    // userData replaces the instance only with userDataReplaceOnChange; otherwise the provider stops the
    // instance, changes it and starts it again (see INSTANCE_STOPPED_BY).
    "aws:ec2/instance:Instance": ["ami", "subnetId", "keyName", "availabilityZone", "privateIp", "associatePublicIpAddress", "rootBlockDevice", "userDataBase64", "placementGroup", "tenancy"],
    "aws:ebs/volume:Volume": ["availabilityZone", "encrypted", "kmsKeyId", "snapshotId", "outpostArn"],
    "aws:ec2/volumeAttachment:VolumeAttachment": ["deviceName", "instanceId", "volumeId"],
    "aws:ec2/eip:Eip": ["domain", "networkBorderGroup", "address", "publicIpv4Pool"],
    "aws:ec2/eipAssociation:EipAssociation": ["allocationId", "instanceId", "networkInterfaceId", "privateIpAddress", "publicIp"],
    "tls:index/privateKey:PrivateKey": ["algorithm", "ecdsaCurve", "rsaBits"],
    "command:remote:Command": ["triggers"],
    "command:remote:CopyToRemote": ["triggers"],
    "command:local:Command": ["triggers"],
};
/** Instance inputs EC2 can change only on a stopped instance: the provider stops and starts it. */
export const INSTANCE_STOPPED_BY = ["instanceType", "userData"];

/** What the program asked for, and what AWS made of it. */
export interface WorldResource {
    type: string;
    name: string;
    id: string;
    inputs: Record<string, any>;
    state: Record<string, any>;
    /** The resource options the stack transformation saw. */
    options: ResourceOptionsSeen;
}
export interface ResourceOptionsSeen {
    dependsOn: string[];
    deleteBeforeReplace?: boolean;
    protect?: boolean;
    retainOnDelete?: boolean;
    ignoreChanges?: string[];
    customTimeouts?: any;
    additionalSecretOutputs?: string[];
    parent?: string;
}

const hash = (...parts: unknown[]) => crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex");
const key = (type: string, name: string) => `${type}::${name}`;

export interface WorldSetup {
    region: string;
    /** The region's zones as DescribeAvailabilityZones would list them (default: REGIONS[region]). */
    zones?: AwsZone[];
    /** The previous deploy's world: ignoreChanges keeps its values, unchanged inputs keep its ids. */
    previous?: AwsWorld;
    /** `pulumi up --replace` of these resources (by name). */
    forceReplace?: string[];
    /** A newer image of each family has been published since the last deploy. */
    newerImage?: boolean;
}

export class AwsWorld {
    readonly resources = new Map<string, WorldResource>();
    /** Options seen by the stack transformation, by type and name; filled before the resource reaches the mock. */
    readonly options = new Map<string, ResourceOptionsSeen>();
    readonly zones: AwsZone[];
    private nextHost = new Map<string, number>();

    constructor(readonly setup: WorldSetup) {
        this.zones = setup.zones ?? REGIONS[setup.region] ?? [];
    }

    get defaultVpcId() {
        return `vpc-default-${this.setup.region}`;
    }
    byId(id: string): WorldResource | undefined {
        return [...this.resources.values()].find((r) => r.id === id);
    }
    ofType(type: string): WorldResource[] {
        return [...this.resources.values()].filter((r) => r.type === type);
    }
    get(type: string, name: string): WorldResource | undefined {
        return this.resources.get(key(type, name));
    }
    zone(name: string): AwsZone | undefined {
        return this.zones.find((z) => z.name === name) ?? Object.values(REGIONS).flat().find((z) => z.name === name) ?? (name === HAMBURG.name ? HAMBURG : undefined);
    }
    /** A subnet by id: one the stack made, or one of an existing network. */
    subnet(id: string): { vpcId: string; availabilityZone: string; cidrBlock: string } | undefined {
        const made = this.byId(id);
        if (made) return { vpcId: made.state.vpcId, availabilityZone: made.state.availabilityZone, cidrBlock: made.state.cidrBlock };
        const existing = EXISTING_NETWORK.subnets[id];
        return existing && { vpcId: existing.vpcId, availabilityZone: this.zones[existing.zone]?.name, cidrBlock: existing.cidrBlock };
    }

    /** DescribeAvailabilityZones through the provider's data source: filtered, then sorted by name. */
    availabilityZones(args: Record<string, any>) {
        let zones = this.zones.filter((z) => args.allAvailabilityZones || z.optInStatus !== "not-opted-in");
        if (args.state) zones = zones.filter((z) => z.state === args.state);
        const field: Record<string, (z: AwsZone) => string> = { "opt-in-status": (z) => z.optInStatus, "zone-type": (z) => z.zoneType, "zone-name": (z) => z.name, state: (z) => z.state, "group-name": (z) => z.group };
        for (const f of args.filters ?? []) {
            if (!field[f.name]) throw new Error(`getAvailabilityZones: the model knows no filter ${f.name}`);
            zones = zones.filter((z) => f.values.includes(field[f.name](z)));
        }
        zones = zones.filter((z) => !(args.excludeNames ?? []).includes(z.name) && !(args.excludeZoneIds ?? []).includes(z.zoneId));
        zones = [...zones].sort((a, b) => a.name.localeCompare(b.name));
        return { id: this.setup.region, names: zones.map((z) => z.name), zoneIds: zones.map((z) => z.zoneId), groupNames: [...new Set(zones.map((z) => z.group))] };
    }

    getSubnet(args: Record<string, any>) {
        const s = EXISTING_NETWORK.subnets[args.id];
        if (!s) throw new Error(`InvalidSubnetID.NotFound: The subnet ID '${args.id}' does not exist`);
        const zone = this.zones[s.zone];
        return { id: args.id, vpcId: s.vpcId, availabilityZone: zone.name, availabilityZoneId: zone.zoneId, cidrBlock: s.cidrBlock, mapPublicIpOnLaunch: true };
    }

    /**
     * Registers a resource and returns the id and state AWS would give it. An id is derived from the inputs
     * that replace the resource, so a replaced resource gets a new id and a kept one keeps its id.
     */
    create(type: string, name: string, secretInputs: Record<string, any>, provider?: string, computed: Record<string, any> = {}): { id: string; state: Record<string, any> } {
        // AWS sees the values; that Pulumi keeps some of them secret is the state's business.
        const inputs = unsecretDeep(secretInputs);
        const options = this.options.get(key(type, name)) ?? { dependsOn: [] };
        const before = this.setup.previous?.get(type, name);
        // ignoreChanges: the state keeps what the previous deploy had for those inputs.
        const effective = { ...inputs };
        for (const p of options.ignoreChanges ?? []) if (before && p in before.inputs) effective[p] = before.inputs[p];
        const replacedOn = REPLACED_ON[type] ?? [];
        const identity = hash(type, name, provider?.split("::").pop(), replacedOn.map((p) => effective[p]), this.setup.forceReplace?.includes(name) ? "replaced" : "");
        const id = this.newId(type, name, identity);
        // Nothing changed: Pulumi keeps the resource and its outputs (a command is not run again).
        if (before && before.id === id && JSON.stringify(stable(before.inputs)) === JSON.stringify(stable(effective))) {
            this.resources.set(key(type, name), { ...before, options });
            return { id, state: before.state };
        }
        const state: Record<string, any> = { ...effective, ...computed, __identity: identity };
        const short = id.slice(-8);
        switch (type) {
            case "aws:ec2/vpc:Vpc":
                break;
            case "aws:ec2/securityGroup:SecurityGroup":
                // CreateSecurityGroup without a VpcId puts the group in the region's default VPC.
                state.vpcId = inputs.vpcId ?? this.defaultVpcId;
                state.name = inputs.name ?? `${name}-${short}`;
                break;
            case "aws:ec2/subnet:Subnet": {
                // Without a zone, EC2 picks one for the subnet.
                const zone = this.zone(inputs.availabilityZone) ?? this.zones[0];
                Object.assign(state, { availabilityZone: zone.name, availabilityZoneId: zone.zoneId });
                break;
            }
            case "aws:ec2/keyPair:KeyPair":
                // Auto-named: a replaced key pair has another name.
                state.keyName = inputs.keyName ?? `${name}-${short}`;
                break;
            case "aws:ec2/instance:Instance": {
                const subnet = this.subnet(inputs.subnetId);
                const n = this.hostNumber(name);
                const base = (subnet?.cidrBlock ?? "10.0.0.0/24").split("/")[0].split(".").slice(0, 3).join(".");
                Object.assign(state, { availabilityZone: subnet?.availabilityZone, privateIp: `${base}.${n}`, publicIp: `198.51.100.${n}`, arn: `arn:aws:ec2:${this.setup.region}:123456789012:instance/${id}` });
                break;
            }
            case "aws:ec2/eip:Eip": {
                const n = this.hostNumber(name);
                Object.assign(state, { allocationId: id, publicIp: `198.51.100.${n === 11 ? 200 : 180 + n}`, networkBorderGroup: inputs.networkBorderGroup ?? this.setup.region });
                break;
            }
            case "tls:index/privateKey:PrivateKey":
                Object.assign(state, { privateKeyOpenssh: "GENERATED-KEY", publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaGENERATED" });
                break;
        }
        // The inputs as the state holds them: ignoreChanges keeps the previous deploy's values.
        this.resources.set(key(type, name), { type, name, id, inputs: effective, state, options });
        return { id, state };
    }

    /** broker, producer, consumer end in .11-.13, a cluster's brokers in .21 and on; their Elastic IPs in .200 and on. */
    private hostNumber(name: string): number {
        const host = name.replace(/-address$/, "");
        const fixed: Record<string, number> = { broker: 11, producer: 12, consumer: 13 };
        if (fixed[host]) return fixed[host];
        const m = /^broker(\d+)$/.exec(host);
        if (m) return 20 + Number(m[1]);
        if (!this.nextHost.has(host)) this.nextHost.set(host, 100 + this.nextHost.size);
        return this.nextHost.get(host)!;
    }

    private newId(type: string, name: string, identity: string): string {
        const prefix: Record<string, string> = {
            "aws:ec2/vpc:Vpc": "vpc",
            "aws:ec2/subnet:Subnet": "subnet",
            "aws:ec2/securityGroup:SecurityGroup": "sg",
            "aws:ec2/internetGateway:InternetGateway": "igw",
            "aws:ec2/routeTable:RouteTable": "rtb",
            "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
            "aws:ec2/instance:Instance": "i",
            "aws:ebs/volume:Volume": "vol",
            "aws:ec2/eip:Eip": "eipalloc",
            "aws:ec2/eipAssociation:EipAssociation": "eipassoc",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
            "aws:ec2/volumeAttachment:VolumeAttachment": "vai",
        };
        return prefix[type] ? `${prefix[type]}-0${identity.slice(0, 16)}` : `${name}-${identity.slice(0, 8)}`;
    }
}

/** Whether `from` waits for `to`: through an explicit dependsOn or an input holding one of its ids. */
export function waitsFor(world: AwsWorld, from: WorldResource, to: WorldResource, seen = new Set<string>()): boolean {
    const k = key(from.type, from.name);
    if (seen.has(k)) return false;
    seen.add(k);
    const direct = [
        ...from.options.dependsOn.map((n) => [...world.resources.values()].filter((r) => r.name === n)).flat(),
        ...idsIn(from.inputs).map((id) => world.byId(id)).filter((r): r is WorldResource => r !== undefined),
    ];
    return direct.some((d) => (d.type === to.type && d.name === to.name) || waitsFor(world, d, to, seen));
}

/** Pulumi's secret signature, as the mocks hand secret inputs over. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function unsecretDeep(v: any): any {
    if (Array.isArray(v)) return v.map(unsecretDeep);
    if (v && typeof v === "object") return SECRET_SIG in v ? unsecretDeep(v.value) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unsecretDeep(x)]));
    return v;
}

function idsIn(v: unknown): string[] {
    if (typeof v === "string") return [v];
    if (Array.isArray(v)) return v.flatMap(idsIn);
    if (v && typeof v === "object") return Object.values(v).flatMap(idsIn);
    return [];
}

/**
 * What AWS (and Kafka, for broker.rack) would refuse or get wrong in a deployed graph, each as the error or
 * the consequence it would have. An empty list is a graph AWS takes.
 */
export function awsViolations(world: AwsWorld, expected: { vpcId: string; eipQuota: number }): string[] {
    const problems: string[] = [];
    const t = (type: string) => world.ofType(type);
    const groups = t("aws:ec2/securityGroup:SecurityGroup");
    const groupIds = new Set(groups.map((g) => g.id));
    const inLab = (what: string, vpcId: string) => {
        if (vpcId !== expected.vpcId) problems.push(`${what} is in ${vpcId === world.defaultVpcId ? "the region's default VPC" : vpcId}, not the lab's VPC ${expected.vpcId}`);
    };
    for (const g of groups) inLab(`security group ${g.name}`, g.state.vpcId);
    for (const s of t("aws:ec2/subnet:Subnet")) inLab(`subnet ${s.name}`, s.state.vpcId);
    for (const r of t("aws:ec2/routeTable:RouteTable")) inLab(`route table ${r.name}`, r.state.vpcId);
    for (const g of t("aws:ec2/internetGateway:InternetGateway")) inLab(`internet gateway ${g.name}`, g.state.vpcId);

    // CreateSubnet: InvalidSubnet.Range outside the VPC, InvalidSubnet.Conflict when two overlap.
    const vpc = t("aws:ec2/vpc:Vpc")[0];
    const subnets = t("aws:ec2/subnet:Subnet");
    for (const s of subnets) {
        if (vpc && !cidrInside(s.state.cidrBlock, vpc.state.cidrBlock)) problems.push(`InvalidSubnet.Range: subnet ${s.name} ${s.state.cidrBlock} is outside the VPC's ${vpc.state.cidrBlock}`);
        for (const o of subnets) if (o !== s && o.name > s.name && cidrOverlap(o.state.cidrBlock, s.state.cidrBlock)) problems.push(`InvalidSubnet.Conflict: subnets ${s.name} and ${o.name} overlap`);
        const zone = world.zone(s.state.availabilityZone);
        if (zone && zone.zoneType !== "availability-zone") problems.push(`subnet ${s.name} is in ${zone.name}, a ${zone.zoneType} (not one of the region's own zones: other instance types, EBS types and Elastic IP border group)`);
        // A new subnet only: one that exists stays where it is when its zone is impaired later.
        const existed = world.setup.previous?.get(s.type, s.name)?.id === s.id;
        if (zone && zone.state !== "available" && !existed) problems.push(`subnet ${s.name} is made in ${zone.name}, which is ${zone.state}`);
        if (!t("aws:ec2/routeTableAssociation:RouteTableAssociation").some((a) => a.inputs.subnetId === s.id)) problems.push(`subnet ${s.name} has no route table association: no route to the internet gateway`);
    }

    const instances = t("aws:ec2/instance:Instance");
    for (const i of instances) {
        const subnet = world.subnet(i.inputs.subnetId);
        if (!subnet) {
            problems.push(`InvalidSubnetID.NotFound: instance ${i.name}'s subnet ${i.inputs.subnetId}`);
            continue;
        }
        for (const g of i.inputs.vpcSecurityGroupIds ?? []) {
            const group = world.byId(g);
            if (!group) problems.push(`InvalidGroup.NotFound: instance ${i.name}'s security group ${g}`);
            else if (group.state.vpcId !== subnet.vpcId) problems.push(`InvalidParameter: Security group ${group.name} and subnet ${i.inputs.subnetId} belong to different networks (instance ${i.name})`);
        }
        // An instance booting before its subnet has a route reaches neither package mirrors nor SSH.
        const association = t("aws:ec2/routeTableAssociation:RouteTableAssociation").find((a) => a.inputs.subnetId === i.inputs.subnetId);
        if (association && !waitsFor(world, i, association)) problems.push(`instance ${i.name} does not wait for its subnet's route table association ${association.name}`);
        const zone = world.zone(subnet.availabilityZone);
        if (zone && zone.zoneType !== "availability-zone") problems.push(`instance ${i.name} is in ${zone.name}, a ${zone.zoneType}`);
    }

    for (const r of [...t("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"), ...t("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]) {
        if (!groupIds.has(r.inputs.securityGroupId)) problems.push(`rule ${r.name} is on ${r.inputs.securityGroupId}, not one of the lab's security groups`);
        const ref = r.inputs.referencedSecurityGroupId;
        if (ref !== undefined) {
            const group = world.byId(ref);
            if (!groupIds.has(ref) || !group) problems.push(`rule ${r.name} names ${ref}, not one of the lab's security groups`);
            else if (group.state.vpcId !== world.byId(r.inputs.securityGroupId)?.state.vpcId) problems.push(`rule ${r.name} names ${group.name} of another VPC (a reference across VPCs needs peering)`);
        }
        if ((ref === undefined) === (r.inputs.cidrIpv4 === undefined)) problems.push(`rule ${r.name} must name exactly one of a CIDR and a group`);
    }

    // AttachVolume: InvalidVolume.ZoneMismatch unless volume and instance share a zone.
    for (const a of t("aws:ec2/volumeAttachment:VolumeAttachment")) {
        const volume = world.byId(a.inputs.volumeId);
        const instance = world.byId(a.inputs.instanceId);
        if (volume && instance && volume.state.availabilityZone !== instance.state.availabilityZone) {
            problems.push(`InvalidVolume.ZoneMismatch: volume ${volume.name} (${volume.state.availabilityZone}) and instance ${instance.name} (${instance.state.availabilityZone})`);
        }
    }
    // AssociateAddress: the VPC needs an internet gateway attached first (Gateway.NotAttached), and the
    // address must belong to the instance zone's network border group.
    const gateway = t("aws:ec2/internetGateway:InternetGateway")[0];
    for (const a of t("aws:ec2/eipAssociation:EipAssociation")) {
        const eip = world.byId(a.inputs.allocationId);
        const instance = world.byId(a.inputs.instanceId);
        if (gateway && !waitsFor(world, a, gateway)) problems.push(`Gateway.NotAttached: ${a.name} may run before the internet gateway is attached`);
        const zone = instance && world.zone(instance.state.availabilityZone);
        if (eip && zone && eip.state.networkBorderGroup !== zone.group) problems.push(`InvalidParameterCombination: Elastic IP ${eip.name} (border group ${eip.state.networkBorderGroup}) cannot go to ${instance!.name} in ${zone.name} (${zone.group})`);
    }
    const eips = t("aws:ec2/eip:Eip").length;
    if (eips > expected.eipQuota) problems.push(`AddressLimitExceeded: ${eips} Elastic IPs, over the quota of ${expected.eipQuota}`);

    for (const k of t("aws:ec2/keyPair:KeyPair")) {
        if (!/^(ssh-ed25519|ssh-rsa) /.test(k.inputs.publicKey)) problems.push(`InvalidKey.Format: key pair ${k.name} is not ED25519 or RSA`);
    }
    return problems;
}

function cidrRange(cidr: string): [number, number] {
    const [ip, prefix] = cidr.split("/");
    const base = ip.split(".").reduce((a, p) => a * 256 + Number(p), 0);
    return [base, base + 2 ** (32 - Number(prefix)) - 1];
}
const cidrInside = (inner: string, outer: string) => {
    const [a, b] = cidrRange(inner);
    const [c, d] = cidrRange(outer);
    return a >= c && b <= d;
};
const cidrOverlap = (x: string, y: string) => {
    const [a, b] = cidrRange(x);
    const [c, d] = cidrRange(y);
    return a <= d && c <= b;
};

export type Change = "created" | "replaced" | "updated" | "deleted" | "same";

/** What a second deploy does to each resource of the first, by type and name. */
export function changes(before: AwsWorld, after: AwsWorld): Map<string, Change> {
    const out = new Map<string, Change>();
    for (const [k, r] of after.resources) {
        const old = before.resources.get(k);
        if (!old) out.set(k, "created");
        else if (old.id !== r.id) out.set(k, "replaced");
        else out.set(k, JSON.stringify(stable(old.inputs)) === JSON.stringify(stable(r.inputs)) ? "same" : "updated");
    }
    for (const k of before.resources.keys()) if (!after.resources.has(k)) out.set(k, "deleted");
    return out;
}

function stable(v: any): any {
    if (Array.isArray(v)) return v.map(stable);
    if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, stable(v[k])]));
    return v;
}
export const worldKey = key;
