// The whole program under Pulumi's own mocks, for every stack in stacks/: what it registers, with
// which inputs and in which order. Only the AWS provider is mocked because it cannot run here (its
// resources go to a model of AWS, helpers/aws-world.ts; test/aws-rules.test.ts holds them to AWS's rules).
import test from "ava";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PINNED_SHA512 } from "../src/artifact";
import { stepsFor } from "../src/render";
import { EXISTING_NETWORK } from "./helpers/aws-world";
import { Run, engineCreated, ofType, resolve, runProgram as run0, stackConfig, tarball, tarballSha } from "./helpers/program";
import { certificatesOf } from "./helpers/pem";
import { tmpDir } from "./helpers/tmp";

// The guide's lab: one broker, and the two client machines.
const ROLES = ["broker", "producer", "consumer"] as const;
const runProgram = (stack: string, overrides: Record<string, string> = {}, secrets: Record<string, string> = {}) => run0(stack, { overrides, secrets });
/** The id AWS (the model) gave a resource, by type and name. */
const idOf = (r: Run, type: string, name: string) => r.world.get(type, name)!.id;
const instanceId = (r: Run, host: string) => idOf(r, "aws:ec2/instance:Instance", host);
const groupId = (r: Run, kind: string) => idOf(r, "aws:ec2/securityGroup:SecurityGroup", `${kind}SecurityGroup`);
const commandId = (r: Run, name: string) => r.world.get("command:local:Command", name)!.id;
/** The existing machines' host keys, as sshHostKeys lists them. */
const HOST_KEYS = JSON.stringify(ROLES.map((h) => `${h} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${h.toUpperCase()}`));

/** The stack's hosts: its brokers (broker, or broker1..N), then producer and consumer. */
const hostsOf = (run: Run) => run.config.topology.hosts.map((h) => h.name);
const brokersOf = (run: Run) => run.config.topology.brokers.map((h) => h.name);

