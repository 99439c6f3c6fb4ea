// End to end on real machines, part 2 of 3 (part 1, and how the three run side by side: lab.e2e.test.ts): a
// ZooKeeper ensemble on 3.9 with sasl_ssl and mTLS inside, from its faults through a patch upgrade and the
// migration to KRaft.
import "./e2e/ensemble";
