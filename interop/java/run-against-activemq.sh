#!/usr/bin/env bash
# Validates the Java programs in this folder against a real ActiveMQ 5.17 broker: starts one
# with /work/shared/tools/activemq (or uses OPENWIRE_URL if set), compiles the sources, runs
# the seed producer and consumer and the JMS suite, stops the broker.
#
# usage: interop/java/run-against-activemq.sh [TEST_NAME...]   (names are JmsSuite tests)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
TOOLS="${ACTIVEMQ_TOOLS:-/work/shared/tools/activemq}"
J=/usr/share/java
CP="$J/activemq-client.jar:$J/geronimo-jms_1.1_spec.jar:$J/hawtbuf.jar:$J/geronimo-j2ee-management-1.1-spec.jar:$J/slf4j-api.jar:$J/slf4j-nop.jar"
WORK="$(mktemp -d /tmp/jms-interop.XXXXXX)"
cleanup() {
    if [ -z "${OPENWIRE_URL:-}" ]; then "$TOOLS/stop-activemq.sh" "$WORK/amq" >/dev/null 2>&1 || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

javac -cp "$CP" -d "$WORK/classes" "$HERE"/*.java
if [ -z "${OPENWIRE_URL:-}" ]; then
    PORT="${OPENWIRE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
    "$TOOLS/start-activemq.sh" "$WORK/amq" "$PORT" none >/dev/null
    OPENWIRE_URL="tcp://127.0.0.1:$PORT"
fi
echo "--- ActiveMQ at $OPENWIRE_URL"
FAILOVER="failover:(${OPENWIRE_URL})?randomize=false"
RUN=(timeout 120 java -cp "$WORK/classes:$CP")
"${RUN[@]}" SeedProducer "$FAILOVER"
"${RUN[@]}" SeedConsumer "$FAILOVER"
"${RUN[@]}" JmsSuite "$OPENWIRE_URL" "$@"
