// The whole program under Pulumi's own mocks, for every stack in stacks/: what it registers, with
// which inputs and in which order. Only the AWS provider is mocked because it cannot run here.
import test from "ava";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { parse } from "yaml";
import { LabConfig, loadLabConfig } from "../src/config";
import { KafkaLab } from "../src/lab";
// The guide's lab: one broker, and the two client machines.
const ROLES = ["broker", "producer", "consumer"] as const;
import { stepsFor } from "../src/render";
import { REPO } from "./helpers/lab";

interface Registered {
    type: string;
    name: string;
    inputs: Record<string, any>;
    dependsOn: string[];
    customTimeouts?: pulumi.CustomTimeouts;
    additionalSecretOutputs?: string[];
}
interface Run {
    resources: Registered[];
    invokes: { token: string; args: Record<string, any> }[];
    outputs: Record<string, any>;
    config: LabConfig;
    byName(name: string): Registered;
}

// A fake Kafka tarball with its .sha512 beside it, as the lab's own build leaves it.
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-test-"));
fs.mkdirSync(path.join(cacheDir, "dist"));
const tarball = path.join(cacheDir, "dist", "kafka_2.13-3.9.2.tgz");
fs.writeFileSync(tarball, "not really a tarball");
const tarballSha = crypto.createHash("sha512").update(fs.readFileSync(tarball)).digest("hex");
fs.writeFileSync(`${tarball}.sha512`, `${tarballSha}  kafka_2.13-3.9.2.tgz\n`);
process.env.KAFKA_LAB_CACHE = cacheDir;

