#!/bin/sh
# JMH benchmarks of xlmr-engine. Usage, from the repository root:
#   xlmr-engine/bench.sh LinearBench                          # vector + native, fp32, rows 32/1024, out 768/3072, 2 threads
#   xlmr-engine/bench.sh LinearBench -p provider=vector -p precision=BF16,INT8
#   xlmr-engine/bench.sh LinearBench -p provider=scalar -p rows=32 -wi 1 -i 2
#   xlmr-engine/bench.sh PeakBench -t 2                       # FMA peak, 2 threads
#   xlmr-engine/bench.sh ElementwiseBench                     # GELU / LayerNorm / softmax, us per call
# Extra arguments go to JMH (org.openjdk.jmh.Main -h lists them).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
./mvnw -B -q -pl xlmr-engine test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=test >/dev/null
. "$root/.mvn/select-jdk.sh"
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -cp "xlmr-engine/target/test-classes:xlmr-engine/target/classes:$(cat xlmr-engine/target/bench.classpath)" \
  org.openjdk.jmh.Main "$@"
