// kafka-lab: Kafka brokers (one by default, the guide's `broker`; or a cluster of broker1..N), with the
// example clients on `producer` and `consumer`. `pulumi up -s <stack>`; the target (local, aws or
// existing) and the cluster's shape are stack config.
import { loadLabConfig } from "./src/config";
import { KafkaLab } from "./src/lab";
import { refuseImpossibleChange } from "./src/transitions";

export = async () => {
    const { config, sshPrivateKey: userPrivateKey } = loadLabConfig();
    // A running cluster cannot shrink or change its metadata quorum in place: refused before anything is made.
    await refuseImpossibleChange(config);
    const lab = new KafkaLab("kafka-lab", { config, sshPrivateKey: userPrivateKey });
    return {
        target: config.target,
        hosts: lab.hosts,
        bootstrapServers: lab.bootstrapServers,
        internalBootstrapServers: lab.internalBootstrapServers,
        sshUser: lab.sshUser,
        sshPrivateKey: lab.sshPrivateKey,
        kafkaVersion: config.kafka.version,
        topic: config.kafka.topic.name,
        brokers: config.topology.brokers.length,
        metadata: config.topology.metadata,
        replicationFactor: config.topology.replicationFactor,
        externalSecurity: config.security.external,
        // sasl_ssl only: what a client outside the lab needs (see README, "Secure external listener").
        ...(lab.credentials && {
            caCertificate: lab.credentials.caCertificate,
            clientUsername: config.security.clientUser,
            clientPassword: lab.credentials.clientPassword,
            clientProperties: lab.clientProperties,
        }),
    };
};
