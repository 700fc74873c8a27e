#!/usr/bin/env bash
# Webhook deliveries per second from the outbox on PostgreSQL, with one and with two processors
# (`zakops outbox work`), to a local receiver (benchmarks/BareHummingbird, POST /hook, which
# counts deliveries and distinct webhook-ids). Target: >= 2,000/s with two, none lost.
#
#   scripts/with-postgres.sh bash -c 'DATABASE_URL=$ZAKOPS_TEST_POSTGRES_URL benchmarks/outbox.sh'
#   ROWS=50000 ... benchmarks/outbox.sh
#
# Each round starts from an empty outbox, inserts ROWS pending rows for one webhook in one
# statement (as a burst of committed changes would leave them), starts the processors and
# times until every row is delivered. Needs psql, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a postgres:// URL (see the header)}"
ROWS=${ROWS:-20000}
# Processors are not pinned to one core: the point is what two of them add.
PIN=${PIN:-0}
source benchmarks/lib.sh
need curl python3
PSQL=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -1)
build_release zakops BareHummingbird
RECEIVER_PORT=$(free_port)
$SERVER_CPU "$BIN/BareHummingbird" "$RECEIVER_PORT" >"$WORK/receiver.log" 2>&1 & pids+=($!)
wait_for "$RECEIVER_PORT"
export DATABASE_URL LOG_LEVEL=warning WEBHOOK_ALLOW_PRIVATE=true OUTBOX_POLL_INTERVAL_MS=20 OUTBOX_BATCH_SIZE=${BATCH:-100}
(cd "$WORK" && "$BIN/zakops" migrate >/dev/null)
sql() { "$PSQL" -qAt "$DATABASE_URL" -c "$1"; }
sql "DELETE FROM webhooks WHERE id = 'wh_bench'"
sql "INSERT INTO webhooks (id, url, event_types, secret, is_active, created_at, updated_at, created_by)
     VALUES ('wh_bench', 'http://127.0.0.1:$RECEIVER_PORT/hook', '[\"*\"]', 'whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')', true,
             '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'bench')"

# round PROCESSORS: prints deliveries/s and checks that none was lost or sent twice.
round() {
  local processors=$1 start end workers=() before
  sql "DELETE FROM outbox"
  sql "INSERT INTO outbox (id, consumer, event_type, payload, status, attempts, next_attempt_at, created_at)
       SELECT 'msg_bench_' || g, 'webhook:wh_bench', 'deal.created',
              '{\"type\":\"deal.created\",\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"sequence\":' || g || ',\"data\":{\"id\":\"DEAL-BENCH\",\"canonical_name\":\"Benchmark deal\"}}',
              'pending', 0, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'
       FROM generate_series(1, $ROWS) AS g"
  before=$(curl -fs "http://127.0.0.1:$RECEIVER_PORT/hook/count" | cut -d' ' -f1)
  start=$(date +%s.%N)
  for _ in $(seq 1 "$processors"); do
    (cd "$WORK" && exec $SERVER_CPU "$BIN/zakops" outbox work >>"$WORK/work.log" 2>&1) & workers+=($!); pids+=($!)
  done
  while [ "$(sql "SELECT count(*) FROM outbox WHERE status <> 'delivered'")" != 0 ]; do sleep 0.05; done
  end=$(date +%s.%N)
  for pid in "${workers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${workers[@]}"; do wait "$pid" 2>/dev/null || true; done
  local counts deliveries
  counts=$(curl -fs "http://127.0.0.1:$RECEIVER_PORT/hook/count")
  deliveries=$(( $(cut -d' ' -f1 <<<"$counts") - before ))
  python3 - "$processors" "$ROWS" "$deliveries" "$start" "$end" <<'PY'
import sys
processors, rows, deliveries, start, end = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
print(f"{processors} processor(s): {rows} rows delivered in {end - start:.2f} s = {rows / (end - start):,.0f} deliveries/s "
      f"({deliveries - rows} duplicate deliveries)")
PY
}
round 1 | tee "$WORK/one"
round 2 | tee "$WORK/two"
distinct=$(curl -fs "http://127.0.0.1:$RECEIVER_PORT/hook/count" | cut -d' ' -f2)
python3 - "$(cat "$WORK/one")" "$(cat "$WORK/two")" "$distinct" "$ROWS" <<'PY'
import re, sys
one = float(re.search(r"= ([\d,]+) deliveries", sys.argv[1]).group(1).replace(",", ""))
two = float(re.search(r"= ([\d,]+) deliveries", sys.argv[2]).group(1).replace(",", ""))
print(f"two processors / one: {two / one:.2f}x; target >= 2,000/s with two: {'met' if two >= 2000 else 'NOT met'}; "
      f"distinct webhook-ids received: {sys.argv[3]} (of {sys.argv[4]} per round; ids repeat across rounds by design)")
PY