for (const stack of ["dev", "staging", "prod"]) {
    test.serial(`${stack}: an instance per host, named after the stack, from the configured image family`, async (t) => {
        const run = await runProgram(stack);
        const file = stackConfig(stack);
        const instances = ofType(run, "aws:ec2/instance:Instance");
        t.deepEqual(instances.map((i) => i.name), hostsOf(run));
        t.deepEqual(brokersOf(run), stack === "dev" ? ["broker"] : ["broker1", "broker2", "broker3"], "dev is the guide's one broker; staging and prod are 3-broker clusters");
        for (const i of instances) {
            const tags = await resolve(i.inputs.tags);
            // Two stacks in one account can be told apart.
            t.is(tags.Name, `kafka-lab-${stack}-${i.name}`);
            t.is(tags.Host, i.name);
            t.is(tags.ImageFamily, file["kafka-lab:imageFamily"]);
            t.is(await resolve(i.inputs.instanceType), i.name.startsWith("broker") ? file["kafka-lab:brokerInstanceType"] : file["kafka-lab:clientInstanceType"]);
        }
        const ami = run.invokes.find((c) => c.token === "aws:ec2/getAmi:getAmi")!;
        const owners: Record<string, string> = { "centos-stream-9": "125523088429", "rocky-9": "792107900819", "almalinux-9": "764336703387" };
        t.deepEqual(ami.args.owners, [owners[file["kafka-lab:imageFamily"]]]);
        t.true(ami.args.mostRecent);
    });

    test.serial(`${stack}: security groups let SSH in only from admins, ZooKeeper only from the brokers, metrics only from the monitoring host, egress explicit`, async (t) => {
        const run = await runProgram(stack);
        const file = stackConfig(stack);
        const admin: string[] = JSON.parse(file["kafka-lab:adminCidrs"]);
        const clients: string[] = JSON.parse(file["kafka-lab:clientCidrs"]);
        const [broker, producer, consumer] = ["broker", "producer", "consumer"].map((k) => groupId(run, k));
        const rules = await Promise.all(
            ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(async (r) => ({
                name: r.name,
                port: await resolve(r.inputs.fromPort),
                toPort: await resolve(r.inputs.toPort),
                cidr: await resolve(r.inputs.cidrIpv4),
                group: await resolve(r.inputs.referencedSecurityGroupId),
                target: await resolve(r.inputs.securityGroupId),
            })),
        );
        for (const r of rules) t.is(r.port, r.toPort);
        const ssh = rules.filter((r) => r.port === 22);
        t.is(ssh.length, 3 * admin.length);
        t.deepEqual([...new Set(ssh.map((r) => r.cidr))].sort(), [...admin].sort());
        // ZooKeeper keeps the SCRAM credentials and ACLs unauthenticated: the brokers alone reach it (none on KRaft).
        const zookeeper = rules.filter((r) => r.port === 2181).map((r) => [r.group, r.cidr, r.target]);
        t.deepEqual(zookeeper, run.config.topology.metadata === "zookeeper" ? [[broker, undefined, broker]] : []);
        t.deepEqual(rules.filter((r) => r.port === 9094).map((r) => r.cidr).sort(), [...clients].sort());
        t.deepEqual(rules.filter((r) => r.port === 9092).map((r) => r.group).sort(), [broker, producer, consumer].sort());
        // The bench's TCP stream: from the producer only (firewalld keeps it closed but during a bench).
        t.deepEqual(rules.filter((r) => r.port === 5201).map((r) => [r.group, r.target]), [[producer, broker]]);
        // Metrics: every exporter admitted from the monitoring host's (the consumer's) group alone; Prometheus from admins alone.
        const topology = run.config.topology;
        const expectedExporters = [
            ...[9100, 9404, ...(topology.zookeepers.length ? [9406] : []), ...(topology.controllerMode === "dedicated" ? [9405] : [])].map((port) => [port, consumer, broker]),
            [9100, consumer, producer],
            [9100, consumer, consumer],
        ];
        const byPort = (a: any[], b: any[]) => `${a[0]} ${a[2]}`.localeCompare(`${b[0]} ${b[2]}`);
        t.deepEqual(rules.filter((r) => [9100, 9404, 9405, 9406].includes(r.port)).map((r) => [r.port, r.group, r.target]).sort(byPort), expectedExporters.sort(byPort));
        t.deepEqual(rules.filter((r) => r.port === 9090).map((r) => [r.cidr, r.target]).sort(), admin.map((cidr) => [cidr, consumer]).sort());
        t.deepEqual(
            rules.filter((r) => ![22, 2181, 9092, 9093, 9094, 5201, 9100, 9404, 9405, 9406, 9090].includes(r.port)),
            [],
            "no other port is opened",
        );
        const egress = ofType(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
        t.deepEqual((await Promise.all(egress.map((e) => resolve(e.inputs.securityGroupId)))).sort(), [broker, producer, consumer].sort());
        t.is(ofType(run, "aws:ec2/securityGroup:SecurityGroup").length, 3);
    });

    test.serial(`${stack}: each broker's data lives on a dedicated encrypted volume attached to it`, async (t) => {
        const run = await runProgram(stack);
        for (const b of brokersOf(run)) {
            const volume = run.world.get("aws:ebs/volume:Volume", `${b}-data`)!;
            t.is(volume.inputs.size, Number(stackConfig(stack)["kafka-lab:dataVolumeGiB"]));
            t.true(volume.inputs.encrypted);
            t.is(volume.inputs.availabilityZone, run.world.get("aws:ec2/instance:Instance", b)!.state.availabilityZone, "in its broker's zone");
            const attachment = run.world.get("aws:ec2/volumeAttachment:VolumeAttachment", `${b}-data`)!;
            t.is(attachment.inputs.instanceId, instanceId(run, b));
            // pulumi destroy detaches it: the instance is stopped first (Kafka stopped, volume unmounted) so that it cannot hang.
            t.true(attachment.inputs.stopInstanceBeforeDetaching);
            const mount = run.byName(`${b}-data-volume`);
            t.regex(await resolve(mount.inputs.stdin), new RegExp(`DATA_DEVICES='/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${volume.id.replace("-", "")} /dev/sdf /dev/xvdf'`));
            t.true(mount.dependsOn.includes(`${b}-exporters`));
        }
    });

    test.serial(`${stack}: outputs name every host, both bootstrap addresses, the host keys and a secret key`, async (t) => {
        const run = await runProgram(stack);
        const eip = (b: string) => run.world.get("aws:ec2/eip:Eip", `${b}-address`)!;
        for (const b of brokersOf(run)) {
            // A broker's public address is its Elastic IP, kept across a stop and start of the instance.
            t.is(eip(b).inputs.domain, "vpc");
            t.is(run.world.get("aws:ec2/eipAssociation:EipAssociation", `${b}-address`)!.inputs.instanceId, instanceId(run, b));
            const instance = run.world.get("aws:ec2/instance:Instance", b)!;
            t.deepEqual(run.outputs.hosts[b], { hostname: b, publicIp: eip(b).state.publicIp, privateIp: instance.state.privateIp });
            t.regex(await resolve(run.byName(`${b}-kafka-broker`).inputs.stdin), new RegExp(`advertised\\.listeners=INTERNAL://${b}:9092,EXTERNAL://${eip(b).state.publicIp.replace(/\./g, "\\.")}:9094`));
        }
        for (const h of ["producer", "consumer"]) {
            const instance = run.world.get("aws:ec2/instance:Instance", h)!;
            t.deepEqual(run.outputs.hosts[h], { hostname: h, publicIp: instance.state.publicIp, privateIp: instance.state.privateIp });
        }
        t.is(run.outputs.bootstrapServers, brokersOf(run).map((b) => `${eip(b).state.publicIp}:9094`).join(","));
        t.is(run.outputs.internalBootstrapServers, brokersOf(run).map((b) => `${b}:9092`).join(","));
        t.is(run.outputs.sshPrivateKey, "GENERATED-KEY");
        t.true(run.secretOutputs.includes("sshPrivateKey"));
        t.is(run.outputs.sshUser, { dev: "ec2-user", staging: "rocky", prod: "ec2-user" }[stack]);
        t.deepEqual(Object.keys(run.outputs.sshHostKeys), hostsOf(run));
        for (const key of Object.values<string>(run.outputs.sshHostKeys)) t.regex(key, /^ssh-ed25519 AAAA\S+$/);
        t.deepEqual(run.outputs.aws.zones, run.world.ofType("aws:ec2/subnet:Subnet").map((s) => s.state.availabilityZone));
    });

    test.serial(`${stack}: the external listener is ${stack === "dev" ? "plaintext" : "sasl_ssl: certificates for the brokers' Elastic IPs from the stack's CA, secrets kept secret, expiry dates out"}`, async (t) => {
        const run = await runProgram(stack);
        const first = brokersOf(run)[0];
        const brokerStep = await resolve(run.byName(`${first}-kafka-broker`).inputs.stdin);
        if (stack === "dev") {
            t.is(run.config.security.external, "plaintext");
            t.regex(brokerStep, /listener\.security\.protocol\.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT/);
            t.false(run.resources.some((r) => r.name.startsWith("tls-")));
            t.is(run.outputs.caCertificate, undefined);
            return;
        }
        t.is(run.config.security.external, "sasl_ssl");
        t.is(run.config.security.internal, "mtls", "mtls inside too, the default on staging and prod");
        t.is(run.outputs.internalSecurity, "mtls", "kept in the outputs: a later switch is refused");
        t.regex(brokerStep, /listener\.security\.protocol\.map=INTERNAL:SSL,EXTERNAL:SASL_SSL,CONTROLLER:SSL/);
        t.regex(brokerStep, /^super\.users=User:kafka-lab-node$/m);
        t.regex(brokerStep, /authorizer\.class\.name=org\.apache\.kafka\.metadata\.authorizer\.StandardAuthorizer/);
        // Made by local commands (no TLS provider, which cannot run here), kept secret and never logged.
        const internal = ["tls-client", "tls-admin", ...brokersOf(run).map((b) => `tls-node-${b}`)];
        for (const name of ["tls-ca", ...brokersOf(run).map((b) => `tls-${b}`), ...internal]) {
            const r = run.byName(name);
            t.is(r.type, "command:local:Command");
            t.deepEqual(r.additionalSecretOutputs, ["stdout"]);
            t.is(await resolve(r.inputs.logging), "none");
        }
        for (const b of brokersOf(run)) {
            const step = await resolve(run.byName(`${b}-kafka-broker`).inputs.stdin);
            const keystore = /EXTERNAL_KEYSTORE='([^']*)'/.exec(step)![1];
            t.regex(keystore, /^-----BEGIN PRIVATE KEY-----/);
            const [cert] = certificatesOf(keystore);
            const ip = run.world.get("aws:ec2/eip:Eip", `${b}-address`)!.state.publicIp;
            t.is(cert.checkIP(ip), ip, `${b}: the advertised Elastic IP is in the certificate`);
            t.is(cert.checkHost(b), b);
            t.true(cert.verify(new crypto.X509Certificate(run.outputs.caCertificate).publicKey), "signed by the CA the stack outputs");
            t.is(run.outputs.certificateExpiry[b], new Date(cert.validTo).toISOString(), `${b}: its expiry is an output`);
        }
        // mtls: each node's certificate names it as the lab reaches it (lab name, private address: not the
        // Elastic IP, nothing outside reaches these listeners), from the same CA; the keys only where held.
        for (const b of brokersOf(run)) {
            const stdin = run.byName(`${b}-identities`).inputs.stdin;
            t.true(await pulumi.isSecret(stdin), `${b}: its identities step holds keys: secret in the state`);
            const step = await resolve(stdin);
            const keystore = /^NODE_KEYSTORE='([^']*)'/m.exec(step)![1];
            const [cert] = certificatesOf(keystore);
            const privateIp = run.world.get("aws:ec2/instance:Instance", b)!.state.privateIp;
            t.is(cert.checkHost(b), b);
            t.is(cert.checkIP(privateIp), privateIp, `${b}: its private address`);
            t.is(cert.checkIP(run.world.get("aws:ec2/eip:Eip", `${b}-address`)!.state.publicIp), undefined);
            t.true(cert.verify(new crypto.X509Certificate(run.outputs.caCertificate).publicKey), "the external listener's CA");
            t.is(/^ADMIN_KEYSTORE='([^']*)'/m.exec(step)![1] !== "", b === first, `${b}: the admin's key on the first broker only`);
        }
        for (const host of ["producer", "consumer"]) {
            const step = await resolve(run.byName(`${host}-identities`).inputs.stdin);
            t.regex(step, /^CLIENT_KEYSTORE='-----BEGIN PRIVATE KEY-----/m, host);
            t.regex(step, /^NODE_KEYSTORE=''$/m, host);
            t.regex(step, /^ADMIN_KEYSTORE=''$/m, host);
        }
        for (const secret of ["clientPassword", "clientProperties", "sshPrivateKey"]) t.true(run.secretOutputs.includes(secret), secret);
        t.false(run.secretOutputs.includes("certificateExpiry"));
        t.regex(run.outputs.clientProperties, /^security\.protocol=SASL_SSL$/m);
        t.regex(run.outputs.clientProperties, new RegExp(`password="${run.outputs.clientPassword}"`));
        t.regex(await resolve(run.byName(`${first}-scram-acls`).inputs.stdin), /CLIENT_USER='kafka-lab-client'/);
        // The secure listener is reached as before: 9094 from the clients' ranges only.
        const rules = run.world.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => r.inputs);
        t.deepEqual(rules.filter((r) => r.fromPort === 9094).map((r) => r.cidrIpv4).sort(), [...JSON.parse(stackConfig(stack)["kafka-lab:clientCidrs"])].sort());
    });
}

test.serial("provisioning steps run in order on each host, each after the one before", async (t) => {
    const run = await runProgram("dev");
    for (const role of ROLES) {
        const names = stepsFor(run.config, role, role === "broker").map((s) => `${role}-${s}`);
        const commands = ofType(run, "command:remote:Command").filter((c) => c.name.startsWith(`${role}-`));
        t.deepEqual(commands.map((c) => c.name), names);
        // The tarball is uploaded (artifactDelivery upload, the default on AWS) between the first two steps.
        const upload = run.byName(`${role}-upload-kafka`);
        t.deepEqual(upload.dependsOn, [`${role}-wait-ready`]);
        // The JMX exporter agent is uploaded to the broker alone, after Java, before the exporters step checks it.
        const agentUpload = role === "broker" ? run.byName("broker-upload-jmx-exporter") : undefined;
        if (agentUpload) t.deepEqual(agentUpload.dependsOn, ["broker-wait-ready"], "beside the steps, once the machine answers");
        else t.false(run.resources.some((r) => r.name === `${role}-upload-jmx-exporter`), `no agent on ${role}`);
        // kafka-python's wheel to the client machines, before the clients step checks and installs it.
        const wheelUpload = role === "broker" ? undefined : run.byName(`${role}-upload-kafka-python`);
        if (wheelUpload) t.deepEqual(wheelUpload.dependsOn, [`${role}-wait-ready`]);
        commands.forEach((c, i) => {
            const before = c.name.endsWith("-stage-kafka")
                ? [upload.name]
                : c.name.endsWith("-exporters") && agentUpload
                  ? [names[i - 1], agentUpload.name]
                  : c.name.endsWith("-clients") && wheelUpload
                    ? [names[i - 1], wheelUpload.name]
                    : [names[i - 1]];
            if (i > 0) t.deepEqual(c.dependsOn, before, c.name);
        });
        // Besides its instance (through its address), the broker waits for its data volume, the volume's
        // attachment and its Elastic IP; no host waits for another host's resources.
        t.deepEqual(commands[0].dependsOn, role === "broker" ? ["broker-data", "broker-data", "broker-address"] : [], role);
        for (const c of commands) {
            if (c.name.endsWith("-kafka-broker")) {
                // A new instance starts its broker; a changed setting updates it, which does nothing here...
                t.deepEqual(await resolve(c.inputs.triggers), [instanceId(run, role)]);
                t.regex(await resolve(c.inputs.create), /sudo -n bash -s -- start$/);
                t.is(await resolve(c.inputs.update), "cat >/dev/null", "it reads its stdin: a command exiting before would fail the step with EOF");
            } else if (c.name.endsWith("-zookeeper")) {
                // So does ZooKeeper...
                t.deepEqual(await resolve(c.inputs.triggers), [instanceId(run, role)]);
                t.regex(await resolve(c.inputs.create), /sudo -n bash -s -- start$/);
                t.is(await resolve(c.inputs.update), "cat >/dev/null");
            } else if (/-(kafka-roll|kafka-protocol|zookeeper-roll)$/.test(c.name)) {
                // ...and here: a restart, when the service runs another configuration; the brokers' first roll
                // keeps the protocol they speak (a ZooKeeper-mode upgrade), kafka-protocol then raises it.
                t.deepEqual(await resolve(c.inputs.triggers), [instanceId(run, role)]);
                const args = c.name.endsWith("-kafka-roll") ? "roll pin-protocol" : "roll";
                t.true((await resolve(c.inputs.create)).endsWith(`sudo -n bash -s -- ${args}`), c.name);
                t.true((await resolve(c.inputs.update)).endsWith(`sudo -n bash -s -- ${args}`), c.name);
            } else {
                const [fingerprint, identity] = await resolve(c.inputs.triggers);
                t.regex(fingerprint, /^[0-9a-f]{64}$/, "the rendered script's hash");
                t.is(identity, instanceId(run, role), "the EC2 instance id: a new instance runs every step again");
                t.regex(await resolve(c.inputs.create), /sudo -n bash -s$/);
            }
            t.regex(await resolve(c.inputs.stdin), /^#!\/usr\/bin\/env bash\n# kafka-lab provisioning step/, "the step's script goes in on stdin");
            t.deepEqual(c.customTimeouts, { create: "20m", update: "20m", delete: "10m" }, "no step may hang a deploy");
            const conn = await resolve(c.inputs.connection);
            t.is(conn.dialErrorLimit, 40, "SSH dial retries are bounded");
            t.is(conn.perDialTimeout, 15);
            t.is(conn.user, "ec2-user");
            // The host key made for this machine (given to it through user data): checked on every connection.
            t.is(conn.hostKey, run.outputs.sshHostKeys[role]);
            t.true(run.world.get("aws:ec2/instance:Instance", role)!.inputs.userData.includes(`ed25519_public: ${conn.hostKey}\n`), "given to the instance at first boot");
            t.true(await pulumi.isSecret(c.inputs.connection), "the connection carries the private key: secret");
        }
    }
});

test.serial("a user-supplied key pair is used as given, its private key kept secret", async (t) => {
    const run = await runProgram("dev", { "kafka-lab:sshPublicKey": "ssh-ed25519 AAAAC3NzaUSER me@laptop" }, { "kafka-lab:sshPrivateKey": "USER-PRIVATE-KEY" });
    t.is(ofType(run, "tls:index/privateKey:PrivateKey").length, 0);
    t.is(run.outputs.sshPrivateKey, "USER-PRIVATE-KEY");
    t.true(run.secretOutputs.includes("sshPrivateKey"));
    t.is(await resolve((await resolve(run.byName("broker-wait-ready").inputs.connection)).privateKey), "USER-PRIVATE-KEY");
    t.is(await resolve(run.byName("ssh-key").inputs.publicKey), "ssh-ed25519 AAAAC3NzaUSER me@laptop");
});

test.serial("an existing VPC and subnet are used instead of creating a network", async (t) => {
    const subnet = Object.keys(EXISTING_NETWORK.subnets)[0];
    const run = await runProgram("dev", { "kafka-lab:vpcId": EXISTING_NETWORK.vpcId, "kafka-lab:subnetId": subnet });
    t.is(ofType(run, "aws:ec2/vpc:Vpc").length, 0);
    t.is(ofType(run, "aws:ec2/subnet:Subnet").length, 0);
    t.is(await resolve(run.byName("broker").inputs.subnetId), subnet);
    t.deepEqual(run.outputs.aws.subnetIds, [subnet]);
});

test.serial("the local stack registers no AWS resource, provider or invoke", async (t) => {
    const run = await runProgram("local");
    t.deepEqual(run.resources.filter((r) => r.type.startsWith("aws:") || r.type.startsWith("pulumi:providers:aws") || r.type.startsWith("tls:")), []);
    t.deepEqual(run.invokes.filter((c) => c.token.startsWith("aws:")), []);
    const machines = ofType(run, "command:local:Command").filter((c) => c.name.startsWith("machine-"));
    t.deepEqual(machines.map((m) => m.name), ["machine-broker", "machine-producer", "machine-consumer"]);
    t.regex(await resolve(machines[0].inputs.create), /^bash scripts\/local\/machine.sh up 'kl-local-broker' '10.77.0.11\/24' 'kl-br0' .* '2G'$/);
    t.regex(await resolve(machines[0].inputs.delete), /^bash scripts\/local\/machine.sh down 'kl-local-broker'$/);
    // Lab machines have no internet: the tarball is uploaded, and its checksum is the published one.
    const upload = run.byName("broker-upload-kafka");
    t.is(upload.type, "command:remote:CopyToRemote");
    t.regex(await resolve(run.byName("broker-stage-kafka").inputs.stdin), new RegExp(`EXPECTED_SHA512='${tarballSha}'`));
    t.is(await resolve(upload.inputs.remotePath), "/var/tmp/kafka_2.13-3.9.2.tgz");
    t.is(await resolve(upload.inputs.source).then((a: pulumi.asset.FileAsset) => a.path), tarball);
    // Each machine's steps (the upload too) carry that machine's resource id: replaced, it is provisioned anew.
    t.deepEqual(await resolve(upload.inputs.triggers), [tarballSha, commandId(run, "machine-broker")]);
    for (const role of ROLES) t.is((await resolve(run.byName(`${role}-java`).inputs.triggers))[1], commandId(run, `machine-${role}`));
    // The host key, read from the machine's own disk once it is made, is pinned on every connection.
    for (const role of ROLES) {
        const hostKey = run.byName(`host-key-${role}`);
        t.regex(await resolve(hostKey.inputs.create), new RegExp(`^bash scripts/local/machine.sh hostkey 'kl-local-${role}'$`));
        t.deepEqual((await resolve(hostKey.inputs.triggers)).slice(1), [commandId(run, `machine-${role}`)], "read again from a new machine");
    }
    // The key: made once, never logged, its output a secret; a new key comes only with new machines.
    const key = run.byName("ssh-key");
    t.is(await resolve(key.inputs.logging), "none");
    t.deepEqual(key.additionalSecretOutputs, ["stdout"]);
    t.deepEqual((await resolve(machines[1].inputs.triggers)).slice(1), [commandId(run, "ssh-key")]);
    // Each host's first step waits for its own machine only: replacing one machine drags no other host's steps.
    for (const role of ROLES) t.deepEqual(run.byName(`${role}-wait-ready`).dependsOn, [`machine-${role}`]);
    t.deepEqual(run.outputs.hosts.broker, { hostname: "broker", publicIp: "10.77.0.11", privateIp: "10.77.0.11" });
    t.is(run.outputs.bootstrapServers, "10.77.0.11:9094");
    t.is(run.outputs.sshUser, "debian");
    t.true(run.secretOutputs.includes("sshPrivateKey"));
});

test.serial("existing target: nothing is created; the machines are provisioned and cleaned up on destroy", async (t) => {
    const key = path.join(tmpDir("kafka-lab-key-"), "id");
    fs.writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nEXISTING\n-----END OPENSSH PRIVATE KEY-----\n");
    const run = await runProgram("existing", { "kafka-lab:sshPrivateKeyPath": key, "kafka-lab:brokerPublicAddress": "203.0.113.7", "kafka-lab:sshHostKeys": HOST_KEYS });
    const types = new Set(run.resources.map((r) => r.type));
    t.deepEqual([...types].filter((x) => x.startsWith("aws:") || x.startsWith("command:local:") || x.startsWith("tls:")), []);
    const uploads = ofType(run, "command:remote:CopyToRemote").map((c) => c.name);
    t.deepEqual(uploads, ["broker-upload-jmx-exporter", "producer-upload-kafka-python", "consumer-upload-kafka-python"], "the machines download Kafka themselves; the JMX exporter agent is uploaded to the broker, kafka-python's wheel to the clients");
    for (const role of ROLES) {
        const uninstall = run.byName(`${role}-uninstall-on-destroy`);
        t.deepEqual(uninstall.dependsOn, [`${role}-wait-ready`]);
        t.regex(await resolve(uninstall.inputs.stdin), /PURGE_DATA='false'/);
        t.is(await resolve(uninstall.inputs.create), "cat >/dev/null");
        t.regex(await resolve(uninstall.inputs.delete), /sudo -n bash -s/);
        t.deepEqual(run.byName(`${role}-stage-kafka`).dependsOn, [`${role}-uninstall-on-destroy`], "every later step depends on it, so it is removed last");
    }
    const conn = await resolve(run.byName("broker-wait-ready").inputs.connection);
    t.deepEqual([conn.host, conn.user, conn.port, conn.hostKey], ["203.0.113.7", "admin", 22, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBROKER"]);
    t.regex(conn.privateKey, /EXISTING/);
    // The machine is identified over SSH on every run: a machine reinstalled at the same address is a new one.
    const identify = run.invokes.filter((c) => c.token === "command:local:run");
    t.is(identify.length, 3);
    t.regex(identify[0].args.command, /ssh -i "\$k" -p 22 .*-o StrictHostKeyChecking=yes .* 'admin@203\.0\.113\.7' .*\/etc\/os-release.*\/etc\/machine-id/);
    t.regex(identify[0].args.command, /'203\.0\.113\.7 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBROKER'/, "its host key checked there too");
    t.regex(identify[0].args.stdin, /EXISTING/, "the key goes in on stdin, never on the command line");
    t.is(identify[0].args.logging, "none");
    t.deepEqual(await resolve(run.byName("broker-java").inputs.triggers).then((x: string[]) => x[1]), "203.0.113.7 debian 12 4f1c0ffee4f1c0ffee4f1c0ffee4f1c0");
    t.is(run.outputs.bootstrapServers, "203.0.113.7:9094");
    t.deepEqual(run.outputs.hosts.broker, { hostname: "broker", publicIp: "203.0.113.7", privateIp: "192.168.56.11" });
    t.is(run.outputs.sshUser, "admin");
    t.true(run.secretOutputs.includes("sshPrivateKey"));
});

test.serial("existing target: a machine without a configured host key is refused, showing the key it shows and how to check it", async (t) => {
    const key = path.join(tmpDir("kafka-lab-key-"), "id");
    fs.writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nEXISTING\n-----END OPENSSH PRIVATE KEY-----\n");
    const before = engineCreated.length;
    const seen = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISEEN";
    const err = await t.throwsAsync(() =>
        run0("existing", {
            overrides: { "kafka-lab:sshPrivateKeyPath": key, "kafka-lab:sshHostKeys": JSON.stringify(JSON.parse(HOST_KEYS).slice(1)) },
            localRun: (command) => (command.startsWith("ssh-keyscan") ? `192.168.56.11 ${seen}\n` : "debian 12 4f1c0ffee4f1c0ffee4f1c0ffee4f1c0"),
        }),
    );
    t.regex(err!.message, /kafka-lab:sshHostKeys has no key for broker \(192\.168\.56\.11:22\)\. It shows SHA256:\S+: check that on the machine itself/);
    t.regex(err!.message, new RegExp(`pulumi config set --path 'kafka-lab:sshHostKeys\\[N\\]' 'broker ${seen}'`));
    t.notRegex(err!.message, /producer|consumer/, "the machines with a key are not named");
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(engineCreated.slice(before).filter((n) => n !== "deployed" && n !== "kafka-lab-existing"), [], "nothing was created");
});

test.serial("every stack provisions with @pulumi/command resources only: no dynamic provider anywhere", async (t) => {
    for (const stack of ["dev", "staging", "prod", "local"]) {
        const run = await runProgram(stack);
        t.deepEqual(run.resources.filter((r) => r.type.startsWith("pulumi-nodejs:")).map((r) => r.name), [], stack);
        const types = new Set(run.resources.filter((r) => r.type.startsWith("command:")).map((r) => r.type));
        // Local commands on the deploying machine (the local machines, AWS host keys, sasl_ssl credentials),
        // remote commands for the steps, and the tarball's upload.
        t.deepEqual([...types].sort(), ["command:local:Command", "command:remote:Command", "command:remote:CopyToRemote"], stack);
        const steps = ofType(run, "command:remote:Command").map((c) => c.name);
        t.deepEqual(steps.sort(), hostsOf(run).flatMap((host) => stepsFor(run.config, host, host.startsWith("broker") && stack !== "local").map((s) => `${host}-${s}`)).sort(), stack);
    }
});

test.serial("invalid config registers no resource at all", async (t) => {
    const before = engineCreated.length;
    const err = await t.throwsAsync(() => runProgram("dev", { "kafka-lab:zookeeperCidrs": '["0.0.0.0/0"]' }));
    t.regex(err!.message, /ZooKeeper must never be open to the internet/);
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(engineCreated.slice(before), ["kafka-lab-dev"], "only the stack itself");
});

test.serial("a tarball whose checksum does not match stops before anything is created", async (t) => {
    const before = engineCreated.length;
    const err = await t.throwsAsync(() => runProgram("local", { "kafka-lab:artifactSha512": "ab".repeat(64) }));
    await new Promise((r) => setTimeout(r, 200));
    t.deepEqual(engineCreated.slice(before).filter((n) => n !== "deployed"), ["kafka-lab-local"], "only the stack itself");
    t.regex(err!.message, /SHA-512 of .*kafka_2.13-3.9.2.tgz does not match kafka-lab:artifactSha512: expected abab.*Nothing was created/);
});

for (const [metadata, version] of [["zookeeper", "3.9.2"], ["kraft", "4.4.0"]] as const) {
    test.serial(`AWS, 3 brokers in ${metadata} mode: three zones, broker.rack the zone id, quorum ports only between brokers`, async (t) => {
        const run = await runProgram("dev", { "kafka-lab:brokers": "3", "kafka-lab:kafkaVersion": version });
        t.deepEqual(ofType(run, "aws:ec2/instance:Instance").map((i) => i.name), ["broker1", "broker2", "broker3", "producer", "consumer"]);
        // One public subnet per zone, the next /24 each; the brokers round-robin over them.
        const subnets = ofType(run, "aws:ec2/subnet:Subnet");
        t.deepEqual(await Promise.all(subnets.map(async (s) => [s.name, await resolve(s.inputs.cidrBlock), await resolve(s.inputs.availabilityZone)])), [
            ["lab-subnet", "10.42.1.0/24", "eu-west-1a"],
            ["lab-subnet-2", "10.42.2.0/24", "eu-west-1b"],
            ["lab-subnet-3", "10.42.3.0/24", "eu-west-1c"],
        ]);
        const subnetIds = ["lab-subnet", "lab-subnet-2", "lab-subnet-3", "lab-subnet"].map((n) => idOf(run, "aws:ec2/subnet:Subnet", n));
        t.deepEqual(await Promise.all(["broker1", "broker2", "broker3", "producer"].map((n) => resolve(run.byName(n).inputs.subnetId))), subnetIds);
        for (const [i, broker] of ["broker1", "broker2", "broker3"].entries()) {
            const properties = await resolve(run.byName(`${broker}-kafka-broker`).inputs.stdin);
            t.regex(properties, new RegExp(`^broker\\.rack=${["euw1-az3", "euw1-az1", "euw1-az2"][i]}$`, "m"), `${broker}: the zone id, not its name`);
            t.truthy(run.byName(`${broker}-data`), "each broker has its data volume");
            t.is(await resolve(run.byName(`${broker}-address`).inputs.domain), "vpc", "and its Elastic IP");
        }
        t.is(run.outputs.bootstrapServers, "198.51.100.201:9094,198.51.100.202:9094,198.51.100.203:9094");
        t.is(run.outputs.internalBootstrapServers, "broker1:9092,broker2:9092,broker3:9092");
        const rules = await Promise.all(
            ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(async (r) => ({
                port: await resolve(r.inputs.fromPort),
                group: await resolve(r.inputs.referencedSecurityGroupId),
                cidr: await resolve(r.inputs.cidrIpv4),
                target: await resolve(r.inputs.securityGroupId),
            })),
        );
        const quorumPorts = metadata === "zookeeper" ? [2888, 3888] : [9093];
        for (const port of quorumPorts) {
            t.deepEqual(rules.filter((r) => r.port === port).map((r) => [r.group, r.target]), [[groupId(run, "broker"), groupId(run, "broker")]], `${port}: between the lab's brokers only`);
        }
        const absent = metadata === "zookeeper" ? [9093] : [2181, 2888, 3888];
        t.deepEqual(rules.filter((r) => absent.includes(r.port)), [], `no ${absent.join("/")} in ${metadata} mode`);
        // The brokers start side by side; a change rolls through them one after the other; the topic waits for all.
        t.false(run.byName("broker3-kafka-broker").dependsOn.some((d) => /^broker\d-kafka-(broker|roll)$/.test(d)), "starts beside the others");
        t.deepEqual(run.byName("broker3-kafka-roll").dependsOn.sort(), ["broker2-kafka-roll", "broker3-kafka-broker"]);
        if (metadata === "zookeeper") {
            // ZooKeeper's nodes start side by side, then roll one at a time; the brokers start after the last one.
            t.deepEqual(run.byName("broker1-zookeeper-roll").dependsOn.sort(), ["broker1-zookeeper", "broker2-zookeeper", "broker3-zookeeper"]);
            t.deepEqual(run.byName("broker2-zookeeper-roll").dependsOn.sort(), ["broker1-zookeeper-roll", "broker2-zookeeper"]);
            t.deepEqual(run.byName("broker1-kafka-broker").dependsOn.sort(), ["broker1-zookeeper-roll", "broker3-zookeeper-roll"]);
            // The protocol is raised in a second roll, once every broker runs the release; then the topic.
            t.deepEqual(run.byName("broker1-kafka-protocol").dependsOn.sort(), ["broker1-kafka-roll", "broker3-kafka-roll"]);
            t.deepEqual(run.byName("broker3-kafka-protocol").dependsOn.sort(), ["broker2-kafka-protocol", "broker3-kafka-roll"]);
            t.deepEqual(run.byName("broker1-topic").dependsOn.sort(), ["broker1-kafka-protocol", "broker2-kafka-protocol", "broker3-kafka-protocol"]);
        } else {
            // The features are raised once every node runs the release (controllers, broker1..3, first); then the topic.
            t.deepEqual(run.byName("broker1-features").dependsOn.sort(), ["broker1-kafka-roll", "broker2-kafka-roll", "broker3-kafka-roll"]);
            t.deepEqual(run.byName("broker1-topic").dependsOn, ["broker1-features"]);
            t.false(run.resources.some((r) => r.name.endsWith("-kafka-protocol")), "no protocol roll in KRaft");
        }
    });
}

