#!/bin/sh
# Runs every Jazzer @FuzzTest target in fuzzing mode (JAZZER_FUZZ=1).
#   bench/fuzz.sh [SECONDS]        each target for SECONDS (default 60)
#   bench/fuzz.sh total=SECONDS    SECONDS in all, split evenly across the targets
#   FUZZ_ONLY=pattern bench/fuzz.sh ...   only the targets whose name matches (grep -E)
# Jazzer fuzzes one @FuzzTest per JVM, so each target is its own Maven run; findings (crashes, hangs,
# other throwables) are written by Jazzer under the module's src/test/resources/.../*Inputs folder
# and fail that run. `./mvnw verify` (CI) runs the same targets in regression mode over the seeds.
# Prints per target: executions, the run's seconds, the corpus size and the finding (or none).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
targets="
xlmr-model:dev.xlmr.model.LoaderFuzzTests#safetensorsFile
xlmr-model:dev.xlmr.model.LoaderFuzzTests#torchZip
xlmr-model:dev.xlmr.model.LoaderFuzzTests#pickle
xlmr-model:dev.xlmr.model.LoaderFuzzTests#configJson
xlmr-tokenizer:dev.xlmr.tokenizer.TokenizerFuzzTests#sentencePiece
xlmr-tokenizer:dev.xlmr.tokenizer.TokenizerFuzzTests#tokenizerJson
xlmr-tokenizer:dev.xlmr.tokenizer.TokenizerFuzzTests#encode
xlmr-nova:dev.xlmr.nova.NovaFuzzTests#annotation
xlmr-nova:dev.xlmr.nova.NovaFuzzTests#stream
xlmr-nova:dev.xlmr.nova.NovaFuzzTests#trainer
xlmr-server:dev.xlmr.server.HttpFuzzTests#requestBody
"
if [ -n "${FUZZ_ONLY:-}" ]; then targets=$(printf '%s\n' $targets | grep -E "$FUZZ_ONLY"); fi
n=$(printf '%s\n' $targets | grep -c .)
case "${1:-60}" in
  total=*) secs=$(( ${1#total=} / n )) ;;
  *) secs=${1:-60} ;;
esac
echo "fuzz: $n targets, ${secs}s each, $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for target in $targets; do
  module=${target%%:*}
  test=${target#*:}
  log="$root/$module/target/fuzz-${test##*#}.log"
  mkdir -p "$root/$module/target"
  if JAZZER_FUZZ=1 ./mvnw -B -pl "$module" -am test -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
      -Djazzer.max_duration="${secs}s" -Djacoco.skip=true >"$log" 2>&1; then
    result="no finding"
  else
    result="FINDING or failure, see $log"
    status=1
  fi
  done_line=$(grep -a -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -n 1)
  corpus=$(grep -a -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1)
  echo "fuzz: $test: ${done_line:-no libFuzzer summary}, ${corpus:-corp: ?}: $result; load $(cut -d' ' -f1-3 /proc/loadavg)"
done
exit $status
