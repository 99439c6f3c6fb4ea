#!/usr/bin/env bash
# kafka-dist.sh <kafka-version> <scala-version> [out-dir]
#
# Builds a Kafka distribution from Maven Central artifacts, laid out like the
# Apache binary tarball: 3.x with ZooKeeper (log4j 1 via reload4j), or 4.x,
# KRaft only (log4j2 with YAML config, Scala 2.13 only; tested with 4.4.0):
#
#   <out-dir>/kafka_<scala>-<version>.tgz          top dir kafka_<scala>-<version>/{bin,libs,config}
#   <out-dir>/kafka_<scala>-<version>.tgz.sha512   "gpg --print-md SHA512" layout
#   <out-dir>/kafka_<scala>-<version>.tgz.recipe   stamp: hash of this script + versions
#
# out-dir defaults to ${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/dist.
# The tgz path is the last line on stdout; progress goes to stderr.
# Nothing is rebuilt when the tgz, its sha512 and a matching stamp exist
# (KAFKA_DIST_FORCE=1 rebuilds anyway). Needs bash, mvn, java, tar, gzip,
# sha512sum, awk, and unzip or python3 (to look inside jars).
# MVN (default: mvn) and MVN_ARGS (extra arguments) tune the Maven call.
set -euo pipefail
umask 022

