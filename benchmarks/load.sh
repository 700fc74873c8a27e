#!/usr/bin/env bash
# A bounded mixed workload through the cluster's nginx (scripts/cluster.sh: three production
# instances on PostgreSQL, TLS at nginx) for DURATION seconds:
#
#   reads   80 % of the connections  GET /api/deals?limit=20 and GET /api/deals/{id}, in turn
#   writes  15 %                     POST /api/deals, each with an Idempotency-Key (a deal.created
#                                    event each, fanned out to every stream)
#   logins   5 %                     POST /api/auth/login, paced (LOGIN_DELAY_MS per request and
#                                    connection): nginx's clients are all 127.0.0.1, whose auth
#                                    limit is 10 a minute, so almost all are 429 — allowed
#   streams STREAMS (500) event streams held open by a separate process the whole time
#
# Reads, writes and logins are three wrk processes (closed loop, one thread each, Lua scripts
# for the cookie, the CSRF token, unique names and Idempotency-Keys, and a count of every
# status); the streams are benchmarks/load_streams.py (asyncio). Prints, per kind, throughput,
# p50/p99 latency and the answers by status, then each instance's resident memory (VmRSS, from
# the pid files) idle, at its peak and at the end. Exits 1 on any answer that is not 200 (reads),
# 201 (writes), 200 or 429 (logins), on any socket error of wrk, or if a stream was ended.
#
#   benchmarks/load.sh                       DURATION=30 CONNECTIONS=40 STREAMS=500 benchmarks/load.sh
#   READ_CONNECTIONS=0 LOGIN_CONNECTIONS=0 STREAMS=0 benchmarks/load.sh     (one kind alone)
#
# The cluster: LOAD_CLUSTER_DIR names a running one, started with benchmarks/load.env as
# ZAKOPS_CLUSTER_EXTRA_ENV; without it, one is started in /tmp/zakops-load-cluster with that
# file and stopped at the end. load.env lifts the per-credential API limit (60 a minute would
# refuse a benchmark's second request of every second) and the per-user stream limit (one
# operator holds the 500 streams); the auth limit stays at 10. The binary is ZAKOPS_BIN (not
# built here): use a release build (swift build -c release; ZAKOPS_BIN=.build/release/zakops)
# for figures that mean something. Needs wrk, curl, python3 and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-60}
DURATION=${DURATION%s}
CONNECTIONS=${CONNECTIONS:-40}
STREAMS=${STREAMS:-500}
LOGIN_DELAY_MS=${LOGIN_DELAY_MS:-100}
source benchmarks/lib.sh
need wrk curl python3
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 5 ] || { echo "DURATION must be a number of seconds (at least 5)" >&2; exit 1; }

log() { printf '== %s\n' "$*" >&2; }
die() { printf '\nbenchmarks/load.sh: %s\n' "$*" >&2; exit 1; }

# --- the cluster ---------------------------------------------------------------------------
STARTED_CLUSTER=""
if [ -n "${LOAD_CLUSTER_DIR:-}" ]; then
  export ZAKOPS_CLUSTER_DIR=$LOAD_CLUSTER_DIR
  [ -f "$ZAKOPS_CLUSTER_DIR/cluster.env" ] || die "no cluster in $ZAKOPS_CLUSTER_DIR"
else
  export ZAKOPS_CLUSTER_DIR=${ZAKOPS_CLUSTER_DIR:-/tmp/zakops-load-cluster}
  log "starting a cluster in $ZAKOPS_CLUSTER_DIR with benchmarks/load.env"
  ZAKOPS_CLUSTER_EXTRA_ENV="$ROOT/benchmarks/load.env" scripts/cluster.sh start
  STARTED_CLUSTER=1
