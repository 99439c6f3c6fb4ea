// ava's settings. The two end-to-end files each hold labs that take tens of minutes; ava runs two files at a
// time (one per core here). Both start at once, the unit tests after them, in the first slot to free up: the
// two files are about as long, and a run of the suite is CPU-bound from end to end (every lab's JVMs, Kafka's
// tools, the engine), so a third lab beside them would only share the same two cores, and keep one more
// lab's services running. On a fresh machine the first lab to need the engine, the image or a Kafka release
// builds it, and the other waits for it on its lock.
const runOrder = (file) => (file.endsWith(".e2e.test.ts") ? 0 : 1);

export default {
    extensions: ["ts"],
    nodeArguments: ["--import=tsx"],
    files: ["test/**/*.test.ts"],
    // ava's timeout is one of inactivity, for the whole run: no test result in that long and it stops every file.
    // Each end-to-end case sets its own bound (t.timeout); this one must outlast the longest of them (the
    // ensemble's single case) for when the other file has ended.
    timeout: "60m",
    workerThreads: false,
    sortTestFiles: (a, b) => runOrder(a) - runOrder(b) || a.localeCompare(b),
};
