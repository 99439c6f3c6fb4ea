// ava's settings. The two end-to-end files each hold labs that take tens of minutes; ava runs two files at a
// time (one per core here), so the order is: the KRaft cluster file first (it starts at once, and builds the
// engine, image and Kafka on a fresh machine while the unit tests run beside it), then the unit tests, then
// the one-broker lab's file, which then finds those builds in the cache.
const runOrder = (file) => (file.endsWith("clusters.e2e.test.ts") ? 0 : file.endsWith(".e2e.test.ts") ? 2 : 1);

export default {
    extensions: ["ts"],
    nodeArguments: ["--import=tsx"],
    files: ["test/**/*.test.ts"],
    timeout: "5m",
    workerThreads: false,
    sortTestFiles: (a, b) => runOrder(a) - runOrder(b) || a.localeCompare(b),
};
