#!/usr/bin/env bash
# p99 latency of GET /api/auth/me alone, and again while 32 clients log in without pause,
# in the same run. Target: the second p99 is at most 2x the first — password hashing runs on
# its own bounded thread pool and must not starve the rest of the server.
#
#   benchmarks/login.sh            # 3 rounds of both phases, 10 s each; ROUNDS=5 DURATION=30s for more
#
# The p99 of one 10 s phase varies a lot on a 2-core machine where wrk shares the cores, so the
# phases alternate and the medians over the rounds are compared.
#
# Needs wrk and curl (apt-get install wrk curl). bcrypt cost is the production default, 12.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
PIN=0  # wrk and the server share the cores here, as the login flood needs both
source benchmarks/lib.sh
need wrk curl
build_release zakops

PORT=$(free_port)
# Rate limits off: this measures whether hashing starves the server, so the flood of logins
# must reach the hasher (with the limits on it would get 429 after 10 a minute).
export HTTP_PORT=$PORT DATABASE_URL="sqlite:$WORK/zakops.sqlite" SESSION_SECRET_FILE="$WORK/secret" MAIL_DIR="$WORK/mail" RATE_LIMIT_ENABLED=false
head -c 48 /dev/urandom | base64 > "$WORK/secret"
PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$BIN/zakops" migrate >/dev/null 2>&1
printf '%s\n' "$PASSWORD" | "$BIN/zakops" user create --email load.tester@example.com --role viewer >/dev/null 2>&1
(cd "$WORK" && exec "$BIN/zakops" serve >"$WORK/serve.log" 2>&1) & pids+=($!)
wait_for "$PORT"

BODY=$(printf '{"email":"load.tester@example.com","password":"%s"}' "$PASSWORD")
COOKIE=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d "$BODY" "http://127.0.0.1:$PORT/api/auth/login" \
  | awk -F'[=;]' 'tolower($1) ~ /^set-cookie: __host-zakops_session$/ {print $2}')
[ -n "$COOKIE" ] || { echo "login failed" >&2; exit 1; }

cat > "$WORK/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA

p99() { awk '/^ +99%/ {print $2}'; }
to_ms() { python3 -c "import sys,re; v=sys.argv[1]; m=re.match(r'([0-9.]+)(us|ms|s)',v); n=float(m.group(1)); print({'us':n/1000,'ms':n,'s':n*1000}[m.group(2)])" "$1"; }

measure() { wrk -t1 -c4 -d"$DURATION" --latency -H "Cookie: __Host-zakops_session=$COOKIE" "http://127.0.0.1:$PORT/api/auth/me" | p99; }
alone_all=""; loaded_all=""; logins_all=""
for round in $(seq 1 "$ROUNDS"); do
  alone=$(to_ms "$(measure)")
  wrk -t2 -c32 -d"$DURATION" -s "$WORK/login.lua" "http://127.0.0.1:$PORT/api/auth/login" >"$WORK/flood.txt" &
  flood=$!
  sleep 1
  loaded=$(to_ms "$(measure)")
  wait "$flood"
  # Logins still queued when wrk stops keep the hasher busy: let them drain before the next
  # "alone" phase.
  sleep "${DRAIN_SECONDS:-25}"
  logins=$(awk '/Requests\/sec/ {print $2}' "$WORK/flood.txt")
  printf 'round %d: /api/auth/me p99 alone %.2f ms, during the login flood %.2f ms (%s login answers/s)\n' "$round" "$alone" "$loaded" "$logins"
  alone_all="$alone_all $alone"; loaded_all="$loaded_all $loaded"
done
python3 - "$alone_all" "$loaded_all" <<'PY'
import statistics, sys
alone = statistics.median(float(x) for x in sys.argv[1].split())
loaded = statistics.median(float(x) for x in sys.argv[2].split())
print(f"median p99 of GET /api/auth/me: alone {alone:.2f} ms, while 32 clients log in {loaded:.2f} ms; ratio {loaded/alone:.2f} (target <= 2)")
PY
