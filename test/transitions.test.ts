// What a running stack may not become in place: judged from its own last outputs, before anything is made.
import test from "ava";
import { validateConfig } from "../src/config";
import { transitionProblems } from "../src/transitions";

const config = (raw: Record<string, unknown>) => validateConfig(raw, { stack: "local", cacheDir: "/c" });

test("a first deploy, or no change of shape, is allowed", (t) => {
    t.deepEqual(transitionProblems(undefined, config({ brokers: "3" })), []);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "3", kafkaVersion: "4.4.0" })), []);
    t.deepEqual(transitionProblems({ brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokerHeap: "640m" })), []);
});

test("brokers may be added from three on: the controllers and the ensemble stay as they are", (t) => {
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "4", kafkaVersion: "4.4.0" })), []);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "5" })), []);
});

test("ZooKeeper to Kafka 4.x is refused with what to do instead; rebuildCluster lets it through", (t) => {
    const [problem, ...rest] = transitionProblems({ brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3", kafkaVersion: "4.4.0" }));
    t.deepEqual(rest, []);
    t.regex(problem, /this stack runs Kafka 3\.9\.2 in ZooKeeper mode; kafka-lab:kafkaVersion 4\.4\.0 with kafka-lab:metadata kraft cannot take over its data in place \(Kafka 4\.x has no ZooKeeper mode, and a ZooKeeper cluster must first be migrated to KRaft on 3\.9/);
    t.regex(problem, /Set kafka-lab:rebuildCluster to true/);
    t.deepEqual(transitionProblems({ brokers: 3, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3", kafkaVersion: "4.4.0", rebuildCluster: "true" })), []);
});

test("fewer brokers, or a change of the controller set or ensemble, is refused", (t) => {
    t.regex(transitionProblems({ brokers: 4, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "3", kafkaVersion: "4.4.0" }))[0], /kafka-lab:brokers 3 would remove brokers from the running 4-broker cluster/);
    t.regex(transitionProblems({ brokers: 2, metadata: "kraft", kafkaVersion: "4.4.0" }, config({ brokers: "3", kafkaVersion: "4.4.0" }))[0], /changes the KRaft controller quorum \(2 -> 3 controllers\)/);
    t.regex(transitionProblems({ brokers: 2, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3" }))[0], /changes the ZooKeeper ensemble \(1 -> 3 nodes\)/);
    t.regex(transitionProblems({ brokers: 1, metadata: "zookeeper", kafkaVersion: "3.9.2" }, config({ brokers: "3" }))[0], /would turn the one-broker lab \(host broker\) into a cluster of broker1..broker3/);
});
