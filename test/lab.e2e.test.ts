// End to end on real machines, in the README's order: the guide's one-broker lab, the existing target,
// clusters and their faults, the secure listener. Needs Linux and root; elsewhere it says SKIPPED (and
// `.ci/run`, which sets KAFKA_LAB_E2E=required, turns that into a failure). The parts run one after the
// other from this one file (ava runs test files side by side, and they share this host).
//
// Each guarantee prints, and appends to docs/measured/guarantees.jsonl, the numbers it was judged on.
import "./e2e/one-broker";
import "./e2e/existing";
import "./e2e/cluster";
import "./e2e/secure";