fi
stop_cluster() { [ -z "$STARTED_CLUSTER" ] || scripts/cluster.sh stop || true; }
# lib.sh's trap cleans its work folder and stops what is in pids; the cluster goes last.
trap 'cleanup; stop_cluster' EXIT
# shellcheck disable=SC1091
source "$ZAKOPS_CLUSTER_DIR/cluster.env"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
grep -qx 'RATE_LIMIT_API_PER_MINUTE=1000000' "$ZAKOPS_CLUSTER_ENV_FILE" \
  || die "the cluster keeps the 60-a-minute API limit: start it with ZAKOPS_CLUSTER_EXTRA_ENV=benchmarks/load.env"
HOST=localhost
PORT=${ZAKOPS_CLUSTER_URL##*:}
BASE=$ZAKOPS_CLUSTER_URL
CA=$ZAKOPS_CLUSTER_CA

# --- users, a session, deals to read ---------------------------------------------------------
password() { printf 'Load-%s' "$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"; }
OPERATOR_EMAIL="load-operator-$RANDOM$RANDOM@example.com"; OPERATOR_PASSWORD=$(password)
LOGIN_EMAIL="load-login-$RANDOM$RANDOM@example.com"; LOGIN_PASSWORD=$(password)
printf '%s\n' "$OPERATOR_PASSWORD" | "$ZAKOPS_CLUSTER_CLI" user create --email "$OPERATOR_EMAIL" --role operator >/dev/null
printf '%s\n' "$LOGIN_PASSWORD" | "$ZAKOPS_CLUSTER_CLI" user create --email "$LOGIN_EMAIL" --role viewer >/dev/null
# Signed in on instance 1 directly, as nginx would send it, from an address of its own: the
# sign-ins of the load spend 127.0.0.1's auth budget.
LOGIN=$(curl -s -D "$WORK/login.headers" -H "Host: $HOST:$PORT" -H 'X-Forwarded-For: 198.51.100.200' -H 'X-Forwarded-Proto: https' \
  -H 'Content-Type: application/json' -d "$(printf '{"email":"%s","password":"%s"}' "$OPERATOR_EMAIL" "$OPERATOR_PASSWORD")" \
  "$ZAKOPS_INSTANCE_1_URL/api/auth/login")
COOKIE=$(awk -F'[=;]' 'tolower($1) ~ /^set-cookie: __host-zakops_session$/ {print $2}' "$WORK/login.headers")
CSRF=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])' <<<"$LOGIN" 2>/dev/null || true)
[ -n "$COOKIE" ] && [ -n "$CSRF" ] || die "signing the operator in failed: $LOGIN"
for i in $(seq 1 20); do
  curl -fsS -o "$WORK/deal.json" --cacert "$CA" -H "Cookie: __Host-zakops_session=$COOKIE" -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' -d "{\"canonical_name\":\"load seed $i\"}" "$BASE/api/deals" || die "creating a seed deal failed"
done
DEAL=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/deal.json")

# --- the wrk scripts -------------------------------------------------------------------------
# Shared by the three: each thread counts the statuses it sees; done() prints one RESULT line
# and one STATUS line per status.
cat >"$WORK/common.lua" <<'LUA'
local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end
statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do counts[status] = (counts[status] or 0) + n end
  end
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_ms=%.2f p99_ms=%.2f connect=%d read=%d write=%d timeout=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  for status, n in pairs(counts) do io.write(string.format("STATUS %d %d\n", status, n)) end
end
LUA
cat >"$WORK/reads.lua" <<LUA
dofile("$WORK/common.lua")
wrk.headers["Cookie"] = "__Host-zakops_session=$COOKIE"
local n = 0
function request()
  n = n + 1
  if n % 2 == 0 then return wrk.format("GET", "/api/deals/$DEAL") end
  return wrk.format("GET", "/api/deals?limit=20")
end
LUA
# wrk.format uses the headers it is given instead of wrk.headers: all of them, each time.
cat >"$WORK/writes.lua" <<LUA
dofile("$WORK/common.lua")
local n, prefix = 0, nil
function request()
  if not prefix then prefix = string.format("load-%d-%d-%d", os.time(), id or 0, math.random(1, 1000000000)) end
  n = n + 1
  local name = prefix .. "-" .. n
  return wrk.format("POST", "/api/deals", {
    ["Cookie"] = "__Host-zakops_session=$COOKIE", ["X-CSRF-Token"] = "$CSRF",
    ["Content-Type"] = "application/json", ["Idempotency-Key"] = name,
  }, '{"canonical_name":"' .. name .. '"}')
