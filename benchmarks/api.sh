#!/usr/bin/env bash
# Throughput of the deals API with a session cookie — GET /api/deals/{id} and a page of 50
# (GET /api/deals?limit=50) — against a bare Hummingbird JSON route (benchmarks/BareHummingbird,
# /bare/deal), measured in the same run, rounds alternating.
# Targets: single deal >= 40 % of bare, page of 50 >= 15 % of bare.
#
#   benchmarks/api.sh                                                     # SQLite
#   DATABASE_URL=postgres://user@127.0.0.1:5432/db benchmarks/api.sh      # PostgreSQL
#   scripts/with-postgres.sh bash -c 'DATABASE_URL=$ZAKOPS_TEST_POSTGRES_URL benchmarks/api.sh'
#   DURATION=20s ROUNDS=5 benchmarks/api.sh
#
# The rate limiter is off (RATE_LIMIT_ENABLED=false): at 60 requests a minute per principal it
# would refuse almost everything; its own cost is measured by benchmarks/ratelimit.sh.
# Needs wrk, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
DEALS=${DEALS:-120}
source benchmarks/lib.sh
need wrk curl python3
build_release zakops BareHummingbird
PORT=$(free_port)
BARE_PORT=$(free_port)
export HTTP_PORT=$PORT RATE_LIMIT_ENABLED=false
bench_operator api
(cd "$WORK" && exec $SERVER_CPU "$BIN/zakops" serve >"$WORK/serve.log" 2>&1) & pids+=($!)
$SERVER_CPU "$BIN/BareHummingbird" "$BARE_PORT" >"$WORK/bare.log" 2>&1 & pids+=($!)
wait_for "$PORT"
wait_for "$BARE_PORT"

# Sign in, then create the deals through the API (cookie + CSRF token, as the dashboard does).
BASE="http://127.0.0.1:$PORT"
bench_login "$PORT"
for i in $(seq 1 "$DEALS"); do
  body=$(printf '{"canonical_name":"Benchmark deal %d","company_info":{"sector":"software","region":"EMEA"},"metrics":{"asking_price":1000000,"ebitda":250000,"revenue":null},"broker":{"name":"Broker %d","email":"broker%d@example.com"}}' "$i" "$i" "$i")
  curl -fs -o "$WORK/deal.json" -H "Cookie: __Host-zakops_session=$COOKIE" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
    -H "Origin: http://127.0.0.1:$PORT" -d "$body" "$BASE/api/deals" || { echo "creating deal $i failed" >&2; exit 1; }
done
DEAL_ID=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/deal.json")

SINGLE="$BASE/api/deals/$DEAL_ID"
PAGE="$BASE/api/deals?limit=50"
BARE="http://127.0.0.1:$BARE_PORT/bare/deal"
curl -fs -o /dev/null -H "Cookie: __Host-zakops_session=$COOKIE" "$PAGE" || { echo "the page request fails" >&2; exit 1; }
[ "$(curl -fs -H "Cookie: __Host-zakops_session=$COOKIE" "$PAGE" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["deals"]))')" = 50 ] \
  || { echo "the page does not hold 50 deals" >&2; exit 1; }

# Warm up, then alternate.
wrk -t1 -c4 -d2s "$BARE" >/dev/null
wrk -t1 -c4 -d2s -H "Cookie: __Host-zakops_session=$COOKIE" "$SINGLE" >/dev/null
bare_all=(); single_all=(); page_all=()
for round in $(seq 1 "$ROUNDS"); do
  b=$(rps "$BARE"); s=$(rps "$SINGLE" "$COOKIE"); p=$(rps "$PAGE" "$COOKIE")
  printf 'round %d: bare %8.0f req/s   GET /api/deals/{id} %8.0f req/s   GET /api/deals?limit=50 %8.0f req/s\n' "$round" "$b" "$s" "$p"
  bare_all+=("$b"); single_all+=("$s"); page_all+=("$p")
done
python3 - "${DATABASE_URL%%:*}" "${bare_all[*]}" "${single_all[*]}" "${page_all[*]}" <<'PY'
import sys, statistics
backend = "PostgreSQL" if sys.argv[1].startswith("postgres") else "SQLite"
bare, single, page = ([float(x) for x in arg.split()] for arg in sys.argv[2:5])
b, s, p = sum(bare) / len(bare), sum(single) / len(single), sum(page) / len(page)
print(f"{backend}: bare {b:.0f} req/s, single deal {s:.0f} req/s (ratio {s/b:.3f}, target >= 0.40), "
      f"page of 50 {p:.0f} req/s (ratio {p/b:.3f}, target >= 0.15)")
print(f"median per-round ratios: single {statistics.median(x/y for x, y in zip(single, bare)):.3f}, "
      f"page {statistics.median(x/y for x, y in zip(page, bare)):.3f}")
PY
