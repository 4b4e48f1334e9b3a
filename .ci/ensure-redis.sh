#!/usr/bin/env bash
# Prints `export CONCIERGE_TEST_REDIS_URL=...` for a Redis that answers: the machine's on
# 127.0.0.1:6379 if it is up, else a redis-server started here on a free port.
set -euo pipefail
say() { echo "$*" >&2; }
ping() { python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
    s.sendall(b"PING\r\n"); ok = s.recv(16).startswith(b"+PONG"); s.close()
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
}
if [ -n "${CONCIERGE_TEST_REDIS_URL:-}" ]; then echo "export CONCIERGE_TEST_REDIS_URL=$CONCIERGE_TEST_REDIS_URL"; exit 0; fi
if ping 6379; then echo "export CONCIERGE_TEST_REDIS_URL=redis://127.0.0.1:6379/0"; exit 0; fi
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    say "installing redis-server (apt)"; (apt-get update -qq && apt-get install -y -qq redis-server) >&2
  else
    say "no Redis answers on 127.0.0.1:6379 and redis-server is not installed: Redis tests will skip"; exit 0
  fi
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" --logfile "$dir/redis.log" >&2
for _ in $(seq 50); do ping "$port" && break; sleep 0.1; done
say "started redis-server on 127.0.0.1:$port"
echo "export CONCIERGE_TEST_REDIS_URL=redis://127.0.0.1:$port/0"
