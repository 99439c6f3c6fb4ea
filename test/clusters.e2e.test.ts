// End to end on real machines, part 2 of 2 (part 1, and how the two run side by side: lab.e2e.test.ts): a
// 3-broker KRaft cluster on Kafka 4.x with mTLS inside, its faults, upgrade and growth; then a ZooKeeper
// ensemble on 3.9 with sasl_ssl and mTLS inside, from its faults through a patch upgrade and the migration to
// KRaft.
import "./e2e/kraft-cluster";
import "./e2e/ensemble";
