#!/usr/bin/env bash
# What authentication costs per request (release build, SQLite unless DATABASE_URL), against
# bare Hummingbird (benchmarks/BareHummingbird) measured in the same run, rounds alternating:
# - GET /health/live with and without a valid session cookie: health never authenticates, so
#   the two must be equal within noise;
# - GET /api/auth/me with the cookie (the session is answered from the credential cache,
#   AUTH_CACHE_SECONDS) against the bare JSON route /bare/deal. Target: >= 0.50 of bare.
# - the same with AUTH_CACHE_SECONDS=0 on a second server, to show what keeping entries saves
#   (nothing is kept, but the concurrent requests of wrk's one cookie still share lookups).
#
#   benchmarks/auth.sh
#   scripts/with-postgres.sh bash -c 'DATABASE_URL=$ZAKOPS_TEST_POSTGRES_URL benchmarks/auth.sh'
#   DURATION=20s ROUNDS=5 benchmarks/auth.sh
#
# The rate limiter is off (its cost is benchmarks/ratelimit.sh's). Needs wrk, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
source benchmarks/lib.sh
need wrk curl python3
build_release zakops BareHummingbird
PORT=$(free_port)
UNCACHED_PORT=$(free_port)
BARE_PORT=$(free_port)
export RATE_LIMIT_ENABLED=false
bench_operator auth
(cd "$WORK" && HTTP_PORT=$PORT exec $SERVER_CPU "$BIN/zakops" serve >"$WORK/serve.log" 2>&1) & pids+=($!)
(cd "$WORK" && HTTP_PORT=$UNCACHED_PORT AUTH_CACHE_SECONDS=0 exec $SERVER_CPU "$BIN/zakops" serve >"$WORK/serve-uncached.log" 2>&1) & pids+=($!)
$SERVER_CPU "$BIN/BareHummingbird" "$BARE_PORT" >"$WORK/bare.log" 2>&1 & pids+=($!)
wait_for "$PORT"
wait_for "$UNCACHED_PORT"
wait_for "$BARE_PORT"

bench_login "$PORT"
for port in "$PORT" "$UNCACHED_PORT"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: __Host-zakops_session=$COOKIE" "http://127.0.0.1:$port/api/auth/me")" = 200 ] \
    || { echo "the session is not accepted on port $port" >&2; exit 1; }
done

BARE_JSON="http://127.0.0.1:$BARE_PORT/bare/deal"
HEALTH="http://127.0.0.1:$PORT/health/live"
ME="http://127.0.0.1:$PORT/api/auth/me"
ME_UNCACHED="http://127.0.0.1:$UNCACHED_PORT/api/auth/me"

wrk -t1 -c4 -d2s "$BARE_JSON" >/dev/null
wrk -t1 -c4 -d2s -H "Cookie: __Host-zakops_session=$COOKIE" "$ME" >/dev/null
wrk -t1 -c4 -d2s -H "Cookie: __Host-zakops_session=$COOKIE" "$ME_UNCACHED" >/dev/null
bare=(); plain=(); cookie=(); me=(); uncached=()
for round in $(seq 1 "$ROUNDS"); do
  b=$(rps "$BARE_JSON"); h=$(rps "$HEALTH"); hc=$(rps "$HEALTH" "$COOKIE"); m=$(rps "$ME" "$COOKIE"); u=$(rps "$ME_UNCACHED" "$COOKIE")
  printf 'round %d: bare JSON %7.0f   health %7.0f   health+cookie %7.0f   /api/auth/me %7.0f   /api/auth/me uncached %7.0f req/s\n' \
    "$round" "$b" "$h" "$hc" "$m" "$u"
  bare+=("$b"); plain+=("$h"); cookie+=("$hc"); me+=("$m"); uncached+=("$u")
done
python3 - "${DATABASE_URL%%:*}" "${bare[*]}" "${plain[*]}" "${cookie[*]}" "${me[*]}" "${uncached[*]}" <<'PY'
import sys
backend = "PostgreSQL" if sys.argv[1].startswith("postgres") else "SQLite"
b, h, hc, m, u = (sum(v) / len(v) for v in ([float(x) for x in arg.split()] for arg in sys.argv[2:7]))
print(f"{backend}: health with cookie / without {hc/h:.3f} (equal within noise expected); "
      f"/api/auth/me / bare JSON {m/b:.3f} (target >= 0.50); uncached {u/b:.3f}; cache speed-up {m/u:.2f}x")
PY
