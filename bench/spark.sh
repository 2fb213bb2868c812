#!/bin/sh
# Sentence-embedding throughput of xlmr-spark in Spark local mode against the single-JVM pipeline on
# the same texts (testdata/tokenizer/tok_public.txt lines, repeated), then `./xlmr embed` on them.
# See BENCHMARKS.md, section "Spark".
#   bench/spark.sh [rows=20000] [rounds=3] [master=local[2]]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.mvn/select-jdk.sh"
cd "$root"
rows=${1:-20000}
./mvnw -q -B -pl xlmr-spark -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
# the JVM flags of the tests: the project's and Spark's (xlmr-spark/pom.xml)
flags=$(sed -n 's:.*<xlmr.jvm.flags>\(.*\)</xlmr.jvm.flags>.*:\1:p' pom.xml)
spark_flags=$(sed -n 's:.*<xlmr.spark.jvm.flags>\(.*\)</xlmr.spark.jvm.flags>.*:\1:p' xlmr-spark/pom.xml)
cp="xlmr-spark/target/test-classes:xlmr-spark/target/classes:$(cat xlmr-spark/target/test-classpath.txt)"
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" $flags $spark_flags -Xmx6g -XX:+UseParallelGC -cp "$cp" dev.xlmr.spark.SparkBenchmark \
  testdata/xlmr-base testdata/tokenizer/tok_public.txt "$rows" "${2:-3}" "${3:-local[2]}"

# the command line on the same texts (one JVM, one thread; includes JSON output)
input=$(mktemp)
trap 'rm -f "$input"' EXIT
awk -v n="$rows" '{ l[NR] = $0 } END { for (i = 0; i < n; i++) print l[i % NR + 1] }' testdata/tokenizer/tok_public.txt > "$input"
./xlmr embed --model testdata/xlmr-base --no-progress < /dev/null > /dev/null 2>&1 || true   # builds the CLI jar
start=$(date +%s.%N)
./xlmr embed --model testdata/xlmr-base --no-progress < "$input" > /dev/null 2>/dev/null || true
end=$(date +%s.%N)
echo "./xlmr embed: $rows texts in $(echo "$end - $start" | bc) s"