function stackConfig(stack: string): Record<string, string> {
    const file = parse(fs.readFileSync(path.join(REPO, "stacks", `Pulumi.${stack}.yaml`), "utf8")).config ?? {};
    return Object.fromEntries(Object.entries(file).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
}

const pick = ({ customTimeouts, additionalSecretOutputs }: pulumi.CustomResourceOptions) => ({ customTimeouts, additionalSecretOutputs });
// Not in the SDK's type declarations, but exported: it waits until every outstanding call to the engine is done.
const waitForRPCs: () => Promise<void> = (settings as any).waitForRPCs;
const unwrap = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

/** A secret input as the mocks see it: Pulumi's secret signature around the value. */
const unsecret = (v: any) => (v && typeof v === "object" && "4dabf18193072939515e22adb298388d" in v ? v.value : v);

/** Everything the mocked engine was asked to create, across runs: a run that throws must add nothing. */
const engineCreated: string[] = [];

async function runProgram(stack: string, overrides: Record<string, string> = {}, secrets: Record<string, string> = {}): Promise<Run> {
    const resources: Registered[] = [];
    const invokes: Run["invokes"] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                engineCreated.push(args.name);
                const state: Record<string, any> = { ...args.inputs };
                if (args.type === "aws:ec2/instance:Instance") {
                    // The guide's hosts keep .11-.13; a cluster's brokers get .21 and on.
                    const n = ROLES.includes(args.name as any) ? ROLES.indexOf(args.name as any) + 11 : 20 + Number(args.name.replace("broker", ""));
                    Object.assign(state, { privateIp: `10.42.1.${n}`, publicIp: `198.51.100.${n}`, availabilityZone: "eu-west-1a" });
                }
                if (args.type === "tls:index/privateKey:PrivateKey") Object.assign(state, { privateKeyOpenssh: "GENERATED-KEY", publicKeyOpenssh: "ssh-ed25519 AAAA" });
                if (args.type === "aws:ec2/keyPair:KeyPair") state.keyName = `${args.name}-key`;
                if (args.type === "aws:ec2/eip:Eip") {
                    const n = args.name === "broker-address" ? 0 : Number(args.name.replace(/^broker(\d+)-address$/, "$1"));
                    Object.assign(state, { publicIp: `198.51.100.${200 + n}`, allocationId: `eipalloc-0123456789abcdef${n}` });
                }
                if (args.type.startsWith("command:")) state.stdout = args.name === "ssh-key" ? "LOCAL-KEY" : "";
                // The stack's credentials are made for real (openssl), so that their certificates can be checked.
                if (args.type === "command:local:Command" && /credentials\.sh/.test(args.inputs.create)) {
                    state.stdout = execFileSync("bash", ["-c", args.inputs.create], { cwd: REPO, env: { ...process.env, ...unsecret(args.inputs.environment) }, encoding: "utf8" });
                }
                return { id: args.type === "aws:ebs/volume:Volume" ? "vol-0123456789abcdef0" : `${args.name}-id`, state };
            },
            call(args) {
                invokes.push({ token: args.token, args: args.inputs });
                if (args.token === "aws:ec2/getAmi:getAmi") return { id: "ami-0123456789abcdef0", imageId: "ami-0123456789abcdef0" };
                if (args.token === "aws:index/getAvailabilityZones:getAvailabilityZones") return { names: ["eu-west-1a", "eu-west-1b", "eu-west-1c"], zoneIds: ["euw1-az3", "euw1-az1", "euw1-az2"] };
                if (args.token === "command:local:run") return { stdout: "debian 12 4f1c0ffee4f1c0ffee4f1c0ffee4f1c0", stderr: "" };
                return {};
            },
        },
        "kafka-lab",
        stack,
        false,
    );
    pulumi.runtime.setAllConfig({ ...stackConfig(stack), ...overrides, ...secrets }, Object.keys(secrets));
    const { config, sshPrivateKey } = loadLabConfig();
    // The legacy transformation hook sees every child's options: that is where dependsOn lives.
    const lab = new KafkaLab(
        "kafka-lab",
        { config, sshPrivateKey },
        {
            transformations: [
                (args) => {
                    const deps = ([] as pulumi.Input<pulumi.Resource>[]).concat((args.opts.dependsOn as any) ?? []);
                    resources.push({ type: args.type, name: args.name, inputs: args.props as any, dependsOn: deps.map((d: any) => d.__name), ...pick(args.opts as pulumi.CustomResourceOptions) });
                    return undefined;
                },
            ],
        },
    );
    const outputs = {
        hosts: await unwrap(lab.hosts),
        bootstrapServers: await unwrap(lab.bootstrapServers),
        internalBootstrapServers: await unwrap(lab.internalBootstrapServers),
        sshUser: lab.sshUser,
        sshPrivateKey: await unwrap(lab.sshPrivateKey),
        sshPrivateKeyIsSecret: await pulumi.isSecret(lab.sshPrivateKey),
        ...(lab.credentials && {
            caCertificate: await unwrap(lab.credentials.caCertificate),
            clientPassword: await unwrap(lab.credentials.clientPassword),
            clientPasswordIsSecret: await pulumi.isSecret(lab.credentials.clientPassword),
            clientProperties: await unwrap(lab.clientProperties!),
            clientPropertiesIsSecret: await pulumi.isSecret(lab.clientProperties!),
        }),
    };
    // Let the program's last calls (a component's registerOutputs) reach this run's mocks, not the next one's.
    await waitForRPCs();
    return {
        resources,
        invokes,
        outputs,
        config,
        byName(name) {
            const r = resources.find((x) => x.name === name);
            if (!r) throw new Error(`no resource named ${name}; have ${resources.map((x) => x.name).join(", ")}`);
            return r;
        },
    };
}

/** A registered input, resolved deeply (a trigger list holds outputs of its own). */
const resolve = async (v: any): Promise<any> => unwrap(pulumi.output(v));
const ofType = (run: Run, type: string) => run.resources.filter((r) => r.type === type);

