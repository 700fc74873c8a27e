#!/usr/bin/env bash
# Server-Sent Events at scale, on one instance (release build, SQLite unless DATABASE_URL):
# 1. resident memory holding CONNECTIONS (10,000) open streams, against the same server idle
#    (target: <= 250 MiB in all);
# 2. latency from a committed change to its event on every one of SUBSCRIBERS (1,000) streams,
#    p50/p99 over EVENTS changes, against the same measure with one subscriber
#    (target: p99 <= 100 ms);
# 3. on PostgreSQL, with a second instance on the same database: latency from a change made
#    through the second instance to its event on the first one's stream (LISTEN/NOTIFY; target:
#    p99 <= 50 ms, against the 100 ms timer).
#
#   benchmarks/sse.sh
#   scripts/with-postgres.sh bash -c 'DATABASE_URL=$ZAKOPS_TEST_POSTGRES_URL benchmarks/sse.sh'
#
# The per-user stream limit and the rate limiter are lifted (one benchmark user holds every
# stream); both are tested by the suite. Needs curl and python3 (benchmarks/sse_client.py).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${CONNECTIONS:-10000}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
EVENTS=${EVENTS:-20}
PIN=${PIN:-0}
source benchmarks/lib.sh
need curl python3
# Each side holds one descriptor per stream: raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((CONNECTIONS + 1000)) ] || { echo "open-file limit $(ulimit -n) is below $CONNECTIONS streams" >&2; exit 1; }
build_release zakops
head -c 48 /dev/urandom | base64 > "$WORK/secret"
PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EMAIL="bench-sse-$RANDOM$RANDOM@example.com"
export DATABASE_URL=${DATABASE_URL:-sqlite:$WORK/zakops.sqlite} SESSION_SECRET_FILE=$WORK/secret PASSWORD_HASH_COST=10 \
  LOG_LEVEL=warning RATE_LIMIT_ENABLED=false SSE_MAX_CONNECTIONS_PER_USER=100000 SSE_MAX_CONNECTIONS=100000 HTTP_IDLE_TIMEOUT_SECONDS=600
(cd "$WORK" && "$BIN/zakops" migrate >/dev/null)
printf '%s\n' "$PASSWORD" | (cd "$WORK" && "$BIN/zakops" user create --email "$EMAIL" --role operator >/dev/null)
# start NAME: a server in its own folder (own SQLite file unless DATABASE_URL); sets SERVER and PORT.
start() {
  PORT=$(free_port)
  (cd "$WORK" && HTTP_PORT=$PORT exec "$BIN/zakops" serve >"$WORK/serve-$1.log" 2>&1) & SERVER=$!; pids+=($SERVER)
  wait_for "$PORT"
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }

# hold MODE ARGS...: holds the connections, prints the server's resident KiB while they are open.
hold() {
  rm -f "$WORK/hold" "$WORK/hold.out"; mkfifo "$WORK/hold"
  python3 benchmarks/sse_client.py "$@" <"$WORK/hold" >"$WORK/hold.out" & local client=$!; pids+=($client)
  exec 3>"$WORK/hold"
  for _ in $(seq 1 600); do grep -q connected "$WORK/hold.out" 2>/dev/null && break; sleep 0.5; done
  grep -q "connected $CONNECTIONS" "$WORK/hold.out" || { echo "could not open $CONNECTIONS connections: $(cat "$WORK/hold.out")" >&2; exit 1; }
  sleep 3
  rss
  exec 3>&-
  wait "$client" || true
}

# The baseline: the same number of idle keep-alive HTTP connections on a fresh server.
start plain
plain_idle=$(rss)
plain_held=$(hold plain "$PORT" "$CONNECTIONS")
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true

start sse
LOGIN=$(curl -s -D "$WORK/h" -H 'Content-Type: application/json' -d "$(printf '{"email":"%s","password":"%s"}' "$EMAIL" "$PASSWORD")" \
  "http://127.0.0.1:$PORT/api/auth/login")
COOKIE=$(awk -F'[=;]' 'tolower($1) ~ /^set-cookie: __host-zakops_session$/ {print $2}' "$WORK/h")
CSRF=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])' <<<"$LOGIN")
idle=$(rss)
held=$(hold hold "$PORT" "$COOKIE" "$CONNECTIONS")
python3 - "$idle" "$held" "$plain_idle" "$plain_held" "$CONNECTIONS" <<'PY'
import sys
idle, held, plain_idle, plain_held = (int(x) / 1024 for x in sys.argv[1:5])
n = int(sys.argv[5])
print(f"memory: {n:,} SSE streams {held:.0f} MiB (idle {idle:.0f} MiB; {(held - idle) * 1024 / n:.1f} KiB per stream); "
      f"baseline, {n:,} idle keep-alive HTTP connections: {plain_held:.0f} MiB ({(plain_held - plain_idle) * 1024 / n:.1f} KiB each); "
      f"streams / baseline {(held - idle) / (plain_held - plain_idle):.2f}; target <= 250 MiB: {'met' if held <= 250 else 'NOT met'}")
PY
sleep 2
one=$(python3 benchmarks/sse_client.py latency "$PORT" "$COOKIE" "$CSRF" 1 "$EVENTS")
many=$(python3 benchmarks/sse_client.py latency "$PORT" "$COOKIE" "$CSRF" "$SUBSCRIBERS" "$EVENTS")
echo "latency, 1 subscriber:      $one"
echo "latency, $SUBSCRIBERS subscribers: $many"
python3 - "$one" "$many" <<'PY'
import sys
p99 = lambda line: float(line.split("p99_ms ")[1].split()[0])
one, many = p99(sys.argv[1]), p99(sys.argv[2])
print(f"p99 ratio {many / one:.2f} against one subscriber; target p99 <= 100 ms: {'met' if many <= 100 else 'NOT met'}")
PY

if [ "${DATABASE_URL%%:*}" = postgres ] || [ "${DATABASE_URL%%:*}" = postgresql ]; then
  FIRST_PORT=$PORT
  start second
  across=$(python3 benchmarks/sse_client.py latency "$FIRST_PORT" "$COOKIE" "$CSRF" 100 "$EVENTS" "$PORT")
  echo "latency across instances (stream on one, change through the other): $across"
  python3 - "$across" <<'PY'
import sys
p99 = float(sys.argv[1].split("p99_ms ")[1].split()[0])
print(f"across instances p99 {p99:.1f} ms; target <= 50 ms: {'met' if p99 <= 50 else 'NOT met'}")
PY
fi