end
LUA
cat >"$WORK/logins.lua" <<LUA
dofile("$WORK/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"$LOGIN_EMAIL","password":"$LOGIN_PASSWORD"}'
function delay() return $LOGIN_DELAY_MS end
LUA

# --- run -------------------------------------------------------------------------------------
# CONNECTIONS split 80/15/5 (at least one each), unless given one by one (0 leaves a kind out).
READ_CONNECTIONS=${READ_CONNECTIONS:-$((CONNECTIONS * 80 / 100))}
WRITE_CONNECTIONS=${WRITE_CONNECTIONS:-$((CONNECTIONS * 15 / 100 > 0 ? CONNECTIONS * 15 / 100 : 1))}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-$((CONNECTIONS * 5 / 100 > 0 ? CONNECTIONS * 5 / 100 : 1))}
rss() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$ZAKOPS_CLUSTER_DIR/instance-$1/pid")/status" 2>/dev/null || echo 0; }
instances=$(seq 1 "$ZAKOPS_CLUSTER_INSTANCES")

STREAMS_PID=""
if [ "$STREAMS" -gt 0 ]; then
  log "opening $STREAMS event streams through nginx"
  rm -f "$WORK/hold"; mkfifo "$WORK/hold"
  python3 benchmarks/load_streams.py "$HOST" "$PORT" "$CA" "$COOKIE" "$STREAMS" <"$WORK/hold" >"$WORK/streams.out" 2>"$WORK/streams.err" &
  STREAMS_PID=$!; pids+=($STREAMS_PID)
  exec 3>"$WORK/hold"
  for _ in $(seq 1 240); do grep -q connected "$WORK/streams.out" 2>/dev/null && break; kill -0 "$STREAMS_PID" 2>/dev/null || break; sleep 0.25; done
  grep -q "connected $STREAMS" "$WORK/streams.out" || die "could not open $STREAMS streams: $(cat "$WORK/streams.out" "$WORK/streams.err")"
  sleep 2
fi
declare -A IDLE
for n in $instances; do IDLE[$n]=$(rss "$n"); done

log "load for $DURATION s: $READ_CONNECTIONS read, $WRITE_CONNECTIONS write and $LOGIN_CONNECTIONS login connections, $STREAMS streams held ($(cut -d' ' -f1-3 /proc/loadavg) load average before)"
run_wrk() { # KIND CONNECTIONS PATH
  wrk -t1 -c"$2" -d"${DURATION}s" --timeout 10s -s "$WORK/$1.lua" "$BASE$3" >"$WORK/$1.out" 2>&1
}
KINDS=(); WRKS=()
for kind in reads:$READ_CONNECTIONS:/api/deals writes:$WRITE_CONNECTIONS:/api/deals logins:$LOGIN_CONNECTIONS:/api/auth/login; do
  IFS=: read -r name count path <<<"$kind"
  [ "$count" -gt 0 ] || continue
  run_wrk "$name" "$count" "$path" &
  WRKS+=($!); KINDS+=("$name"); pids+=($!)
