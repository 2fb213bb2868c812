#!/bin/sh
# Load test of `xlmr serve` on loopback (not part of ./mvnw verify): 64 clients against POST /embed for
# 60 s, compared with the same service's offline batch throughput, then a one-hour transcript at 40 ms
# frames through the NOVA /process route. Bounded in time and requests; exits non-zero on any 5xx or
# other unexpected answer (a 429 is counted apart). The young generation is 512 MB with fixed survivor spaces, as `xlmr serve` has it.
# The last line is a JSON summary (statuses, 5xx, throughput ratio, RSS with RssAnon/RssFile one a minute).
# Extra arguments go to dev.xlmr.server.LoadBenchmark, e.g.
#   bench/server-load.sh --model testdata/xlmr-base --clients 64 --seconds 60 --inputs-per-request 1
# Issue 15's run: mixed routes with invalid requests on the base-size model for 10 minutes:
#   bench/server-load.sh --model /tmp/xlmr-bench-base --clients 64 --seconds 600 --mix mixed --transcript-seconds 0
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.mvn/select-jdk.sh"
cd "$root"
./mvnw -q -B -DskipTests -pl xlmr-cli -am package >/dev/null
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -XX:+UseParallelGC -Xmx4g -Xmn512m -XX:-UseAdaptiveSizePolicy -XX:SurvivorRatio=2 ${XLMR_JAVA_OPTS-} \
  -cp xlmr-cli/target/xlmr.jar dev.xlmr.server.LoadBenchmark \
  --model testdata/xlmr-base --texts testdata/tokenizer/tok_public.txt "$@"
