# Sourced by ./mvnw and ./xlmr: the project needs Java 25+, and this machine's default `java` is 17.
# Keeps JAVA_HOME when it already points at a JDK 25+, else picks the first JDK 25+ found.
xlmr_jdk_major() {
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}
xlmr_jdk_ok() {
  v=$(xlmr_jdk_major "$1")
  [ -n "$v" ] && [ "$v" -ge 25 ]
}
if [ -z "${JAVA_HOME-}" ] || ! xlmr_jdk_ok "$JAVA_HOME"; then
  for d in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    if [ -d "$d" ] && xlmr_jdk_ok "$d"; then
      JAVA_HOME=$d
      export JAVA_HOME
      break
    fi
  done
fi
if [ -z "${JAVA_HOME-}" ] || ! xlmr_jdk_ok "$JAVA_HOME"; then
  echo "xlmr: needs a JDK 25 or newer; set JAVA_HOME to one (found: ${JAVA_HOME:-none})" >&2
  exit 1
fi
