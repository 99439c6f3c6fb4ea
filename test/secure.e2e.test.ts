// End to end on real machines, part 3 of 3 (part 1, and how the three run side by side: lab.e2e.test.ts): a
// 3-broker KRaft cluster on Kafka 4.x with mTLS inside, its faults, upgrade and growth; then the sasl_ssl
// one-broker labs, with plaintext inside (KRaft) and with mTLS inside (ZooKeeper mode, taken into the
// migration's dual-write, its CA rotated there, rolled back).
import "./e2e/kraft-cluster";
import "./e2e/secure";
