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
  local email="bench-$name-$RANDOM$RANDOM@example.com"
  (cd "$dir" && env HTTP_PORT="$port" DATABASE_URL="$database" SESSION_SECRET_FILE="$WORK/secret" PASSWORD_HASH_COST=10 LOG_LEVEL=warning "$@" \
    "$BIN/zakops" migrate >/dev/null 2>&1)
  printf '%s\n' "$PASSWORD" | (cd "$dir" && env DATABASE_URL="$database" PASSWORD_HASH_COST=10 "$BIN/zakops" user create --email "$email" --role viewer >/dev/null 2>&1)
  (cd "$dir" && exec env HTTP_PORT="$port" DATABASE_URL="$database" SESSION_SECRET_FILE="$WORK/secret" PASSWORD_HASH_COST=10 LOG_LEVEL=warning "$@" \
    $SERVER_CPU "$BIN/zakops" serve >"$dir/serve.log" 2>&1) & pids+=($!)
  echo $! > "$dir/pid"
  wait_for "$port"
  local body cookie
  body=$(printf '{"email":"%s","password":"%s"}' "$email" "$PASSWORD")
  cookie=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/api/auth/login" \
    | awk -F'[=;]' 'tolower($1) ~ /^set-cookie: __host-zakops_session$/ {print $2}')
  [ -n "$cookie" ] || { echo "login on the $name server failed" >&2; exit 1; }
  echo "$port" > "$dir/port"; echo "$cookie" > "$dir/cookie"
}

# measure NAME: runs wrk against the server and prints "requests/s cpu-microseconds-per-request",
# the second from the server process's user+system time (/proc/PID/stat), which varies far
# less between rounds than throughput does on a shared machine.
measure() {
  local pid ticks_before ticks_after out requests
  pid=$(cat "$WORK/$1/pid")
  ticks_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$($CLIENT_CPU wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Cookie: __Host-zakops_session=$(cat "$WORK/$1/cookie")" \
    "http://127.0.0.1:$(cat "$WORK/$1/port")/api/auth/me")
  ticks_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: non-2xx answers: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  python3 -c "import sys; r, t, tick, n = sys.argv[1:]; print(r, (int(t) * 1e6 / int(tick)) / int(n))" \
    "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$((ticks_after - ticks_before))" "$(getconf CLK_TCK)" "$requests"
}
warm() { wrk -t1 -c4 -d2s -H "Cookie: __Host-zakops_session=$(cat "$WORK/$1/cookie")" "http://127.0.0.1:$(cat "$WORK/$1/port")/api/auth/me" >/dev/null; }
stop_servers() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; pids=(); }

# Two servers measured side by side differ by up to 15 % on this kind of machine even when
# both run the same configuration (an A/A run showed 0.81), so every round starts a fresh pair,
# in alternating order, and measures them in alternating order.
on_all=""; off_all=""; on_cpu=""; off_cpu=""
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK/limited" "$WORK/unlimited"
  if [ $((round % 2)) -eq 1 ]; then
    start limited RATE_LIMIT_API_PER_MINUTE=1000000 RATE_LIMIT_AUTH_PER_MINUTE=1000000
    start unlimited RATE_LIMIT_ENABLED=false
  else
    start unlimited RATE_LIMIT_ENABLED=false
    start limited RATE_LIMIT_API_PER_MINUTE=1000000 RATE_LIMIT_AUTH_PER_MINUTE=1000000
  fi
  warm limited; warm unlimited
  if [ $((round % 2)) -eq 1 ]; then
    read -r off offc < <(measure unlimited); read -r on onc < <(measure limited)
  else
    read -r on onc < <(measure limited); read -r off offc < <(measure unlimited)
  fi
  stop_servers
  printf 'round %d: limiter off %6.0f req/s %6.1f us CPU/req   limiter on %6.0f req/s %6.1f us CPU/req\n' "$round" "$off" "$offc" "$on" "$onc"
  on_all="$on_all $on"; off_all="$off_all $off"; on_cpu="$on_cpu $onc"; off_cpu="$off_cpu $offc"
done
python3 - "$on_all" "$off_all" "$on_cpu" "$off_cpu" "${DATABASE_URL:+PostgreSQL (shared counters)}" <<'PY'
import statistics, sys
on, off, on_cpu, off_cpu = ([float(x) for x in arg.split()] for arg in sys.argv[1:5])
store = sys.argv[5] or "SQLite (in-memory counters)"
ratios = [a / b for a, b in zip(on, off)]
print(f"{store}: throughput limiter off {statistics.mean(off):.0f} req/s, on {statistics.mean(on):.0f} req/s; "
      f"ratio of sums {sum(on)/sum(off):.3f}, median round ratio {statistics.median(ratios):.3f}")
print(f"server CPU per request: off {statistics.median(off_cpu):.1f} us, on {statistics.median(on_cpu):.1f} us (medians); "
      f"throughput-equivalent ratio {statistics.median(off_cpu)/statistics.median(on_cpu):.3f} (target >= 0.95)")
PY
