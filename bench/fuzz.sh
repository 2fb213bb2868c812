#!/bin/sh
# Runs every Jazzer @FuzzTest target in fuzzing mode (JAZZER_FUZZ=1) for SECONDS each (default 60).
#   bench/fuzz.sh [SECONDS]
# Jazzer fuzzes one @FuzzTest per JVM, so each target is its own Maven run; findings (crashes, hangs,
# other throwables) are written by Jazzer under the module's src/test/resources/.../*Inputs folder
# and fail that run. `./mvnw verify` (CI) runs the same targets in regression mode over the seeds.
set -u
secs=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
status=0
for target in \
  xlmr-model:dev.xlmr.model.LoaderFuzzTests#safetensorsFile \
  xlmr-model:dev.xlmr.model.LoaderFuzzTests#torchZip \
  xlmr-model:dev.xlmr.model.LoaderFuzzTests#pickle \
  xlmr-model:dev.xlmr.model.LoaderFuzzTests#configJson \
  xlmr-tokenizer:dev.xlmr.tokenizer.TokenizerFuzzTests#sentencePiece \
  xlmr-tokenizer:dev.xlmr.tokenizer.TokenizerFuzzTests#tokenizerJson \
  xlmr-tokenizer:dev.xlmr.tokenizer.TokenizerFuzzTests#encode; do
  module=${target%%:*}
  test=${target#*:}
  log="$root/$module/target/fuzz-${test##*#}.log"
  mkdir -p "$root/$module/target"
  echo "fuzz: $test for ${secs}s (log: $log)"
  if JAZZER_FUZZ=1 ./mvnw -B -pl "$module" -am test -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
      -Djazzer.max_duration="${secs}s" -Djacoco.skip=true >"$log" 2>&1; then
    echo "fuzz: $test: no finding ($(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -n 1))"
  else
    echo "fuzz: $test: FINDING or failure, see $log"
    status=1
  fi
done
exit $status