log() { printf '[kafka-dist] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 <kafka-version> <scala-version> [out-dir]" >&2; exit 2; }
kafka_version=$1
scala_version=$2
out_dir=${3:-${KAFKA_LAB_CACHE:-/var/cache/kafka-lab}/dist}

[[ $kafka_version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "kafka version must look like 3.9.2 or 4.1.2, got '$kafka_version'"
[[ $scala_version =~ ^2\.1[23]$ ]] || die "scala version must be 2.12 or 2.13, got '$scala_version'"
major=${kafka_version%%.*}
[ "$major" -le 4 ] || die "Kafka $kafka_version: this recipe builds 3.x (ZooKeeper) and 4.x (KRaft) only"
kraft=0
if [ "$major" -ge 4 ]; then
  kraft=1
  [ "$scala_version" = 2.13 ] || die "Kafka $kafka_version is published for Scala 2.13 only (Scala 2.12 builds ended with 3.9); use 2.13"
fi

# Logging backend. 3.x: slf4j-reload4j, matched to the slf4j-api that Kafka brings
# (1.7.x). 4.x: log4j2 (log4j-api, log4j-core, the slf4j binding, and
# jackson-dataformat-yaml for the YAML config), at the versions the release's POMs
# bring (kafka-server declares log4j-api/-core from 4.1 on); 4.0.x declares log4j2
# compile-only, so it gets log4j2_default, the version 4.0 ships.
slf4j_version=1.7.36
log4j2_default=2.24.3
dependency_plugin_version=3.8.1
# Fixed timestamp for every tar entry, so identical inputs give an identical tgz.
tar_mtime=1704067200

name=kafka_${scala_version}-${kafka_version}
tgz=$out_dir/$name.tgz
sha=$tgz.sha512
stamp=$tgz.recipe

script_path=$(readlink -f -- "${BASH_SOURCE[0]}")
tools_table=$(dirname -- "$script_path")/kafka-tools.tsv
[ -f "$tools_table" ] || die "the tool table $tools_table is missing"
recipe=$( { cat -- "$script_path" "$tools_table"; printf '\nkafka=%s scala=%s slf4j=%s plugin=%s\n' \
  "$kafka_version" "$scala_version" "$slf4j_version" "$dependency_plugin_version"; } | sha256sum | cut -d' ' -f1)

# ---------------------------------------------------------------------------
# sha512 file in the layout of `gpg --print-md SHA512 <file>`: "<name>: " then
# the digest in upper-case groups of 8 hex digits, wrapped at 80 columns with
# continuation lines indented under the first group. When "<name>: " is wider
# than 40 columns, gpg ends that line and starts the digest on the next one.
gpg_sha512_layout() { # <file> -> stdout
  local file=$1 hex
  hex=$(sha512sum -- "$file" | cut -d' ' -f1)
  awk -v name="$(basename -- "$file")" -v hex="$hex" 'BEGIN {
    hex = toupper(hex); prefix = name ": "
    if (length(prefix) > 40) { print prefix; line = ""; cont = " " }
    else { line = prefix; cont = sprintf("%" length(prefix) "s", "") }
    for (i = 0; i < 16; i++) {
      g = substr(hex, i * 8 + 1, 8)
      if (i == 0) line = line g
      else if (length(line) + 9 <= 80) line = line " " g
      else { print line; line = cont g }
    }
    print line
  }'
}

# Digest (lower case) read back from such a file: drop "<name>:", keep the hex.
sha512_from_layout() { # <sha512-file> -> stdout
  tr -d '\n' < "$1" | sed 's/^[^:]*://' | tr -d ' \t\r' | tr 'A-F' 'a-f'
}

cache_valid() {
  [ -f "$tgz" ] && [ -f "$sha" ] && [ -f "$stamp" ] || return 1
  [ "$(head -n1 -- "$stamp")" = "$recipe" ] || return 1
  [ "$(sha512_from_layout "$sha")" = "$(sha512sum -- "$tgz" | cut -d' ' -f1)" ]
}

mkdir -p -- "$out_dir"
out_dir=$(cd -- "$out_dir" && pwd)
tgz=$out_dir/$name.tgz; sha=$tgz.sha512; stamp=$tgz.recipe

# One build per output at a time; a second caller waits and then finds the cache.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$out_dir/.$name.lock"
  flock 9
fi

if [ "${KAFKA_DIST_FORCE:-0}" != 1 ] && cache_valid; then
  log "up to date: $tgz"
  printf '%s\n' "$tgz"
  exit 0
fi

command -v "${MVN:-mvn}" >/dev/null 2>&1 || die "Maven ('${MVN:-mvn}') not found; apt-get install maven"
log "building $name (recipe ${recipe:0:12})"
started=$SECONDS

work=$(mktemp -d "$out_dir/.build-$name.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
dist=$work/$name
mkdir -p "$dist/bin" "$dist/libs" "$dist/config" "$work/mvn"

# ---------------------------------------------------------------------------
# libs/: the broker (kafka_<scala>, which brings ZooKeeper in 3.x), the command-line
# tools (kafka-tools) and the logging backend, with runtime deps.
write_pom() { # <backend dependency XML>
  cat > "$work/mvn/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>kafka-lab</groupId>
  <artifactId>kafka-dist-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${scala_version}</artifactId><version>${kafka_version}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${kafka_version}</version></dependency>
${extra_deps}$1
  </dependencies>
  <build><pluginManagement><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>${dependency_plugin_version}</version>
  </plugin></plugins></pluginManagement></build>
</project>
EOF
}

copy_libs() {
  rm -f -- "$dist"/libs/*.jar
  # shellcheck disable=SC2086
  # (Debian's Maven prints colour resets even with -q; strip them.)
  "${MVN:-mvn}" -B -q -Dstyle.color=never ${MVN_ARGS:-} -f "$work/mvn/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dist/libs" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 \
    || die "Maven could not resolve Kafka $kafka_version (Scala $scala_version)"
}

dep() { # <groupId> <artifactId> <version>
  printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' "$@"
}
lib_version() { # <artifactId> -> version of libs/<artifactId>-<version>.jar, or nothing
  local jar
  jar=$(cd "$dist/libs" && ls -- "$1"-[0-9]*.jar 2>/dev/null | head -n1)
  [ -z "$jar" ] || { jar=${jar#"$1"-}; printf '%s\n' "${jar%.jar}"; }
}

# Artifacts some tools need beyond the broker and kafka-tools (Connect's MirrorMaker 2, the metadata
# shell, Trogdor), each only when the registry serves it for this release.
line=$([ "$kraft" = 1 ] && echo 4 || echo 3)
extra_deps=''
: > "$work/extras"
for artifact in $(awk -F'\t' -v line="$line" '!/^#/ && NF >= 5 && $4 != "-" && index("," $2 ",", "," line ",") { print $4 }' "$tools_table" | sort -u); do
  # shellcheck disable=SC2086
  if "${MVN:-mvn}" -B -q ${MVN_ARGS:-} "org.apache.maven.plugins:maven-dependency-plugin:${dependency_plugin_version}:get" \
      -Dartifact="org.apache.kafka:$artifact:$kafka_version" -Dtransitive=false >/dev/null 2>&1; then
    echo "$artifact" >> "$work/extras"
    extra_deps+="$(dep org.apache.kafka "$artifact" "$kafka_version")"$'\n'
  else
    log "org.apache.kafka:$artifact:$kafka_version is not served here: the tools that need it are left out"
  fi
done

log "resolving libs with Maven"
if [ "$kraft" = 0 ]; then
  write_pom "$(dep org.slf4j slf4j-reload4j "$slf4j_version")"
  copy_libs
  api_version=$(lib_version slf4j-api)
  if [ -n "$api_version" ] && [ "$api_version" != "$slf4j_version" ]; then
    log "slf4j-api is $api_version here; matching slf4j-reload4j to it"
    write_pom "$(dep org.slf4j slf4j-reload4j "$api_version")"
    copy_libs
  fi
else
  # First what Kafka brings by itself, then the backend at the versions found there.
  write_pom ""
  copy_libs
  api_version=$(lib_version slf4j-api)
  [ -n "$api_version" ] || die "Kafka $kafka_version brings no slf4j-api"
  log4j2_version=$(lib_version log4j-api)
  log4j2_version=${log4j2_version:-$log4j2_default}
  jackson_version=$(lib_version jackson-dataformat-yaml)
  jackson_version=${jackson_version:-$(lib_version jackson-databind)}
  [ -n "$jackson_version" ] || die "Kafka $kafka_version brings no jackson-databind"
  case $api_version in
    1.*) binding=log4j-slf4j-impl ;;   # slf4j 1.7.x
    *) binding=log4j-slf4j2-impl ;;    # slf4j 2.x
  esac
  log "backend: log4j2 $log4j2_version ($binding for slf4j-api $api_version), jackson-dataformat-yaml $jackson_version"
  write_pom "$(dep org.apache.logging.log4j log4j-api "$log4j2_version"
               dep org.apache.logging.log4j log4j-core "$log4j2_version"
               dep org.apache.logging.log4j "$binding" "$log4j2_version"
               dep com.fasterxml.jackson.dataformat jackson-dataformat-yaml "$jackson_version")"
  copy_libs
  [ "$(lib_version slf4j-api)" = "$api_version" ] || die "slf4j-api changed to $(lib_version slf4j-api) with the log4j2 backend"
fi
[ -f "$dist/libs/kafka_${scala_version}-${kafka_version}.jar" ] || die "kafka_${scala_version}-${kafka_version}.jar missing from libs"

# Maven keeps one version per artifact; warn if two jars still share a name
# (metrics-core is expected twice: Yammer 2.x and Dropwizard 4.x are both used).
dups=$(cd "$dist/libs" && ls *.jar | sed -E 's/-[0-9][^-]*(-[A-Za-z0-9.]+)*\.jar$//' | sort | uniq -d | grep -vx metrics-core || true)
[ -z "$dups" ] || log "warning: several jars named: $(echo $dups)"
log "libs: $(ls "$dist/libs" | wc -l) jars, $(du -sh "$dist/libs" | cut -f1)"

# ---------------------------------------------------------------------------
# Which main class each tool has depends on the release (classes moved from
# core's kafka.* to org.apache.kafka.tools.* over 3.x): look inside the jars.
list_classes() {
  local j
  if command -v unzip >/dev/null 2>&1; then
    for j in "$dist"/libs/*.jar; do unzip -Z1 "$j"; done
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys, zipfile
for j in sys.argv[1:]:
    print("\n".join(zipfile.ZipFile(j).namelist()))' "$dist"/libs/*.jar
  else
    die "need unzip or python3 to list jar contents"
  fi | sed -n 's#\.class$##p' | tr '/' '.' | sort -u
}
list_classes > "$work/classes.txt"

pick_class() { # <candidate>... -> first one present in libs
  local c
  for c in "$@"; do
    if grep -qxF -- "$c" "$work/classes.txt"; then printf '%s\n' "$c"; return 0; fi
  done
  die "none of these classes is in libs: $*"
}

# ---------------------------------------------------------------------------
# bin/
cat > "$dist/bin/kafka-run-class.sh" <<'EOF'
#!/bin/sh
# kafka-run-class.sh [-name NAME] [-loggc] [-tools] CLASS [ARGS...]
# Runs CLASS in the foreground with this distribution's libs/* on the classpath.
#   -name NAME  names the GC log file (NAME-gc.log)     -loggc  enable GC logging
#   -tools      command-line tool: @TOOLS_LOG_CONFIG@ (WARN to stderr), 512M heap
# Environment: JAVA_HOME, KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_GC_LOG_OPTS,
#   KAFKA_LOG4J_OPTS, LOG_DIR (kafka.logs.dir), JMX_PORT, KAFKA_JMX_OPTS, KAFKA_OPTS, CLASSPATH
set -f
base_dir=$(cd -- "$(dirname -- "$(readlink -f -- "$0")")/.." && pwd) || exit 1
name=kafka loggc='' tools=''
while [ $# -gt 0 ]; do
  case $1 in
    -name) [ $# -ge 2 ] || break; name=$2; shift 2 ;;
    -loggc) loggc=1; shift ;;
    -tools) tools=1; shift ;;
    -daemon) echo "$0: -daemon is not supported; run in the foreground (systemd)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 [-name NAME] [-loggc] [-tools] CLASS [ARGS...]" >&2; exit 2; }
main=$1; shift

if [ -n "$JAVA_HOME" ]; then JAVA=$JAVA_HOME/bin/java; else JAVA=$(command -v java) || JAVA=; fi
[ -n "$JAVA" ] && [ -x "$JAVA" ] || { echo "$0: no java (set JAVA_HOME or put java on PATH)" >&2; exit 1; }

LOG_DIR=${LOG_DIR:-$base_dir/logs}
mkdir -p -- "$LOG_DIR" 2>/dev/null

cp="$base_dir/libs/*"
[ -z "$CLASSPATH" ] || cp="$cp:$CLASSPATH"

# The JVM command line is assembled back to front with set --.
set -- -cp "$cp" "$main" "$@"
set -- $KAFKA_OPTS "$@"
set -- "-Dkafka.logs.dir=$LOG_DIR" "$@"
if [ -n "$KAFKA_LOG4J_OPTS" ]; then
  set -- $KAFKA_LOG4J_OPTS "$@"
elif [ -n "$tools" ]; then
  set -- "@LOG_CONFIG_OPTION@$base_dir/config/@TOOLS_LOG_CONFIG@" "$@"
else
  set -- "@LOG_CONFIG_OPTION@$base_dir/config/@LOG_CONFIG@" "$@"
fi
if [ -n "$JMX_PORT" ] && [ -z "$tools" ]; then
  set -- ${KAFKA_JMX_OPTS:--Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false} \
    "-Dcom.sun.management.jmxremote.port=$JMX_PORT" "-Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT" "$@"
fi
if [ -n "$loggc" ]; then
  if [ -n "$KAFKA_GC_LOG_OPTS" ]; then
    set -- $KAFKA_GC_LOG_OPTS "$@"
  elif [ -w "$LOG_DIR" ]; then
    set -- "-Xlog:gc*:file=$LOG_DIR/$name-gc.log:time,tags:filecount=10,filesize=100M" "$@"
  fi
fi
set -- ${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true} "$@"
if [ -n "$KAFKA_HEAP_OPTS" ]; then
  set -- $KAFKA_HEAP_OPTS "$@"
elif [ -n "$tools" ]; then
  set -- -Xmx512M "$@"
else
  set -- -Xmx256M "$@"
fi
exec "$JAVA" "$@"
EOF
if [ "$kraft" = 0 ]; then
  log_option=-Dlog4j.configuration=file: log_config=log4j.properties tools_log_config=tools-log4j.properties
else
  log_option=-Dlog4j2.configurationFile= log_config=log4j2.yaml tools_log_config=tools-log4j2.yaml
fi
sed -i -e "s|@LOG_CONFIG_OPTION@|$log_option|g" -e "s|@TOOLS_LOG_CONFIG@|$tools_log_config|g" \
  -e "s|@LOG_CONFIG@|$log_config|g" "$dist/bin/kafka-run-class.sh"

write_start() { # <script> <usage> <default-heap> <jvm-name> <class>
  cat > "$dist/bin/$1" <<EOF
#!/bin/sh
# $1 $2
# Runs in the foreground. EXTRA_ARGS (default "-name $4 -loggc") goes to
# kafka-run-class.sh; set it without -loggc to turn GC logging off.
[ \$# -ge 1 ] || { echo "usage: \$0 $2" >&2; exit 2; }
export KAFKA_HEAP_OPTS="\${KAFKA_HEAP_OPTS:-$3}"
exec "\$(dirname -- "\$(readlink -f -- "\$0")")/kafka-run-class.sh" \${EXTRA_ARGS--name $4 -loggc} $5 "\$@"
EOF
}

write_stop() { # <script> <class> <what>
  cat > "$dist/bin/$1" <<EOF
#!/bin/sh
# $1 [SIGNAL]
# Sends SIGNAL (default TERM) to every java process whose main class is
# $2,
# in this PID namespace only (a host also sees the processes of its containers:
# those are left alone); after TERM, waits up to STOP_TIMEOUT seconds (default 30)
# for them to exit.
main=$2
EOF
  cat >> "$dist/bin/$1" <<'EOF'
sig=${1:-TERM} pids=''
ns=$(readlink /proc/self/ns/pid 2>/dev/null)
for d in /proc/[0-9]*; do
  [ -z "$ns" ] || [ "$(readlink "$d/ns/pid" 2>/dev/null)" = "$ns" ] || continue
  args=$(tr '\000' '\n' 2>/dev/null < "$d/cmdline") || continue
  argv0=$(printf '%s\n' "$args" | head -n1)
  case $argv0 in *java) ;; *) continue ;; esac
  printf '%s\n' "$args" | grep -qxF -- "$main" || continue
  kill -s "$sig" "${d#/proc/}" 2>/dev/null && pids="$pids ${d#/proc/}"
done
EOF
  cat >> "$dist/bin/$1" <<EOF
[ -n "\$pids" ] || { echo "No $3 to stop" >&2; exit 1; }
EOF
  cat >> "$dist/bin/$1" <<'EOF'
echo "Sent SIG$sig to$pids" >&2
[ "$sig" = TERM ] || exit 0
i=0
while [ "$i" -lt "${STOP_TIMEOUT:-30}" ]; do
  alive=''
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ -n "$alive" ] || exit 0
  sleep 1; i=$((i + 1))
done
echo "still running after ${STOP_TIMEOUT:-30}s:$pids" >&2
exit 1
EOF
}

write_trogdor() { # <agent class>: trogdor.sh agent|coordinator [ARGS...]
  cat > "$dist/bin/trogdor.sh" <<EOF
#!/bin/sh
# trogdor.sh agent|coordinator [ARGS...]: Kafka's fault-injection and workload framework.
case \${1:-} in
  agent) class=$1 ;;
  coordinator) class=${1%.agent.Agent}.coordinator.Coordinator ;;
  *) echo "usage: \$0 agent|coordinator [ARGS...]" >&2; exit 2 ;;
esac
shift
exec "\$(dirname -- "\$(readlink -f -- "\$0")")/kafka-run-class.sh" -tools "\$class" "\$@"
EOF
}

write_tool() { # <script> <class> [fixed args]
  cat > "$dist/bin/$1" <<EOF
#!/bin/sh
exec "\$(dirname -- "\$(readlink -f -- "\$0")")/kafka-run-class.sh" -tools $2 ${3:+$3 }"\$@"
EOF
}

# The broker and ZooKeeper start and stop scripts.
kafka_class=$(pick_class kafka.Kafka)
write_start kafka-server-start.sh "server.properties [--override property=value]..." "-Xmx1G -Xms1G" kafkaServer "$kafka_class"
write_stop kafka-server-stop.sh "$kafka_class" "kafka server"
if [ "$kraft" = 0 ]; then
  zk_class=$(pick_class org.apache.zookeeper.server.quorum.QuorumPeerMain)
  write_start zookeeper-server-start.sh "zookeeper.properties" "-Xmx512M -Xms512M" zookeeper "$zk_class"
  write_stop zookeeper-server-stop.sh "$zk_class" "zookeeper server"
fi

# Every tool script of the release (kafka-tools.tsv, checked against the release's bin/ list): its
# class found in the jars, or the build fails; a tool whose extra artifact the registry does not serve
# for this release is left out and named in bin/TOOLS-LEFT-OUT.
: > "$work/left-out"
while IFS=$'\t' read -r script lines shipped artifact classes; do
  case $script in ''|'#'*) continue ;; esac
  [[ ,$lines, == *,$line,* ]] || continue
  if [ "$artifact" != - ] && ! grep -qxF "$artifact" "$work/extras"; then
    printf '%s\t%s\n' "$script" "org.apache.kafka:$artifact:$kafka_version is not served by the Maven registry this machine uses" >> "$work/left-out"
    continue
  fi
  # shellcheck disable=SC2086
  # (a subshell: pick_class dies when none is there, which here only means the release has no such tool yet)
  if [ "$shipped" = since ] && ! (pick_class $classes) >/dev/null 2>&1; then continue; fi
  # shellcheck disable=SC2086
  class=$(pick_class $classes)
  case $script in
    connect-distributed.sh) write_start "$script" "connect-distributed.properties" "-Xms256M -Xmx2G" connectDistributed "$class" ;;
    connect-standalone.sh) write_start "$script" "connect-standalone.properties [connector.properties]..." "-Xms256M -Xmx2G" connectStandalone "$class" ;;
    connect-mirror-maker.sh) write_start "$script" "mm2.properties" "-Xms256M -Xmx2G" mirrorMaker "$class" ;;
    zookeeper-shell.sh) write_tool "$script" "$class" -server ;;
    trogdor.sh) write_trogdor "$class" ;;
    *) write_tool "$script" "$class" ;;
  esac
done < "$tools_table"
if [ -s "$work/left-out" ]; then
  { echo "# Tools of Kafka $kafka_version that this build could not include, and why."; cat "$work/left-out"; } > "$dist/bin/TOOLS-LEFT-OUT"
  log "left out (their artifacts are not served here): $(cut -f1 "$work/left-out" | paste -sd' ')"
fi
log "bin: $(ls "$dist/bin" | grep -c '\.sh$') scripts"
chmod 0755 "$dist"/bin/*.sh

# ---------------------------------------------------------------------------
# config/: tarball defaults only; deployments render their own properties.
if [ "$kraft" = 0 ]; then
cat > "$dist/config/server.properties" <<'EOF'
# Single-broker defaults (ZooKeeper mode).
broker.id=0
listeners=PLAINTEXT://localhost:9092
log.dirs=/tmp/kafka-logs
zookeeper.connect=localhost:2181
zookeeper.connection.timeout.ms=18000
num.network.threads=3
num.io.threads=8
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
cat > "$dist/config/zookeeper.properties" <<'EOF'
# Standalone ZooKeeper defaults.
dataDir=/tmp/zookeeper
clientPort=2181
maxClientCnxns=0
admin.enableServer=false
EOF
cat > "$dist/config/log4j.properties" <<'EOF'
# Servers: INFO to stdout and to ${kafka.logs.dir}/server.log; state changes
# and the controller to their own files.
log4j.rootLogger=INFO, stdout, server
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.server=org.apache.log4j.DailyRollingFileAppender
log4j.appender.server.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.server.File=${kafka.logs.dir}/server.log
log4j.appender.server.layout=org.apache.log4j.PatternLayout
log4j.appender.server.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.state=org.apache.log4j.DailyRollingFileAppender
log4j.appender.state.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.state.File=${kafka.logs.dir}/state-change.log
log4j.appender.state.layout=org.apache.log4j.PatternLayout
log4j.appender.state.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.controller=org.apache.log4j.DailyRollingFileAppender
log4j.appender.controller.DatePattern='.'yyyy-MM-dd-HH
log4j.appender.controller.File=${kafka.logs.dir}/controller.log
log4j.appender.controller.layout=org.apache.log4j.PatternLayout
log4j.appender.controller.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=INFO, state
log4j.additivity.state.change.logger=false
log4j.logger.kafka.controller=INFO, controller
log4j.additivity.kafka.controller=false
log4j.logger.org.apache.zookeeper=INFO
log4j.logger.kafka.request.logger=WARN
EOF
cat > "$dist/config/tools-log4j.properties" <<'EOF'
# Command-line tools: warnings and errors to stderr only.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
else
cat > "$dist/config/server.properties" <<'EOF'
# Single-node defaults (KRaft combined mode: broker and controller in one process).
# Format the log dir once before the first start:
#   bin/kafka-storage.sh format -t "$(bin/kafka-storage.sh random-uuid)" -c config/server.properties
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093
advertised.listeners=PLAINTEXT://localhost:9092
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=/tmp/kraft-combined-logs
num.network.threads=3
num.io.threads=8
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
cat > "$dist/config/log4j2.yaml" <<'EOF'
# Servers: INFO to stdout and to ${kafka.logs.dir}/server.log; state changes
# and the controller to their own files.
Configuration:
  Properties:
    Property:
      - name: "kafka.logs.dir"
        value: "."
      - name: "logPattern"
        value: "[%d] %p %m (%c)%n"
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "${logPattern}"
    RollingFile:
      - name: ServerAppender
        fileName: "${sys:kafka.logs.dir}/server.log"
        filePattern: "${sys:kafka.logs.dir}/server.log.%d{yyyy-MM-dd-HH}"
        PatternLayout:
          pattern: "${logPattern}"
        TimeBasedTriggeringPolicy:
          modulate: true
          interval: 1
      - name: StateChangeAppender
        fileName: "${sys:kafka.logs.dir}/state-change.log"
        filePattern: "${sys:kafka.logs.dir}/state-change.log.%d{yyyy-MM-dd-HH}"
        PatternLayout:
          pattern: "${logPattern}"
        TimeBasedTriggeringPolicy:
          modulate: true
          interval: 1
      - name: ControllerAppender
        fileName: "${sys:kafka.logs.dir}/controller.log"
        filePattern: "${sys:kafka.logs.dir}/controller.log.%d{yyyy-MM-dd-HH}"
        PatternLayout:
          pattern: "${logPattern}"
        TimeBasedTriggeringPolicy:
          modulate: true
          interval: 1
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
        - ref: ServerAppender
    Logger:
      - name: state.change.logger
        level: INFO
        additivity: false
        AppenderRef:
          ref: StateChangeAppender
      - name: kafka.controller
        level: INFO
        additivity: false
        AppenderRef:
          ref: ControllerAppender
      - name: org.apache.kafka.controller
        level: INFO
        additivity: false
        AppenderRef:
          ref: ControllerAppender
      - name: kafka.request.logger
        level: WARN
EOF
cat > "$dist/config/tools-log4j2.yaml" <<'EOF'
# Command-line tools: warnings and errors to stderr only.
Configuration:
  Appenders:
    Console:
      name: STDERR
      target: SYSTEM_ERR
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDERR
EOF
fi

{
  echo "kafka-lab distribution of Apache Kafka $kafka_version (Scala $scala_version), assembled from Maven Central."
  echo "recipe $recipe"
  echo
  echo "bin script -> main class"
  for s in $(printf '%s\n' "${!class_of[@]}" | sort); do echo "  $s -> ${class_of[$s]}"; done
  echo
  echo "libs"
  (cd "$dist/libs" && ls | sed 's/^/  /')
} > "$dist/kafka-lab-dist.txt"
chmod -R u=rwX,go=rX "$dist"

# ---------------------------------------------------------------------------
log "packing $name.tgz"
tar --sort=name --mtime="@$tar_mtime" --owner=0 --group=0 --numeric-owner \
  -C "$work" -cf - "$name" | gzip -n -6 > "$work/$name.tgz"
gpg_sha512_layout "$work/$name.tgz" > "$work/$name.tgz.sha512"
printf '%s\nkafka=%s scala=%s\n' "$recipe" "$kafka_version" "$scala_version" > "$work/$name.tgz.recipe"

# Invalidate the stamp first, so an interrupted move never looks complete.
rm -f -- "$stamp"
mv -f -- "$work/$name.tgz" "$tgz"
mv -f -- "$work/$name.tgz.sha512" "$sha"
mv -f -- "$work/$name.tgz.recipe" "$stamp"
log "done in $((SECONDS - started))s: $tgz ($(du -h "$tgz" | cut -f1))"
printf '%s\n' "$tgz"
