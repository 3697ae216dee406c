#!/bin/sh
# The redis container's command: redis-server, KEYS keys loaded through redis-cli --pipe, then
# the long-lived client (redis-client.py) as the container's main process. With REDIS_SOCKET
# set, redis listens on that unix socket only (no TCP), and the client connects there.
set -eu
KEYS="${KEYS:-100000}"
export KEYS
if [ -n "${REDIS_SOCKET:-}" ]; then
  listen="--port 0 --unixsocket $REDIS_SOCKET --unixsocketperm 700"
  cli="-s $REDIS_SOCKET"
else
  listen="--port 6379 --bind 127.0.0.1"
  cli="-p 6379"
fi
# shellcheck disable=SC2086 # $listen and $cli are lists of words
redis-server $listen --save '' --appendonly no --daemonize no --loglevel warning --logfile '' &
# shellcheck disable=SC2086
until redis-cli $cli ping >/dev/null 2>&1; do sleep 0.05; done
# shellcheck disable=SC2086
python3 /opt/ferry-tests/redis-keys.py "$KEYS" | redis-cli $cli --pipe
# shellcheck disable=SC2086
echo "loaded dbsize=$(redis-cli $cli dbsize)"
exec python3 /opt/ferry-tests/redis-client.py
