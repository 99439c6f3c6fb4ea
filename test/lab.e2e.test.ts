// End to end on real machines, part 1 of 3: the guide's one-broker lab (npm run lab) through its faults,
// metrics, migration and the README's Cluster recipe, then the existing target. Part 2
// (ensemble.e2e.test.ts): the ZooKeeper ensemble with prod's security, from its faults through an upgrade and
// the migration to KRaft. Part 3 (secure.e2e.test.ts): the KRaft cluster with mTLS inside, then the sasl_ssl
// one-broker labs. ava runs the three files side by side (ava.config.mjs: each lab has its own stack, bridge
// and machine names; the builds they share take a lock), and the cases of each file one after the other.
// Needs Linux and root; elsewhere it says SKIPPED (and `.ci/run`, which sets KAFKA_LAB_E2E=required, turns
// that into a failure).
//
// Each guarantee prints, and appends to docs/measured/guarantees.jsonl, the numbers it was judged on.
import "./e2e/one-broker";
import "./e2e/existing";
