// End to end on real machines, part 1 of 2: the guide's one-broker lab, the existing target, and the secure
// external listener (one broker beside a dedicated controller, then the same with mTLS inside). Part 2
// (clusters.e2e.test.ts): the KRaft cluster and its faults, upgrade and growth; the ZooKeeper ensemble with
// prod's security from its faults through an upgrade and the migration to KRaft, to 4.x. ava runs the two
// files side by side (ava.config.mjs: each lab has its own stack, bridge and machine names; the builds they
// share take a lock), and the cases of each file one after the other. Needs Linux and root; elsewhere it says
// SKIPPED (and `.ci/run`, which sets KAFKA_LAB_E2E=required, turns that into a failure).
//
// Each guarantee prints, and appends to docs/measured/guarantees.jsonl, the numbers it was judged on.
import "./e2e/one-broker";
import "./e2e/existing";
import "./e2e/secure";
