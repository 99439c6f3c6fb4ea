// End to end on real machines, part 1 of 2: the guide's one-broker lab (npm run lab) through its faults,
// metrics, migration and the README's Cluster recipe, the existing target, and the secure external listener
// (one broker on KRaft beside a dedicated controller, with plaintext and with mTLS inside). Part 2
// (clusters.e2e.test.ts): the KRaft cluster with mTLS inside, its faults, upgrade and growth; the ZooKeeper
// ensemble with prod's security from its faults through an upgrade and the migration to KRaft.
//
// ava runs the two files side by side from the start, and the unit tests after them (ava.config.mjs); each
// lab has its own stack, bridge and machine names, and the builds they share take a lock. Needs Linux and
// root; elsewhere it says SKIPPED (and `.ci/run`, which sets KAFKA_LAB_E2E=required, turns that into a
// failure).
//
// Each guarantee prints, and appends to docs/measured/guarantees.jsonl, the numbers it was judged on.
import "./e2e/one-broker";
import "./e2e/existing";
import "./e2e/secure";