test.serial("AWS, 3 brokers, dedicated controllers: each controller starts beside the others, they roll one at a time, the brokers start after the last; 9093 between the brokers' machines only; the choice is an output", async (t) => {
    const run = await runProgram("dev", { "kafka-lab:brokers": "3", "kafka-lab:kafkaVersion": "4.4.0", "kafka-lab:controllers": "dedicated" });
    t.is(run.outputs.controllers, "dedicated", "kept in the outputs: a later change is refused");
    for (const b of ["broker1", "broker2", "broker3"]) {
        t.deepEqual(run.byName(`${b}-kafka-controller`).dependsOn, [`${b}-identities`], `${b}: its controller starts beside the others`);
        t.regex(await resolve(run.byName(`${b}-kafka-controller`).inputs.create), /sudo -n bash -s -- start$/);
        t.regex(await resolve(run.byName(`${b}-kafka-controller-roll`).inputs.update), /sudo -n bash -s -- roll$/);
    }
    t.deepEqual(run.byName("broker1-kafka-controller-roll").dependsOn.sort(), ["broker1-kafka-controller", "broker2-kafka-controller", "broker3-kafka-controller"]);
    t.deepEqual(run.byName("broker2-kafka-controller-roll").dependsOn.sort(), ["broker1-kafka-controller-roll", "broker2-kafka-controller"]);
    t.deepEqual(run.byName("broker1-kafka-broker").dependsOn.sort(), ["broker1-kafka-controller-roll", "broker3-kafka-controller-roll"]);
    t.deepEqual(run.byName("broker2-kafka-broker").dependsOn.sort(), ["broker2-kafka-controller-roll", "broker3-kafka-controller-roll"]);
    t.regex(await resolve(run.byName("broker2-kafka-controller").inputs.stdin), /^process\.roles=controller$/m);
    t.regex(await resolve(run.byName("broker2-kafka-broker").inputs.stdin), /^process\.roles=broker$/m);
    const rules = await Promise.all(
        ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map(async (r) => ({ port: await resolve(r.inputs.fromPort), group: await resolve(r.inputs.referencedSecurityGroupId), target: await resolve(r.inputs.securityGroupId) })),
    );
    t.deepEqual(rules.filter((r) => r.port === 9093).map((r) => [r.group, r.target]), [[groupId(run, "broker"), groupId(run, "broker")]]);
});

