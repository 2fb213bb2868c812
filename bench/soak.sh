#!/bin/sh
# Soak of `xlmr serve` (issue 17): the server on loopback under CLIENTS clients of mixed valid and invalid
# traffic for SECONDS, its RSS sampled every 30 s; fails on any 5xx or unanswered request.
#   bench/soak.sh [SECONDS=1800] [CLIENTS=64] [MODEL=testdata/xlmr-base]
# The server JVM runs with `xlmr serve`'s flags (-Xmn512m, fixed 128 MB survivors) and XLMR_JAVA_OPTS (default -Xmx2g); its stderr goes to target/soak-server.log.
# SERVE_ARGS: more `serve` options; SOAK_TIMEOUT: the clients' wait for an answer (see soak.py). The base-size
# model on 2 cores: SERVE_ARGS="--request-timeout-ms 600000" SOAK_TIMEOUT=600 bench/soak.sh 1800 64 /tmp/xlmr-bench-base
set -eu
secs=${1:-1800}; clients=${2:-64}; model=${3:-testdata/xlmr-base}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/.mvn/select-jdk.sh"
cd "$root"
./mvnw -q -B -DskipTests -Djacoco.skip=true -pl xlmr-cli -am package >/dev/null
mkdir -p target
nova=$(mktemp -d)
port=$((20000 + $$ % 20000))
"$JAVA_HOME/bin/java" --add-modules=jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -XX:+UseParallelGC -Xmn512m -XX:-UseAdaptiveSizePolicy -XX:SurvivorRatio=2 ${XLMR_JAVA_OPTS:--Xmx2g} \
  -jar xlmr-cli/target/xlmr.jar serve --model "$model" --port "$port" --nova-root "$nova" ${SERVE_ARGS-} 2>target/soak-server.log &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$nova"' EXIT
for i in $(seq 1 300); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 1
done
echo "soak: server pid $pid on port $port, model $model, $clients clients, ${secs}s, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/soak.py "$port" "$pid" "$secs" "$clients" testdata/tokenizer/tok_public.txt
