#!/bin/sh
# Our engine against the peer a Java user picks today (ONNX Runtime's Java API + HF tokenizers through DJL)
# on a base-size XLM-R (768 x 12, random weights): 1,000 multilingual sentences from
# testdata/tokenizer/tok_public.txt into mean-pooled embeddings, batches of 32, 2 threads. Not part of
# ./mvnw verify (CI never runs it). One command:
#   bench/engine.sh                      # = --sentences 1000 --batch 32 --threads 2 --rounds 2 (about 25 min on 2 shared cores)
#   XLMR_BENCH_DIR=/data/xlmr-base bench/engine.sh --rounds 5
# 1. makes the model (config.json, model.safetensors, model.onnx, tokenizer files) with
#    ../shared/bench/xlmr_torch.py into $XLMR_BENCH_DIR (default /tmp/xlmr-bench-base, 2.2 GB), or reuses it;
# 2. builds xlmr-enginebench and runs dev.xlmr.enginebench.EngineBench: ready time and peak RSS in fresh
#    JVMs, then every engine in one JVM with the passes interleaved; prints sentences/s and ratios;
# 3. then dev.xlmr.enginebench.UserPass, what a user's run takes: one fresh process each over the same
#    sentences, ORT sorted batches against `./xlmr embed` in every configuration of ours (onednn fp32 / bf16 /
#    int8, vector fp32), with peak RSS, cosine to ORT, and each one's share of this CPU's measured peak
#    matmul GFLOP/s (fp32, bf16, int8).
# Extra arguments go to EngineBench (--help lists them). XLMR_BENCH_ONLY=engine or =user runs one part;
# XLMR_USERPASS_ARGS adds arguments to UserPass (e.g. "--sentences 100").
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dir=${XLMR_BENCH_DIR:-/tmp/xlmr-bench-base}
case "$dir" in
  "$root"|"$root"/*) echo "engine.sh: XLMR_BENCH_DIR must be outside the repository ($dir)" >&2; exit 2 ;;
esac
if [ ! -f "$dir/model.onnx" ] || [ ! -f "$dir/model.safetensors" ] || [ ! -f "$dir/tokenizer.json" ]; then
  maker=
  for f in "$root/../shared/bench/xlmr_torch.py" "$root/shared/bench/xlmr_torch.py"; do
    [ -f "$f" ] && maker=$f && break
  done
  [ -n "$maker" ] || { echo "engine.sh: ../shared/bench/xlmr_torch.py not found" >&2; exit 2; }
  echo "engine.sh: making the base-size benchmark model in $dir (needs python3-torch, python3-numpy, python3-onnx)" >&2
  /usr/bin/python3 "$maker" make "$dir" base --tokenizer-from testdata/xlmr-base
fi
. "$root/.mvn/select-jdk.sh"
# one reactor build (nothing installed into ~/.m2): the modules' jars and the peer's jars on the class path
./mvnw -B -q -DskipTests -pl xlmr-enginebench,xlmr-cli -am package dependency:build-classpath \
  -Dmdep.outputFile=target/bench.classpath -Dmdep.includeScope=runtime >/dev/null
# -Dai.djl.offline: DJL must use the tokenizers native library inside its jar, never download one
run() {
  "$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Xmx6g -Dai.djl.offline=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn ${XLMR_JAVA_OPTS-} \
  -cp "xlmr-enginebench/target/classes:$(cat xlmr-enginebench/target/bench.classpath)" \
  "$@"
}
only=${XLMR_BENCH_ONLY-}
if [ "$only" != user ]; then
  run dev.xlmr.enginebench.EngineBench --model "$dir" --texts testdata/tokenizer/tok_public.txt "$@"
fi
if [ "$only" != engine ]; then
  # shellcheck disable=SC2086
  run dev.xlmr.enginebench.UserPass --model "$dir" --texts testdata/tokenizer/tok_public.txt --xlmr "$root/xlmr" ${XLMR_USERPASS_ARGS-}
fi
