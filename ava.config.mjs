// ava's settings. The three end-to-end files each hold labs that take tens of minutes, most of it spent
// waiting (fault windows, rolls gated on in-sync replicas, alerts), so ava runs them side by side, one per
// slot, from the start; the unit tests follow in the first slot to free up. On a fresh machine the first lab
// to need the engine, the image or a Kafka release builds it, and the others wait for it on its lock.
const runOrder = (file) => (file.endsWith(".e2e.test.ts") ? 0 : 1);

export default {
    extensions: ["ts"],
    nodeArguments: ["--import=tsx"],
    files: ["test/**/*.test.ts"],
    // ava's timeout is one of inactivity, for the whole run: no test result in that long and it stops every file.
    // Each end-to-end case sets its own bound (t.timeout); this one must outlast the longest of them while the
    // three labs are all in their first cases (the ensemble's single case runs for most of the suite).
    timeout: "60m",
    workerThreads: false,
    concurrency: 3,
    sortTestFiles: (a, b) => runOrder(a) - runOrder(b) || a.localeCompare(b),
};
