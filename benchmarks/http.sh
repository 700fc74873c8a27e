#!/usr/bin/env bash
# Throughput of GET /health/live through ZakOps's whole middleware pipeline, against the same
# route on a bare Hummingbird server (benchmarks/BareHummingbird), measured in the same run.
#
#   benchmarks/http.sh                 # 3 rounds of 10 s each, 32 connections
#   DURATION=30s ROUNDS=5 benchmarks/http.sh
#
# Needs wrk (apt-get install wrk). Target: the pipeline keeps >= 80 % of the bare throughput.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
source benchmarks/lib.sh
need wrk curl
build_release zakops BareHummingbird

ZAKOPS_PORT=$(free_port)
QUIET_PORT=$(free_port)
BARE_PORT=$(free_port)
# The request log goes to a file, as it would go to a log shipper: it is part of the pipeline.
(cd "$WORK" && HTTP_PORT=$ZAKOPS_PORT exec $SERVER_CPU "$BIN/zakops" serve >"$WORK/zakops.log" 2>&1) & pids+=($!)
# The same pipeline without the per-request log line (LOG_LEVEL=warning), to show its share.
mkdir -p "$WORK/quiet"
(cd "$WORK/quiet" && HTTP_PORT=$QUIET_PORT LOG_LEVEL=warning exec $SERVER_CPU "$BIN/zakops" serve >/dev/null 2>&1) & pids+=($!)
$SERVER_CPU "$BIN/BareHummingbird" "$BARE_PORT" >"$WORK/bare.log" 2>&1 & pids+=($!)
wait_for "$ZAKOPS_PORT"
wait_for "$QUIET_PORT"
wait_for "$BARE_PORT"

rps() { $CLIENT_CPU wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$1/health/live" | awk '/Requests\/sec/ {print $2}'; }

# Warm both up, then alternate rounds so drift on the machine affects both alike.
wrk -t1 -c4 -d2s "http://127.0.0.1:$ZAKOPS_PORT/health/live" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$BARE_PORT/health/live" >/dev/null
zakops_total=0; quiet_total=0; bare_total=0
for round in $(seq 1 "$ROUNDS"); do
  b=$(rps "$BARE_PORT"); z=$(rps "$ZAKOPS_PORT"); q=$(rps "$QUIET_PORT")
  printf 'round %d: bare %8.0f req/s   zakops %8.0f req/s   zakops without request log %8.0f req/s\n' "$round" "$b" "$z" "$q"
  bare_total=$(python3 -c "print($bare_total + $b)"); zakops_total=$(python3 -c "print($zakops_total + $z)"); quiet_total=$(python3 -c "print($quiet_total + $q)")
done
python3 - "$bare_total" "$zakops_total" "$quiet_total" "$ROUNDS" <<'PY'
import sys
bare, zakops, quiet, rounds = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print(f"mean: bare {bare/rounds:.0f} req/s, zakops pipeline {zakops/rounds:.0f} req/s (ratio {zakops/bare:.2f}, target >= 0.80), "
      f"without the request log {quiet/rounds:.0f} req/s (ratio {quiet/bare:.2f})")
PY