for (const stack of ["dev", "staging", "prod"]) {
    test.serial(`${stack}: three instances named broker, producer, consumer from the configured image family`, async (t) => {
        const run = await runProgram(stack);
        const file = stackConfig(stack);
        const instances = ofType(run, "aws:ec2/instance:Instance");
        t.deepEqual(instances.map((i) => i.name), ["broker", "producer", "consumer"]);
        for (const i of instances) {
            const tags = await resolve(i.inputs.tags);
            t.is(tags.Name, i.name);
            t.is(tags.ImageFamily, file["kafka-lab:imageFamily"]);
            t.is(await resolve(i.inputs.instanceType), i.name === "broker" ? file["kafka-lab:brokerInstanceType"] : file["kafka-lab:clientInstanceType"]);
        }
        const ami = run.invokes.find((c) => c.token === "aws:ec2/getAmi:getAmi")!;
        const owners: Record<string, string> = { "centos-stream-9": "125523088429", "rocky-9": "792107900819", "almalinux-9": "764336703387" };
        t.deepEqual(ami.args.owners, [owners[file["kafka-lab:imageFamily"]]]);
        t.true(ami.args.mostRecent);
    });

    test.serial(`${stack}: security groups let SSH in only from admins, ZooKeeper only from inside the lab, egress explicit`, async (t) => {
        const run = await runProgram(stack);
        const file = stackConfig(stack);
        const admin: string[] = JSON.parse(file["kafka-lab:adminCidrs"]);
        const clients: string[] = JSON.parse(file["kafka-lab:clientCidrs"]);
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
        const zookeeper = rules.filter((r) => r.port === 2181);
        t.true(zookeeper.length >= 3);
        for (const r of zookeeper) {
            t.is(r.target, "brokerSecurityGroup-id");
            t.not(r.cidr, "0.0.0.0/0");
            if (r.cidr) t.regex(r.cidr, /^10\./);
            else t.regex(r.group, /^(broker|producer|consumer)SecurityGroup-id$/);
        }
        t.deepEqual(rules.filter((r) => r.port === 9094).map((r) => r.cidr).sort(), [...clients].sort());
        t.deepEqual(rules.filter((r) => r.port === 9092).map((r) => r.group).sort(), ["brokerSecurityGroup-id", "consumerSecurityGroup-id", "producerSecurityGroup-id"]);
        // The bench's TCP stream: from the producer only (firewalld keeps it closed but during a bench).
        t.deepEqual(rules.filter((r) => r.port === 5201).map((r) => [r.group, r.target]), [["producerSecurityGroup-id", "brokerSecurityGroup-id"]]);
        t.deepEqual(
            rules.filter((r) => ![22, 2181, 9092, 9094, 5201].includes(r.port)),
            [],
            "no other port is opened",
        );
        const egress = ofType(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");
        t.deepEqual((await Promise.all(egress.map((e) => resolve(e.inputs.securityGroupId)))).sort(), ["brokerSecurityGroup-id", "consumerSecurityGroup-id", "producerSecurityGroup-id"]);
        t.is(ofType(run, "aws:ec2/securityGroup:SecurityGroup").length, 3);
    });

    test.serial(`${stack}: the broker's data lives on a dedicated encrypted volume attached to it`, async (t) => {
        const run = await runProgram(stack);
        const volume = run.byName("broker-data");
        t.is(volume.type, "aws:ebs/volume:Volume");
        t.is(await resolve(volume.inputs.size), Number(stackConfig(stack)["kafka-lab:dataVolumeGiB"]));
        t.true(await resolve(volume.inputs.encrypted));
        t.is(await resolve(volume.inputs.availabilityZone), "eu-west-1a");
        const attachment = ofType(run, "aws:ec2/volumeAttachment:VolumeAttachment")[0];
        t.is(await resolve(attachment.inputs.instanceId), "broker-id");
        // pulumi destroy detaches it: the instance is stopped first (Kafka stopped, volume unmounted) so that it cannot hang.
        t.true(await resolve(attachment.inputs.stopInstanceBeforeDetaching));
        const mount = run.byName("broker-data-volume");
        t.regex(await resolve(mount.inputs.stdin), /DATA_DEVICES='\/dev\/disk\/by-id\/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0 \/dev\/sdf \/dev\/xvdf'/);
        t.true(mount.dependsOn.includes("broker-java"));
    });

    test.serial(`${stack}: outputs name every host, both bootstrap addresses and a secret key`, async (t) => {
        const run = await runProgram(stack);
        // The broker's public address is its Elastic IP, kept across a stop and start of the instance.
        t.is(await resolve(run.byName("broker-address").inputs.domain), "vpc");
        t.is(await resolve(ofType(run, "aws:ec2/eipAssociation:EipAssociation")[0].inputs.instanceId), "broker-id");
        t.deepEqual(run.outputs.hosts, {
            broker: { hostname: "broker", publicIp: "198.51.100.200", privateIp: "10.42.1.11" },
            producer: { hostname: "producer", publicIp: "198.51.100.12", privateIp: "10.42.1.12" },
            consumer: { hostname: "consumer", publicIp: "198.51.100.13", privateIp: "10.42.1.13" },
        });
        t.is(run.outputs.bootstrapServers, "198.51.100.200:9094");
        t.regex(await resolve(run.byName("broker-kafka-broker").inputs.stdin), /advertised\.listeners=INTERNAL:\/\/broker:9092,EXTERNAL:\/\/198\.51\.100\.200:9094/);
        t.is(run.outputs.internalBootstrapServers, "broker:9092");
        t.is(run.outputs.sshPrivateKey, "GENERATED-KEY");
        t.true(run.outputs.sshPrivateKeyIsSecret);
        t.is(run.outputs.sshUser, { dev: "ec2-user", staging: "rocky", prod: "ec2-user" }[stack]);
    });

    test.serial(`${stack}: the external listener is ${stack === "dev" ? "plaintext" : "sasl_ssl: a certificate for the broker's Elastic IP from the stack's CA, secrets kept secret"}`, async (t) => {
        const run = await runProgram(stack);
        const brokerStep = await resolve(run.byName("broker-kafka-broker").inputs.stdin);
        if (stack === "dev") {
            t.is(run.config.security.external, "plaintext");
            t.regex(brokerStep, /listener\.security\.protocol\.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT/);
            t.false(run.resources.some((r) => r.name.startsWith("tls-")));
            t.is(run.outputs.caCertificate, undefined);
            return;
        }
        t.is(run.config.security.external, "sasl_ssl");
        t.regex(brokerStep, /listener\.security\.protocol\.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL/);
        t.regex(brokerStep, /authorizer\.class\.name=kafka\.security\.authorizer\.AclAuthorizer/);
        // Made by local commands (no TLS provider, which cannot run here), kept secret and never logged.
        for (const name of ["tls-ca", "tls-broker"]) {
            const r = run.byName(name);
            t.is(r.type, "command:local:Command");
            t.deepEqual(r.additionalSecretOutputs, ["stdout"]);
            t.is(await resolve(r.inputs.logging), "none");
        }
        const keystore = /EXTERNAL_KEYSTORE='([^']*)'/.exec(brokerStep)![1];
        t.regex(keystore, /^-----BEGIN PRIVATE KEY-----/);
        const cert = new crypto.X509Certificate(keystore.slice(keystore.indexOf("-----BEGIN CERTIFICATE-----")));
        t.is(cert.checkIP("198.51.100.200"), "198.51.100.200", "the advertised Elastic IP is in the certificate");
        t.is(cert.checkHost("broker"), "broker");
        t.true(cert.verify(new crypto.X509Certificate(run.outputs.caCertificate).publicKey), "signed by the CA the stack outputs");
        t.true(run.outputs.clientPasswordIsSecret);
        t.true(run.outputs.clientPropertiesIsSecret);
        t.regex(run.outputs.clientProperties, /^security\.protocol=SASL_SSL$/m);
        t.regex(run.outputs.clientProperties, new RegExp(`password="${run.outputs.clientPassword}"`));
        t.regex(await resolve(run.byName("broker-scram-acls").inputs.stdin), /CLIENT_USER='kafka-lab-client'/);
        // The secure listener is reached as before: 9094 from the clients' ranges only.
        const rules = await Promise.all(ofType(run, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").map((r) => resolve(r.inputs)));
        t.deepEqual(rules.filter((r) => r.fromPort === 9094).map((r) => r.cidrIpv4).sort(), [...JSON.parse(stackConfig(stack)["kafka-lab:clientCidrs"])].sort());
    });
}

test.serial("provisioning steps run in order on each host, each after the one before", async (t) => {
    const run = await runProgram("dev");
    for (const role of ROLES) {
        const names = stepsFor(run.config, role, role === "broker").map((s) => `${role}-${s}`);
        const commands = ofType(run, "command:remote:Command").filter((c) => c.name.startsWith(`${role}-`));
        t.deepEqual(commands.map((c) => c.name), names);
        commands.forEach((c, i) => {
            if (i > 0) t.deepEqual(c.dependsOn, [names[i - 1]], c.name);
        });
        // Besides its instance (through its address), the broker waits for its data volume, the volume's
        // attachment and its Elastic IP; no host waits for another host's resources.
        t.deepEqual(commands[0].dependsOn, role === "broker" ? ["broker-data", "broker-data", "broker-address"] : [], role);
        for (const c of commands) {
            if (c.name.endsWith("-kafka-broker")) {
                // A new instance starts its broker; a changed setting updates it, which does nothing here...
                t.deepEqual(await resolve(c.inputs.triggers), [`${role}-id`]);
                t.regex(await resolve(c.inputs.create), /sudo -n bash -s -- start$/);
                t.is(await resolve(c.inputs.update), "true");
            } else if (c.name.endsWith("-kafka-roll")) {
                // ...and here: a restart, when the broker runs another configuration.
                t.deepEqual(await resolve(c.inputs.triggers), [`${role}-id`]);
                t.regex(await resolve(c.inputs.create), /sudo -n bash -s -- roll$/);
                t.regex(await resolve(c.inputs.update), /sudo -n bash -s -- roll$/);
            } else {
                const [fingerprint, identity] = await resolve(c.inputs.triggers);
                t.regex(fingerprint, /^[0-9a-f]{64}$/, "the rendered script's hash");
                t.is(identity, `${role}-id`, "the EC2 instance id: a new instance runs every step again");
                t.regex(await resolve(c.inputs.create), /sudo -n bash -s$/);
            }
            t.regex(await resolve(c.inputs.stdin), /^#!\/usr\/bin\/env bash\n# kafka-lab provisioning step/, "the step's script goes in on stdin");
            t.deepEqual(c.customTimeouts, { create: "20m", update: "20m", delete: "10m" }, "no step may hang a deploy");
            const conn = await resolve(c.inputs.connection);
            t.is(conn.dialErrorLimit, 40, "SSH dial retries are bounded");
            t.is(conn.perDialTimeout, 15);
            t.is(conn.user, "ec2-user");
            t.true(await pulumi.isSecret(c.inputs.connection), "the connection carries the private key: secret");
        }
    }
});

test.serial("a user-supplied key pair is used as given, its private key kept secret", async (t) => {
    const run = await runProgram("dev", { "kafka-lab:sshPublicKey": "ssh-ed25519 AAAAC3NzaUSER me@laptop" }, { "kafka-lab:sshPrivateKey": "USER-PRIVATE-KEY" });
    t.is(ofType(run, "tls:index/privateKey:PrivateKey").length, 0);
    t.is(run.outputs.sshPrivateKey, "USER-PRIVATE-KEY");
    t.true(run.outputs.sshPrivateKeyIsSecret);
    t.is(await resolve((await resolve(run.byName("broker-wait-ready").inputs.connection)).privateKey), "USER-PRIVATE-KEY");
    t.is(await resolve(run.byName("ssh-key").inputs.publicKey), "ssh-ed25519 AAAAC3NzaUSER me@laptop");
});

test.serial("an existing VPC and subnet are used instead of creating a network", async (t) => {
    const run = await runProgram("dev", { "kafka-lab:vpcId": "vpc-0123456789abcdef0", "kafka-lab:subnetId": "subnet-0123456789abcdef0" });
    t.is(ofType(run, "aws:ec2/vpc:Vpc").length, 0);
    t.is(ofType(run, "aws:ec2/subnet:Subnet").length, 0);
    t.is(await resolve(run.byName("broker").inputs.subnetId), "subnet-0123456789abcdef0");
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
    t.deepEqual(await resolve(upload.inputs.triggers), [tarballSha, "machine-broker-id"]);
    for (const role of ROLES) t.is((await resolve(run.byName(`${role}-java`).inputs.triggers))[1], `machine-${role}-id`);
    // The key: made once, never logged, its output a secret; a new key comes only with new machines.
    const key = run.byName("ssh-key");
    t.is(await resolve(key.inputs.logging), "none");
    t.deepEqual(key.additionalSecretOutputs, ["stdout"]);
    t.deepEqual((await resolve(machines[1].inputs.triggers)).slice(1), ["ssh-key-id"]);
    // Each host's first step waits for its own machine only: replacing one machine drags no other host's steps.
    for (const role of ROLES) t.deepEqual(run.byName(`${role}-wait-ready`).dependsOn, [`machine-${role}`]);
    t.deepEqual(run.outputs.hosts.broker, { hostname: "broker", publicIp: "10.77.0.11", privateIp: "10.77.0.11" });
    t.is(run.outputs.bootstrapServers, "10.77.0.11:9094");
    t.is(run.outputs.sshUser, "debian");
    t.true(run.outputs.sshPrivateKeyIsSecret);
});

test.serial("existing target: nothing is created; the machines are provisioned and cleaned up on destroy", async (t) => {
    const key = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-key-")), "id");
    fs.writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nEXISTING\n-----END OPENSSH PRIVATE KEY-----\n");
    const run = await runProgram("existing", { "kafka-lab:sshPrivateKeyPath": key, "kafka-lab:brokerPublicAddress": "203.0.113.7" });
    const types = new Set(run.resources.map((r) => r.type));
    t.deepEqual([...types].filter((x) => x.startsWith("aws:") || x.startsWith("command:local:") || x.startsWith("tls:")), []);
    t.is(ofType(run, "command:remote:CopyToRemote").length, 0, "the machines download Kafka themselves");
    for (const role of ROLES) {
        const uninstall = run.byName(`${role}-uninstall-on-destroy`);
        t.deepEqual(uninstall.dependsOn, [`${role}-wait-ready`]);
        t.regex(await resolve(uninstall.inputs.stdin), /PURGE_DATA='false'/);
        t.is(await resolve(uninstall.inputs.create), "true");
        t.regex(await resolve(uninstall.inputs.delete), /sudo -n bash -s/);
        t.deepEqual(run.byName(`${role}-stage-kafka`).dependsOn, [`${role}-uninstall-on-destroy`], "every later step depends on it, so it is removed last");
    }
    const conn = await resolve(run.byName("broker-wait-ready").inputs.connection);
    t.deepEqual([conn.host, conn.user, conn.port], ["203.0.113.7", "admin", 22]);
    t.regex(conn.privateKey, /EXISTING/);
    // The machine is identified over SSH on every run: a machine reinstalled at the same address is a new one.
    const identify = run.invokes.filter((c) => c.token === "command:local:run");
    t.is(identify.length, 3);
    t.regex(identify[0].args.command, /ssh -i "\$k" -p 22 .* 'admin@203\.0\.113\.7' .*\/etc\/os-release.*\/etc\/machine-id/);
    t.regex(identify[0].args.stdin, /EXISTING/, "the key goes in on stdin, never on the command line");
    t.is(identify[0].args.logging, "none");
    t.deepEqual(await resolve(run.byName("broker-java").inputs.triggers).then((x: string[]) => x[1]), "203.0.113.7 debian 12 4f1c0ffee4f1c0ffee4f1c0ffee4f1c0");
    t.is(run.outputs.bootstrapServers, "203.0.113.7:9094");
    t.deepEqual(run.outputs.hosts.broker, { hostname: "broker", publicIp: "203.0.113.7", privateIp: "192.168.56.11" });
    t.is(run.outputs.sshUser, "admin");
    t.true(run.outputs.sshPrivateKeyIsSecret);
});

test.serial("every stack provisions with @pulumi/command resources only: no dynamic provider anywhere", async (t) => {
    for (const stack of ["dev", "staging", "prod", "local"]) {
        const run = await runProgram(stack);
        t.deepEqual(run.resources.filter((r) => r.type.startsWith("pulumi-nodejs:")).map((r) => r.name), [], stack);
        const types = new Set(run.resources.filter((r) => r.type.startsWith("command:")).map((r) => r.type));
        t.deepEqual([...types].sort(), stack === "local"
                ? ["command:local:Command", "command:remote:Command", "command:remote:CopyToRemote"]
                : // sasl_ssl stacks make their credentials with local commands (openssl on the deploying machine).
                  run.config.security.external === "sasl_ssl"
                  ? ["command:local:Command", "command:remote:Command"]
                  : ["command:remote:Command"],
            stack,
        );
        const steps = ofType(run, "command:remote:Command").map((c) => c.name);
        t.deepEqual(steps.sort(), ROLES.flatMap((role) => stepsFor(run.config, role, role === "broker" && stack !== "local").map((s) => `${role}-${s}`)).sort(), stack);
    }
});

test.serial("invalid config registers no resource at all", async (t) => {
    const before = engineCreated.length;
    const err = await t.throwsAsync(() => runProgram("dev", { "kafka-lab:zookeeperCidrs": '["0.0.0.0/0"]' }));
    t.regex(err!.message, /ZooKeeper must never be open to the internet/);
    await new Promise((r) => setTimeout(r, 200));
    t.is(engineCreated.length, before);
});

test.serial("a tarball whose checksum does not match stops before anything is created", async (t) => {
    const before = engineCreated.length;
    const err = await t.throwsAsync(() => runProgram("local", { "kafka-lab:artifactSha512": "ab".repeat(64) }));
    await new Promise((r) => setTimeout(r, 200));
    t.is(engineCreated.length, before);
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
        t.deepEqual(await Promise.all(["broker1", "broker2", "broker3", "producer"].map((n) => resolve(run.byName(n).inputs.subnetId))), ["lab-subnet-id", "lab-subnet-2-id", "lab-subnet-3-id", "lab-subnet-id"]);
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
            t.deepEqual(rules.filter((r) => r.port === port).map((r) => [r.group, r.target]), [["brokerSecurityGroup-id", "brokerSecurityGroup-id"]], `${port}: between the lab's brokers only`);
        }
        const absent = metadata === "zookeeper" ? [9093] : [2181, 2888, 3888];
        t.deepEqual(rules.filter((r) => absent.includes(r.port)), [], `no ${absent.join("/")} in ${metadata} mode`);
        // The brokers start side by side; a change rolls through them one after the other; the topic waits for all.
        t.deepEqual(run.byName("broker1-topic").dependsOn.sort(), ["broker1-kafka-roll", "broker2-kafka-roll", "broker3-kafka-roll"]);
        t.false(run.byName("broker3-kafka-broker").dependsOn.some((d) => /^broker\d-kafka-(broker|roll)$/.test(d)), "starts beside the others");
        t.deepEqual(run.byName("broker3-kafka-roll").dependsOn.sort(), ["broker2-kafka-roll", "broker3-kafka-broker"]);
    });
}

