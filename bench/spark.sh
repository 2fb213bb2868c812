#!/bin/sh
# Sentence-embedding throughput of xlmr-spark (EmbedJob in Spark local mode) against `./xlmr embed`
# on the same texts in the same run: the first non-blank lines of testdata/tokenizer/tok_public.txt.
# See BENCHMARKS.md, section "Spark".
#   bench/spark.sh [texts=1000] [model=/tmp/xlmr-bench-base] [master=local[2]] [warm rounds=1]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.mvn/select-jdk.sh"
cd "$root"
n=${1:-1000}
model=${2:-/tmp/xlmr-bench-base}
master=${3:-local[2]}
./mvnw -B -q -pl xlmr-cli -am package -DskipTests
./mvnw -q -B -pl xlmr-spark -am -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile=target/test-classpath.txt -Dmdep.includeScope=test
input=$(mktemp)
one=$(mktemp)
awk 'NF' testdata/tokenizer/tok_public.txt | head -n "$n" > "$input"
head -n 1 "$input" > "$one"
echo "$(wc -l < "$input") texts, $(wc -c < "$input") bytes; model $model"

now() { date +%s.%N; }
times=$(mktemp)
trap 'rm -f "$input" "$one" "$times"' EXIT
cli() {   # "wall cpu" seconds of ./xlmr embed on a file (JVM start, model load, embedding, JSON output)
  /usr/bin/time -o "$times" -f "%e %U %S" ./xlmr embed --model "$model" < "$1" > /dev/null
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$times"
}
# the command line: the whole file, and one text (its start-up and model load), before and after Spark
r1=$(cli "$input"); o1=$(cli "$one")
echo "./xlmr embed: $n texts in ${r1% *} s wall, ${r1#* } s cpu; 1 text in ${o1% *} s wall, ${o1#* } s cpu"

flags=$(sed -n 's:.*<xlmr.jvm.flags>\(.*\)</xlmr.jvm.flags>.*:\1:p' pom.xml)
spark_flags=$(sed -n 's:.*<xlmr.spark.jvm.flags>\(.*\)</xlmr.spark.jvm.flags>.*:\1:p' xlmr-spark/pom.xml)
cp="xlmr-spark/target/test-classes:xlmr-spark/target/classes:$(cat xlmr-spark/target/test-classpath.txt)"
s=$(now)
# shellcheck disable=SC2086
"$JAVA_HOME/bin/java" $flags $spark_flags -Xmx6g -XX:+UseParallelGC -cp "$cp" \
  dev.xlmr.spark.SparkBenchmark "$model" "$input" "$master" "${4:-1}" 2>&1 | grep -v '^WARNING\|^[0-9:]* WARN'
sp=$(echo "$(now) - $s" | bc)
echo "spark: JVM start to exit (session, all rounds, stop): $sp s"

r2=$(cli "$input"); o2=$(cli "$one")
echo "./xlmr embed: $n texts in ${r2% *} s wall, ${r2#* } s cpu; 1 text in ${o2% *} s wall, ${o2#* } s cpu"
echo "$n $r1 $o1 $r2 $o2" | awk '{ n = $1; w = $2 + $6; c = $3 + $7; w1 = $4 + $8; c1 = $5 + $9
  printf "./xlmr embed (mean of both): end to end %.1f texts/s (%.1f per cpu s); without start-up and load %.1f texts/s (%.1f per cpu s)\n",
    2 * n / w, 2 * n / c, 2 * (n - 1) / (w - w1), 2 * (n - 1) / (c - c1) }'
