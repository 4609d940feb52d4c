#!/usr/bin/env bash
# Runs the JMH benchmarks in src/test/java (io.basalt.bench) with the GC profiler, so every result
# shows gc.alloc.rate.norm: heap bytes allocated per operation by all threads.
#   scripts/jmh.sh                      IoPathBench (submit+complete on a malloc bdev, per I/O)
#   scripts/jmh.sh IoPathBench -p workload=randread -f 1 -wi 3 -i 3   any JMH arguments
# Figures taken while other work runs on the machine are wrong: check `cat /proc/loadavg` first.
set -euo pipefail
BASALT_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$BASALT_HOME"
# shellcheck source=bin/jdk.sh
. "$BASALT_HOME/bin/jdk.sh"
JAVA_HOME=$(basalt_find_jdk)
export JAVA_HOME
mvn -q -B -Dstyle.color=never test-compile
mvn -q -B -Dstyle.color=never dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/jmh.classpath > /dev/null
CP="target/test-classes:target/classes:$(cat target/jmh.classpath)"
if [ $# -eq 0 ]; then
  set -- IoPathBench
fi
echo "load before the run: $(cat /proc/loadavg)" >&2
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$CP" org.openjdk.jmh.Main -prof gc "$@"