test.serial("existing target, 3 brokers: each listed machine is provisioned as broker1..3 and identified over SSH", async (t) => {
    const key = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kafka-lab-key-")), "id");
    fs.writeFileSync(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nEXISTING\n-----END OPENSSH PRIVATE KEY-----\n");
    const run = await runProgram("existing", {
        "kafka-lab:sshPrivateKeyPath": key,
        "kafka-lab:brokers": "3",
        "kafka-lab:brokerAddress": "",
        "kafka-lab:brokerAddresses": '["192.168.56.21", "192.168.56.22", "192.168.56.23"]',
        "kafka-lab:racks": '["rack-a", "rack-b", "rack-a"]',
    });
    t.deepEqual(Object.keys(run.outputs.hosts), ["broker1", "broker2", "broker3", "producer", "consumer"]);
    t.is(run.outputs.internalBootstrapServers, "broker1:9092,broker2:9092,broker3:9092");
    t.is(run.invokes.filter((c) => c.token === "command:local:run").length, 5, "every machine identified");
    t.regex(await resolve(run.byName("broker3-kafka-broker").inputs.stdin), /^broker\.rack=rack-a$/m);
    t.regex(await resolve(run.byName("broker2-zookeeper").inputs.stdin), /^server\.3=broker3:2888:3888$/m);
});
