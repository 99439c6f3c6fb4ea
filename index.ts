// kafka-lab: Kafka brokers (one by default, the guide's `broker`; or a cluster of broker1..N), with the
// example clients on `producer` and `consumer`. `pulumi up -s <stack>`; the target (local, aws or
// existing) and the cluster's shape are stack config.
import { loadLabConfig } from "./src/config";
import { KafkaLab, prepareLab } from "./src/lab";

export = async () => {
    const { config, sshPrivateKey: userPrivateKey } = loadLabConfig();
    // What can refuse the run (a change the running stack cannot take, too few zones, an unknown host key,
    // a bad tarball) is settled before anything is made.
    const plan = await prepareLab(config);
    const lab = new KafkaLab("kafka-lab", { config, sshPrivateKey: userPrivateKey, plan });
    return {
        target: config.target,
        hosts: lab.hosts,
        bootstrapServers: lab.bootstrapServers,
        internalBootstrapServers: lab.internalBootstrapServers,
        prometheusUrl: lab.prometheusUrl,
        sshUser: lab.sshUser,
        sshPort: lab.machines.sshPort,
        sshPrivateKey: lab.sshPrivateKey,
        sshHostKeys: lab.sshHostKeys,
        kafkaVersion: config.kafka.version,
        topic: config.kafka.topic.name,
        brokers: config.topology.brokers.length,
        metadata: config.topology.metadata,
        controllers: config.topology.controllerMode,
        kraftMigration: config.topology.migration,
        replicationFactor: config.topology.replicationFactor,
        externalSecurity: config.security.external,
        internalSecurity: config.security.internal,
        // The stack's CA generation; with mtls a new one goes in through caRotation's phases (README, "Inside the lab").
        credentialsGeneration: config.security.generation,
        caRotation: config.security.caRotation,
        // AWS: what the stack runs on (region, image family, network, zones, key): a later change of these is refused.
        ...(lab.aws && { aws: lab.aws }),
        // What clients trust (during a caRotation both CAs), the CAs held, and when each certificate expires (renew with certificatesGeneration).
        ...(lab.credentials && { caCertificate: lab.credentials.caCertificate, certificateExpiry: lab.credentials.expiry, certificateAuthorities: plan.authorities.trusted }),
        // sasl_ssl only: what a client outside the lab needs (see README, "Secure external listener").
        ...(lab.credentials &&
            config.security.external === "sasl_ssl" && {
                clientUsername: config.security.clientUser,
                clientPassword: lab.credentials.clientPassword,
                clientProperties: lab.clientProperties,
            }),
    };
};