test.serial("ZooKeeper to KRaft on AWS: dual-write starts the controllers, rolls the brokers into migration, waits for the copy, rolls them as KRaft brokers; rollback and finalize order their steps as Kafka's procedure does; ports for both while both run", async (t) => {
    const run = await runProgram("dev", { "kafka-lab:brokers": "3", "kafka-lab:kraftMigration": "dual-write" });
    t.is(run.outputs.kraftMigration, "dual-write");
    t.is(run.outputs.metadata, "zookeeper");
    t.deepEqual(run.byName("broker1-kafka-broker").dependsOn.sort(), ["broker1-kafka-controller-roll", "broker3-kafka-controller-roll", "broker3-zookeeper-roll"]);
    t.deepEqual(run.byName("broker1-kafka-migrate").dependsOn, ["broker1-kafka-broker"]);
    t.deepEqual(run.byName("broker2-kafka-migrate").dependsOn.sort(), ["broker1-kafka-migrate", "broker2-kafka-broker"]);
    t.deepEqual(run.byName("broker1-migration-copied").dependsOn.sort(), ["broker1-kafka-migrate", "broker3-kafka-migrate"]);
    t.deepEqual(run.byName("broker1-kafka-roll").dependsOn, ["broker1-migration-copied"]);
    t.deepEqual(run.byName("broker2-kafka-roll").dependsOn.sort(), ["broker1-kafka-roll", "broker2-kafka-migrate"]);
    t.regex(await resolve(run.byName("broker2-kafka-migrate").inputs.update), /sudo -n bash -s -- migrate$/);
    t.false(run.resources.some((r) => /-(features|kafka-protocol)$/.test(r.name)), "metadata.version and the protocol stay as they are");
    const ports = async (r: Run) => new Set(await Promise.all(ofType(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((x) => resolve(x.inputs.fromPort))));
    for (const port of [2181, 2888, 3888, 9093]) t.true((await ports(run)).has(port), `${port} open between the brokers during dual-write`);

    const back = await runProgram("dev", { "kafka-lab:brokers": "3", "kafka-lab:kraftMigration": "rollback" });
    t.deepEqual(back.byName("broker2-kafka-controller-retire").dependsOn.sort(), ["broker2-kafka-migrate", "broker3-kafka-migrate"], "the controllers go once every broker is back in ZooKeeper mode");
    t.deepEqual(back.byName("broker1-zookeeper-unmigrate").dependsOn.sort(), ["broker1-kafka-controller-retire", "broker2-kafka-controller-retire", "broker3-kafka-controller-retire"]);
    t.deepEqual(back.byName("broker1-kafka-roll").dependsOn, ["broker1-zookeeper-unmigrate"]);
    t.false(back.resources.some((r) => r.name.endsWith("-kafka-controller")), "no controller started in a rollback");

    const fin = await runProgram("dev", { "kafka-lab:brokers": "3", "kafka-lab:kraftMigration": "finalize" });
    t.is(fin.outputs.metadata, "kraft");
    t.deepEqual(fin.byName("broker1-migration-finalized").dependsOn.sort(), ["broker1-kafka-roll", "broker2-kafka-roll", "broker3-kafka-controller-roll", "broker3-kafka-roll"]);
    t.deepEqual(fin.byName("broker2-zookeeper-retire").dependsOn.sort(), ["broker1-migration-finalized", "broker2-kafka-roll"]);
    t.deepEqual(fin.byName("broker1-features").dependsOn.sort(), ["broker1-zookeeper-retire", "broker2-zookeeper-retire", "broker3-zookeeper-retire"]);
    t.false(fin.resources.some((r) => /-zookeeper(-roll)?$/.test(r.name)), "ZooKeeper's steps gone");
    t.false(fin.resources.some((r) => r.name === "kafka-cluster-id"), "no new cluster id: the cluster keeps ZooKeeper's");
});

test.serial("existing target, 3 brokers: each listed machine is provisioned as broker1..3 and identified over SSH", async (t) => {
    const key = path.join(tmpDir("kafka-lab-key-"), "id");
    fs.writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nEXISTING\n-----END OPENSSH PRIVATE KEY-----\n");
    const run = await runProgram("existing", {
        "kafka-lab:sshPrivateKeyPath": key,
        "kafka-lab:brokers": "3",
        "kafka-lab:brokerAddress": "",
        "kafka-lab:brokerAddresses": '["192.168.56.21", "192.168.56.22", "192.168.56.23"]',
        "kafka-lab:racks": '["rack-a", "rack-b", "rack-a"]',
        "kafka-lab:sshHostKeys": JSON.stringify(["broker1", "broker2", "broker3", "producer", "consumer"].map((h) => `${h} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${h.toUpperCase()}`)),
    });
    t.deepEqual(Object.keys(run.outputs.hosts), ["broker1", "broker2", "broker3", "producer", "consumer"]);
    t.is(run.outputs.internalBootstrapServers, "broker1:9092,broker2:9092,broker3:9092");
    t.is(run.invokes.filter((c) => c.token === "command:local:run").length, 5, "every machine identified");
    t.regex(await resolve(run.byName("broker3-kafka-broker").inputs.stdin), /^broker\.rack=rack-a$/m);
    t.regex(await resolve(run.byName("broker2-zookeeper").inputs.stdin), /^server\.3=broker3:2888:3888$/m);
});

test.serial("dataVolumeOnDestroy: protect refuses deletion, retain leaves the volumes in the account, delete deletes them", async (t) => {
    for (const [policy, protect, retainOnDelete] of [["protect", true, undefined], ["retain", false, true], ["delete", false, false]] as const) {
        // README's way to really destroy prod: dataVolumeOnDestroy delete, pulumi up, pulumi destroy.
        const run = await runProgram("prod", { "kafka-lab:dataVolumeOnDestroy": policy });
        for (const v of run.world.ofType("aws:ebs/volume:Volume")) {
            t.is(!!v.options.protect, protect, `${policy}: ${v.name} protect`);
            t.is(!!v.options.retainOnDelete, !!retainOnDelete, `${policy}: ${v.name} retainOnDelete`);
        }
    }
});

test.serial("artifactDelivery download on AWS: each machine fetches the Apache archive's tarball, checked against the checksum pinned in the program", async (t) => {
    const url = "https://archive.apache.org/dist/kafka/3.9.2/kafka_2.13-3.9.2.tgz";
    const run = await runProgram("dev", { "kafka-lab:artifactUrl": url, "kafka-lab:artifactDelivery": "download" });
    t.deepEqual(ofType(run, "command:remote:CopyToRemote").filter((c) => c.name.endsWith("-upload-kafka")), [], "no tarball uploaded");
    const stage = await resolve(run.byName("broker-stage-kafka").inputs.stdin);
    t.regex(stage, new RegExp(`ARTIFACT_URL='${url.replace(/\./g, "\\.")}'`));
    t.regex(stage, /STAGED=''/);
    t.regex(stage, new RegExp(`EXPECTED_SHA512='${PINNED_SHA512["kafka_2.13-3.9.2.tgz"]}'`));
});

test.serial("caRotation under mocks (staging: mtls inside): trust holds both CAs, the old one issuing; reissue, the new one issuing; none, the new one alone; every node trusts what it is shown", async (t) => {
    const ca1 = { generation: 1, resource: "tls-ca" };
    const ca2 = { generation: 2, resource: "tls-ca-g2" };
    const deployed = (cas: { generation: number }[], caRotation: string) => ({ target: "aws", kafkaVersion: "4.4.0", brokers: 3, metadata: "kraft", controllers: "combined", internalSecurity: "mtls", externalSecurity: "plaintext", credentialsGeneration: cas.at(-1)!.generation, certificateAuthorities: cas, caRotation });
    const phases = [
        { phase: "trust", was: deployed([ca1], "none"), cas: ["tls-ca", "tls-ca-g2"], issuer: "CN=kafka-lab staging CA" },
        { phase: "reissue", was: deployed([ca1, ca2], "trust"), cas: ["tls-ca", "tls-ca-g2"], issuer: "CN=kafka-lab staging CA 2" },
        { phase: "none", was: deployed([ca1, ca2], "reissue"), cas: ["tls-ca-g2"], issuer: "CN=kafka-lab staging CA 2" },
    ];
    for (const { phase, was, cas, issuer } of phases) {
        const run = await run0("staging", { overrides: { "kafka-lab:credentialsGeneration": "2", "kafka-lab:caRotation": phase }, deployed: was });
        t.deepEqual(run.resources.filter((r) => /^tls-ca/.test(r.name)).map((r) => r.name), cas, `${phase}: the CAs held`);
        t.deepEqual(run.outputs.certificateAuthorities.map((c: { resource: string }) => c.resource), cas, `${phase}: an output, for the next phase`);
        t.is(run.outputs.caRotation, phase);
        const trusted = certificatesOf(run.outputs.caCertificate);
        t.is(trusted.length, cas.length, `${phase}: clients trust every CA held`);
        for (const b of brokersOf(run)) {
            const step = await resolve(run.byName(`${b}-identities`).inputs.stdin);
            const [cert] = certificatesOf(/^NODE_KEYSTORE='([^']*)'/m.exec(step)![1]);
            t.true(cert.issuer.endsWith(issuer), `${phase}, ${b}: its certificate from ${issuer}`);
            t.true(trusted.some((ca) => cert.verify(ca.publicKey)), `${phase}, ${b}: signed by a CA the nodes trust`);
            t.is(/^CA_CERT='([^']*)'/m.exec(step)![1].trim(), run.outputs.caCertificate.trim(), `${phase}, ${b}: the nodes' trust is the CAs held`);
        }
    }
});
