// kafka-lab: three machines (broker, producer, consumer) with ZooKeeper and Kafka on the broker and
// the example clients on the others. `pulumi up -s <stack>`; the target (local, aws or existing) is stack config.
import { loadLabConfig } from "./src/config";
import { KafkaLab } from "./src/lab";

const { config, sshPrivateKey: userPrivateKey } = loadLabConfig();
const lab = new KafkaLab("kafka-lab", { config, sshPrivateKey: userPrivateKey });

export const target = config.target;
export const hosts = lab.hosts;
export const bootstrapServers = lab.bootstrapServers;
export const internalBootstrapServers = lab.internalBootstrapServers;
export const sshUser = lab.sshUser;
export const sshPrivateKey = lab.sshPrivateKey;
export const kafkaVersion = config.kafka.version;
export const topic = config.kafka.topic.name;
