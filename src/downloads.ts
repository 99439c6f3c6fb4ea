// What the deploying machine fetches from package registries besides Kafka itself, each pinned by its
// SHA-256 here (never read from the server the file comes from). Data only: src/artifact.ts fetches them.

/** A file the deploying machine fetches once from a package registry, its SHA-256 pinned here. */
export interface PinnedDownload {
    /** What it is, for progress lines and errors. */
    what: string;
    /** Its file name in the cache (and on the machines). */
    file: string;
    /** Where it comes from: a registry's URL (the env var can point at a mirror of that registry). */
    url: () => string;
    /** Never read from the server the file comes from. Mutable so that tests can pin a fake file. */
    sha256: string;
}

/** Maven Central, or the mirror a team sets (KAFKA_LAB_MAVEN_REPO). */
export const mavenRepository = () => (process.env.KAFKA_LAB_MAVEN_REPO ?? "https://repo1.maven.org/maven2").replace(/\/+$/, "");

/**
 * The Prometheus JMX exporter's java agent, which every broker, controller and ZooKeeper JVM of the lab loads.
 * 1.0.1 is the last release published to Maven Central (later ones are on GitHub only).
 */
export const JMX_EXPORTER_AGENT: PinnedDownload = {
    what: "the JMX exporter agent 1.0.1",
    file: "jmx_prometheus_javaagent-1.0.1.jar",
    url: () => `${mavenRepository()}/io/prometheus/jmx/jmx_prometheus_javaagent/1.0.1/jmx_prometheus_javaagent-1.0.1.jar`,
    sha256: "7d61f737fd661610ccc14aea79764faa1ea94a340cbc8f0029b3d2edea3d80c1",
};

/**
 * kafka-python for the lab's example clients and its lag exporter: the release a reader of the guide installs
 * today (it knows Kafka 4.x's protocol), as PyPI serves it (KAFKA_LAB_PYPI_FILES: a mirror of its files).
 */
export const KAFKA_PYTHON_WHEEL: PinnedDownload = {
    what: "kafka-python 3.0.12",
    file: "kafka_python-3.0.12-py3-none-any.whl",
    url: () =>
        `${(process.env.KAFKA_LAB_PYPI_FILES ?? "https://files.pythonhosted.org").replace(/\/+$/, "")}/packages/41/ff/7b151e958d98cd6db252b1908f028e049744d26ec9373b1d01959e3bfb47/kafka_python-3.0.12-py3-none-any.whl`,
    sha256: "67add72052e3ad0c37ed9963ebe2b1696adc7f063c64eaf19862c21b69a64a18",
};
