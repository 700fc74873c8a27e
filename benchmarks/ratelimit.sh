#!/usr/bin/env bash
# Throughput of an authenticated API route (GET /api/auth/me with a session cookie) with the
# rate limiter on, configured so high that it never refuses, against the same route with the
# limiter off (RATE_LIMIT_ENABLED=false), measured in the same run. Target: >= 95 %.
#
#   benchmarks/ratelimit.sh                                  # SQLite: in-memory limiter
#   DATABASE_URL=postgres://user@127.0.0.1:5432/db benchmarks/ratelimit.sh   # shared PostgreSQL limiter
#   DURATION=30s ROUNDS=5 benchmarks/ratelimit.sh
#   PIN=0 benchmarks/ratelimit.sh      # do not pin servers and wrk to separate cores
#
# Needs wrk and curl (apt-get install wrk curl).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
source benchmarks/lib.sh
need wrk curl
build_release zakops
head -c 48 /dev/urandom | base64 > "$WORK/secret"
PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# start NAME EXTRA_ENV...: one server in its own folder (own SQLite file unless DATABASE_URL
# is given); writes its port and a session cookie to $WORK/NAME/port and …/cookie. Runs in this
# shell (not a subshell), so that its pid reaches the cleanup.
start() {
  local name=$1; shift
  local dir="$WORK/$name" port
  mkdir -p "$dir"; port=$(free_port)
  local database=${DATABASE_URL:-sqlite:$dir/zakops.sqlite}
  local email="bench-$name-$RANDOM@example.com"
  (cd "$dir" && env HTTP_PORT="$port" DATABASE_URL="$database" SESSION_SECRET_FILE="$WORK/secret" PASSWORD_HASH_COST=10 LOG_LEVEL=warning "$@" \
    "$BIN/zakops" migrate >/dev/null 2>&1)
  printf '%s\n' "$PASSWORD" | (cd "$dir" && env DATABASE_URL="$database" PASSWORD_HASH_COST=10 "$BIN/zakops" user create --email "$email" --role viewer >/dev/null 2>&1)
  (cd "$dir" && exec env HTTP_PORT="$port" DATABASE_URL="$database" SESSION_SECRET_FILE="$WORK/secret" PASSWORD_HASH_COST=10 LOG_LEVEL=warning "$@" \
    $SERVER_CPU "$BIN/zakops" serve >"$dir/serve.log" 2>&1) & pids+=($!)
  wait_for "$port"
  local body cookie
  body=$(printf '{"email":"%s","password":"%s"}' "$email" "$PASSWORD")
  cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/api/auth/login" \
    | awk -F'[=;]' 'tolower($1) ~ /^set-cookie: __host-zakops_session$/ {print $2}')
  [ -n "$cookie" ] || { echo "login on the $name server failed" >&2; exit 1; }
  echo "$port" > "$dir/port"; echo "$cookie" > "$dir/cookie"
}

start limited RATE_LIMIT_API_PER_MINUTE=1000000 RATE_LIMIT_AUTH_PER_MINUTE=1000000
start unlimited RATE_LIMIT_ENABLED=false
ON_PORT=$(cat "$WORK/limited/port"); ON_COOKIE=$(cat "$WORK/limited/cookie")
OFF_PORT=$(cat "$WORK/unlimited/port"); OFF_COOKIE=$(cat "$WORK/unlimited/cookie")

rps() { $CLIENT_CPU wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Cookie: __Host-zakops_session=$2" "http://127.0.0.1:$1/api/auth/me" \
  | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx " $4 > "/dev/stderr"}'; }

wrk -t1 -c4 -d2s -H "Cookie: __Host-zakops_session=$ON_COOKIE" "http://127.0.0.1:$ON_PORT/api/auth/me" >/dev/null
wrk -t1 -c4 -d2s -H "Cookie: __Host-zakops_session=$OFF_COOKIE" "http://127.0.0.1:$OFF_PORT/api/auth/me" >/dev/null
on_all=""; off_all=""
for round in $(seq 1 "$ROUNDS"); do
  # Alternate which goes first, so drift on the machine (WAL growth, other load) hits both alike.
  if [ $((round % 2)) -eq 1 ]; then
    off=$(rps "$OFF_PORT" "$OFF_COOKIE"); on=$(rps "$ON_PORT" "$ON_COOKIE")
  else
    on=$(rps "$ON_PORT" "$ON_COOKIE"); off=$(rps "$OFF_PORT" "$OFF_COOKIE")
  fi
  printf 'round %d: limiter off %8.0f req/s   limiter on %8.0f req/s\n' "$round" "$off" "$on"
  on_all="$on_all $on"; off_all="$off_all $off"
done
python3 - "$on_all" "$off_all" "${DATABASE_URL:+PostgreSQL (shared counters)}" <<'PY'
import statistics, sys
on = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
store = sys.argv[3] or "SQLite (in-memory counters)"
print(f"{store}: mean limiter off {statistics.mean(off):.0f} req/s, on {statistics.mean(on):.0f} req/s; "
      f"ratio {sum(on)/sum(off):.3f} (target >= 0.95)")
PY
