#!/bin/sh
# Tokenizer encode throughput: ours (tokenizer.json and sentencepiece forms) vs Hugging Face
# tokenizers (Rust) through DJL, with JMH, on testdata/tokenizer/tok_public.txt. Builds the shaded
# benchmarks jar, then runs it (about 5 minutes on 2 cores). Extra arguments go to JMH, e.g.
#   bench/tokenizer.sh -wi 1 -i 2              # quicker, rougher
#   bench/tokenizer.sh 'single.*'              # only the one-line-at-a-time benchmarks
#   bench/tokenizer.sh -prof gc                # with allocation figures
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.mvn/select-jdk.sh"
cd "$root"
./mvnw -B -q -Pbench -pl xlmr-bench -am package -DskipTests
# DJL extracts its bundled libtokenizers.so from the jar into this cache; offline: never download.
cache="$root/xlmr-bench/target/djl-cache"
mkdir -p "$cache"
"$JAVA_HOME/bin/java" -version 2>&1 | head -n 1
exec "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Xmx4g \
  -DDJL_CACHE_DIR="$cache" -Dai.djl.offline=true -Djmh.ignoreLock=true -Dxlmr.testdata="$root/testdata" \
  -jar xlmr-bench/target/benchmarks.jar "$@"