done
[ ${#WRKS[@]} -gt 0 ] || die "no connections (READ_CONNECTIONS, WRITE_CONNECTIONS and LOGIN_CONNECTIONS are all 0)"
# Resident memory once a second while the load runs.
( while kill -0 "${WRKS[0]}" 2>/dev/null; do
    for n in $instances; do printf '%s %s\n' "$n" "$(rss "$n")"; done
    sleep 1
  done ) >"$WORK/rss.samples" &
SAMPLER=$!
status=0
for pid in "${WRKS[@]}"; do wait "$pid" || status=1; done
wait "$SAMPLER" 2>/dev/null || true
declare -A END
for n in $instances; do END[$n]=$(rss "$n"); done
if [ -n "$STREAMS_PID" ]; then exec 3>&-; wait "$STREAMS_PID" || true; fi
[ "$status" -eq 0 ] || { cat "$WORK"/*.out >&2; die "wrk failed"; }

# --- report ----------------------------------------------------------------------------------
WRITTEN=$(PGCONNECT_TIMEOUT=5 "$ZAKOPS_CLUSTER_PG_BIN/psql" -X -A -t "$ZAKOPS_CLUSTER_DATABASE_URL" \
  -c "SELECT count(*) FROM deals WHERE canonical_name LIKE 'load-%'" 2>/dev/null || echo "?")
python3 - "$WORK" "$STREAMS" "$WRITTEN" "$(for n in $instances; do printf '%s:%s:%s ' "$n" "${IDLE[$n]}" "${END[$n]}"; done)" "${KINDS[*]}" <<'PY'
import json, os, sys
work, streams_wanted, written, memory, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(), sys.argv[5].split()
allowed = {"reads": {200}, "writes": {201}, "logins": {200, 429}}
problems, total = [], 0
rows = []
for kind in kinds:
    text = open(os.path.join(work, kind + ".out")).read()
    result = next((l for l in text.splitlines() if l.startswith("RESULT ")), None)
    if result is None:
        problems.append(f"{kind}: wrk printed no result:\n{text}")
        continue
    r = dict(kv.split("=") for kv in result.split()[1:])
    statuses = {int(l.split()[1]): int(l.split()[2]) for l in text.splitlines() if l.startswith("STATUS ")}
    requests, seconds = int(r["requests"]), float(r["seconds"])
    total += requests
    rows.append((kind, requests, requests / seconds, float(r["p50_ms"]), float(r["p99_ms"]), statuses))
    bad = {s: n for s, n in statuses.items() if s not in allowed[kind]}
    if bad:
        problems.append(f"{kind}: answers not allowed: {bad}")
    errors = {k: int(r[k]) for k in ("connect", "read", "write", "timeout") if int(r[k])}
    if errors:
        problems.append(f"{kind}: socket errors {errors}")
print(f"\n{'kind':8} {'requests':>9} {'share':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
for kind, requests, rate, p50, p99, statuses in rows:
    share = 100 * requests / total if total else 0
    print(f"{kind:8} {requests:9d} {share:5.1f}% {rate:8.1f} {p50:8.1f} {p99:8.1f}  " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
print(f"deals created by the load (in the database): {written}")
try:
    if not streams_wanted:
        raise StopIteration
    streams = json.loads(open(os.path.join(work, "streams.out")).read().splitlines()[-1])
    print(f"streams: {streams['streams']} held {streams['held_seconds']} s, {streams['ended_by_server']} ended by the server "
          f"({streams['fallbacks']} with event: fallback); deal.created events per stream min {streams['events_min']}, "
          f"max {streams['events_max']} ({streams['events_total']} in all, {streams['megabytes']} MB)")
    if streams["streams"] != streams_wanted or streams["ended_by_server"]:
        problems.append(f"streams: {streams}")
except StopIteration:
    print("streams: none (STREAMS=0)")
except (IndexError, ValueError, KeyError, OSError):
    problems.append("the stream holder printed no summary: " + open(os.path.join(work, "streams.out")).read() + open(os.path.join(work, "streams.err")).read())
peaks = {}
try:
    for line in open(os.path.join(work, "rss.samples")):
        n, kib = line.split()
        peaks[n] = max(peaks.get(n, 0), int(kib))
except OSError:
    pass
for entry in memory:
    n, idle, end = entry.split(":")
    print(f"instance {n} VmRSS: idle with the streams {int(idle) / 1024:.0f} MiB, peak under load {peaks.get(n, 0) / 1024:.0f} MiB, "
          f"after {int(end) / 1024:.0f} MiB")
if problems:
    print("\nFAILED:\n" + "\n".join(problems), file=sys.stderr)
    sys.exit(1)
PY
