#!/usr/bin/env bash
# The monitoring path end to end: a real Prometheus scrapes a real `zakops serve` (SQLite, in a
# temporary folder) through the shipped deploy/prometheus/prometheus.yml (with this run's ports,
# metrics token and 1 s intervals), evaluates the catalog's rules rendered with
# `zakops alerts rules --time-scale 30` (10 minutes become 20 s), and a real Alertmanager, with
# the shipped deploy/alertmanager/alertmanager.yml (this run's receiver, 1 s grouping), delivers
# to a local webhook receiver. The run makes the DLQ grow (a webhook whose receiver answers 500,
# OUTBOX_MAX_ATTEMPTS=1) and expects ZakOpsDLQGrowing to arrive firing; purges the DLQ and turns
# the lockdown on (an API key's requests are answered 503) and expects ZakOpsHighErrorRate firing
# and ZakOpsDLQGrowing resolved; turns the lockdown off and expects ZakOpsHighErrorRate resolved.
# Every process it starts is stopped on exit.
#
#   scripts/monitoring-e2e.sh [ZAKOPS_BINARY]      (default: $ZAKOPS_BIN or .build/debug/zakops)
#
# Needs python3, curl, prometheus and prometheus-alertmanager (Debian's packages; promtool and
# amtool, when present, check the rewritten copies). MONITORING_E2E_TIMEOUT (seconds, default
# 120) bounds each expectation; MONITORING_E2E_KEEP=1 keeps the temporary folder;
# MONITORING_E2E_PROMETHEUS_CONFIG and MONITORING_E2E_ALERTMANAGER_CONFIG name other files to
# start from.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${1:-${ZAKOPS_BIN:-.build/debug/zakops}}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
PROM_CONFIG=${MONITORING_E2E_PROMETHEUS_CONFIG:-$ROOT/deploy/prometheus/prometheus.yml}
AM_CONFIG=${MONITORING_E2E_ALERTMANAGER_CONFIG:-$ROOT/deploy/alertmanager/alertmanager.yml}
TIMEOUT=${MONITORING_E2E_TIMEOUT:-120}
PROMETHEUS=${PROMETHEUS:-prometheus}
ALERTMANAGER=${ALERTMANAGER:-prometheus-alertmanager}
START=$(date +%s)

log() { printf '== [%3ds] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { printf '\nscripts/monitoring-e2e.sh: %s\n' "$*" >&2; exit 1; }

[ -x "$BIN" ] || die "no zakops binary at $BIN (swift build first)"
command -v "$PROMETHEUS" >/dev/null || die "prometheus not found (apt-get install prometheus)"
command -v "$ALERTMANAGER" >/dev/null || die "prometheus-alertmanager not found (apt-get install prometheus-alertmanager)"
command -v python3 >/dev/null && command -v curl >/dev/null || die "python3 and curl are needed"
[ -f "$PROM_CONFIG" ] || die "no $PROM_CONFIG"
[ -f "$AM_CONFIG" ] || die "no $AM_CONFIG"

TMP=$(mktemp -d)
PIDS=()
FAILED=""
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "${MONITORING_E2E_KEEP:-}" = 1 ]; then printf 'kept %s\n' "$TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# The helpers: the alert receiver, the failing webhook receiver, the client traffic and the
# expectation on what the alert receiver got.
cat >"$TMP/helpers.py" <<'PY'
import json, os, sys, threading, time, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def serve(port, handler):
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    server.serve_forever()

def alert_receiver(port, path):
    """Appends each POSTed body (Alertmanager's webhook JSON) as one line."""
    lock = threading.Lock()
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            line = json.dumps(json.loads(body), separators=(",", ":"))
            with lock, open(path, "a") as f:
                f.write(line + "\n")
            self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *args): pass
    serve(port, Handler)

def failing_receiver(port, path):
    """Answers every webhook delivery 500 and counts them."""
    count = [0]
    lock = threading.Lock()
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                count[0] += 1
                with open(path, "w") as f: f.write(str(count[0]))
            self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *args): pass
    serve(port, Handler)

def traffic(base, key_file, control, stats_path):
    """Steady traffic: GET /health/live every 0.1 s (the development admin's successes) and
    GET /api/deals every 0.2 s with the service account's key (200, or 503 during the
    lockdown); while CONTROL/deals exists, a deal every second (its events go to the webhook)."""
    key = open(key_file).read().strip()
    stats, n, last_deal, last_key = {}, 0, 0.0, 0.0
    def call(name, req):
        try:
            with urllib.request.urlopen(req, timeout=5) as r: status = r.status
        except urllib.error.HTTPError as e: status = e.code
        except Exception: status = "error"
        stats[f"{name} {status}"] = stats.get(f"{name} {status}", 0) + 1
    while True:
        now = time.monotonic()
        call("health", urllib.request.Request(base + "/health/live"))
        if now - last_key >= 0.2:
            last_key = now
            call("key", urllib.request.Request(base + "/api/deals?limit=1", headers={"Authorization": "Bearer " + key}))
        if os.path.exists(os.path.join(control, "deals")) and now - last_deal >= 1.0:
            last_deal, n = now, n + 1
            body = json.dumps({"canonical_name": f"Monitoring e2e deal {n}"}).encode()
            call("deal", urllib.request.Request(base + "/api/deals", data=body, method="POST", headers={"Content-Type": "application/json"}))
        with open(stats_path + ".tmp", "w") as f: json.dump(stats, f, sort_keys=True)
        os.replace(stats_path + ".tmp", stats_path)
        time.sleep(0.1)

def seen(path, name, status, after="0"):
    """Whether the alert receiver got alert NAME with STATUS (firing or resolved) in a
    notification after its first AFTER ones."""
    try:
        lines = open(path).read().splitlines()
    except FileNotFoundError:
        return False
    for line in lines[int(after):]:
        for alert in json.loads(line).get("alerts", []):
            if alert.get("labels", {}).get("alertname") == name and alert.get("status") == status:
                return True
    return False

if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "alert-receiver": alert_receiver(int(args[0]), args[1])
    elif command == "failing-receiver": failing_receiver(int(args[0]), args[1])
    elif command == "traffic": traffic(*args)
    elif command == "seen": sys.exit(0 if seen(*args) else 1)
    elif command == "ports":
        import socket
        sockets = [socket.socket() for _ in range(int(args[0]))]
        for s in sockets: s.bind(("127.0.0.1", 0))
        print(" ".join(str(s.getsockname()[1]) for s in sockets))
    else: sys.exit(f"unknown command {command}")
PY
helper() { python3 "$TMP/helpers.py" "$@"; }
# Everything here talks to 127.0.0.1: never through a proxy of the environment.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

read -r HTTP_PORT METRICS_PORT PROM_PORT AM_PORT ALERT_RX_PORT HOOK_RX_PORT <<<"$(helper ports 6)"
BASE="http://127.0.0.1:$HTTP_PORT"
PROM="http://127.0.0.1:$PROM_PORT"
AM="http://127.0.0.1:$AM_PORT"
ALERTS_FILE="$TMP/alerts-received.jsonl"
mkdir -p "$TMP/control" "$TMP/run"

# Secrets of this run only, in files, never printed.
umask 077
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/metrics-token"
head -c 48 /dev/urandom | base64 >"$TMP/session-secret"
umask 022
export DATABASE_URL="sqlite:$TMP/zakops.sqlite" HTTP_HOST=127.0.0.1 HTTP_PORT METRICS_PORT \
  METRICS_TOKEN_FILE="$TMP/metrics-token" SESSION_SECRET_FILE="$TMP/session-secret" \
  AUTH_REQUIRED=false ALERT_EVALUATION_SECONDS=1 OUTBOX_MAX_ATTEMPTS=1 OUTBOX_POLL_INTERVAL_MS=100 \
  WEBHOOK_ALLOW_PRIVATE=true RATE_LIMIT_ENABLED=false PASSWORD_HASH_COST=10 LOG_LEVEL=notice MAIL_DIR="$TMP/mail"
unset APP_ENV DATABASE_URL_FILE METRICS_TOKEN SESSION_SECRET METRICS_HOST ALERTS_EMBEDDED
# Commands run in the temporary folder: a .env of the checkout is not read.
zakops() { (cd "$TMP/run" && "$BIN" "$@"); }

# What was seen, when an expectation is not met.
report_failure() {
  set +e
  printf '\n-------- alert receiver (%s)\n' "$ALERTS_FILE" >&2
  cat "$ALERTS_FILE" >&2 2>/dev/null
  printf '\n-------- client traffic (status counts)\n' >&2; cat "$TMP/traffic.stats" >&2 2>/dev/null
  printf '\n-------- failing webhook receiver: %s deliveries\n' "$(cat "$TMP/hook-count" 2>/dev/null || echo 0)" >&2
  local name
  for name in zakops cli prometheus alertmanager alert-receiver failing-receiver traffic; do
    printf '\n-------- %s log (last 30 lines)\n' "$name" >&2
    tail -n 30 "$TMP/$name.log" >&2 2>/dev/null
  done
  printf '\n-------- Prometheus /api/v1/alerts\n' >&2; curl -s "$PROM/api/v1/alerts" >&2
  printf '\n-------- Prometheus /api/v1/targets\n' >&2; curl -s "$PROM/api/v1/targets" >&2
  printf '\n-------- Alertmanager /api/v2/alerts\n' >&2; curl -s "$AM/api/v2/alerts" >&2
  printf '\n' >&2
}
fail() { report_failure; die "$*"; }

NAMES=()
start() { # NAME COMMAND...: runs COMMAND in the background, its output in $TMP/NAME.log
  local name=$1; shift
  (cd "$TMP/run" && exec "$@") >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  NAMES+=("$name")
}

wait_for() { # DESCRIPTION SECONDS COMMAND...: until COMMAND succeeds, while every process runs
  local what=$1 seconds=$2 i; shift 2
  local deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    for i in "${!PIDS[@]}"; do
      kill -0 "${PIDS[$i]}" 2>/dev/null || fail "${NAMES[$i]} exited while waiting for $what (see its log above)"
    done
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.5
  done
}

# How many notifications the receiver holds: an expectation can ask for one that comes later.
received() { if [ -f "$ALERTS_FILE" ]; then wc -l <"$ALERTS_FILE"; else echo 0; fi; }

expect_alert() { # NAME STATUS [AFTER]: a notification after the first AFTER ones has NAME with STATUS
  log "waiting for $1 $2 at the receiver"
  wait_for "$1 to arrive $2 through Alertmanager" "$TIMEOUT" helper seen "$ALERTS_FILE" "$1" "$2" "${3:-0}"
  log "received $1 $2"
}

# --- Prometheus and Alertmanager configuration: the shipped files, rewritten for this run --
"$BIN" alerts rules --time-scale 30 --out "$TMP/alerts.yml" || die "zakops alerts rules failed"
grep -q 'max(delta(zakops_dlq_size\[20s\])) > 0' "$TMP/alerts.yml" || die "the rendered rules lack the scaled ZakOpsDLQGrowing"
for needle in '127.0.0.1:9464' '127.0.0.1:9093' '/etc/prometheus/zakops-metrics-token' 'rule_files'; do
  grep -v '^[[:space:]]*#' "$PROM_CONFIG" | grep -qF "$needle" || die "$PROM_CONFIG no longer has $needle: update this script's substitutions"
done
# The shipped file with this run's ports, token, rules and 1 s intervals. Rule files listed
# under rule_files become the rendered, scaled one.
sed -e "s#127\.0\.0\.1:9464#127.0.0.1:$METRICS_PORT#g" \
    -e "s#127\.0\.0\.1:9093#127.0.0.1:$AM_PORT#g" \
    -e "s#/etc/prometheus/zakops-metrics-token#$TMP/metrics-token#g" \
    -e "s#\(scrape_interval\|evaluation_interval\|scrape_timeout\):.*#\1: 1s#" \
    -e "/^rule_files:/,/^[^ ]/ s#^\( *- *\).*\.ya\?ml[\"']\?\$#\1$TMP/alerts.yml#" \
    "$PROM_CONFIG" >"$TMP/prometheus.yml"
grep -qF "$TMP/alerts.yml" "$TMP/prometheus.yml" || die "could not point rule_files of $PROM_CONFIG at the scaled rules"
if command -v promtool >/dev/null; then
  promtool check config "$TMP/prometheus.yml" >"$TMP/promtool.log" 2>&1 || { cat "$TMP/promtool.log" >&2; die "promtool check config failed on the test copy"; }
fi
# The shipped Alertmanager configuration, its routes and inhibitions as they are, with this
# run's receiver (the placeholder webhook address) and 1 s grouping waits.
for needle in 'http://127.0.0.1:9095/alerts' 'send_resolved: true' 'group_wait:' 'group_interval:' 'resolve_timeout:'; do
  grep -v '^[[:space:]]*#' "$AM_CONFIG" | grep -qF "$needle" || die "$AM_CONFIG no longer has $needle: update this script's substitutions"
done
sed -e "s#http://127\.0\.0\.1:9095/alerts#http://127.0.0.1:$ALERT_RX_PORT/alerts#g" \
    -e "s#\(group_wait\|group_interval\):.*#\1: 1s#" \
    -e "s#resolve_timeout:.*#resolve_timeout: 10s#" \
    "$AM_CONFIG" >"$TMP/alertmanager.yml"
if command -v amtool >/dev/null; then
  amtool check-config "$TMP/alertmanager.yml" >"$TMP/amtool.log" 2>&1 || { cat "$TMP/amtool.log" >&2; die "amtool check-config failed on the test copy"; }
fi

# --- the processes ------------------------------------------------------------------------
log "starting the receivers, zakops, Prometheus and Alertmanager (ports: http $HTTP_PORT, metrics $METRICS_PORT, prometheus $PROM_PORT, alertmanager $AM_PORT)"
start alert-receiver python3 "$TMP/helpers.py" alert-receiver "$ALERT_RX_PORT" "$ALERTS_FILE"
start failing-receiver python3 "$TMP/helpers.py" failing-receiver "$HOOK_RX_PORT" "$TMP/hook-count"

zakops migrate >"$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log" >&2; die "zakops migrate failed"; }
# An operator first, so that serve does not create (and print) the development admin's password.
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/e2e-/' \
  | zakops user create --email monitoring-e2e@example.com --role admin >/dev/null 2>"$TMP/user.log" \
  || { cat "$TMP/user.log" >&2; die "zakops user create failed"; }
start zakops "$BIN" serve
start alertmanager "$ALERTMANAGER" --config.file="$TMP/alertmanager.yml" --storage.path="$TMP/am" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address=
start prometheus "$PROMETHEUS" --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT"

wait_for "zakops /health/ready" 60 curl -fs "$BASE/health/ready"
wait_for "Alertmanager to be ready" 60 curl -fs "$AM/-/ready"
wait_for "Prometheus to be ready" 60 curl -fs "$PROM/-/ready"
scrape_up() { curl -fs "$PROM/api/v1/query" --data-urlencode 'query=up{job="zakops"} == 1' | grep -q '"value"'; }
wait_for "Prometheus to scrape zakops with the token (up == 1)" 60 scrape_up
log "everything is up; Prometheus scrapes zakops"

# --- the fixtures: a webhook that always fails, and a service account's key ---------------
json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
post() { curl -fsS -H 'Content-Type: application/json' -d "$2" "$BASE$1"; }
post /api/admin/webhooks "{\"url\":\"http://127.0.0.1:$HOOK_RX_PORT/hook\",\"event_types\":[\"*\"]}" >/dev/null \
  || fail "creating the webhook failed"
ACCOUNT=$(post /api/admin/service-accounts '{"name":"monitoring-e2e","role":"operator"}' | json id) || fail "creating the service account failed"
(umask 077; curl -fsS -X POST "$BASE/api/admin/service-accounts/$ACCOUNT/keys" | json key >"$TMP/api-key") || fail "minting the key failed"
start traffic python3 "$TMP/helpers.py" traffic "$BASE" "$TMP/api-key" "$TMP/control" "$TMP/traffic.stats"

# --- 1. the DLQ grows: ZakOpsDLQGrowing fires ---------------------------------------------
log "creating a deal every second: each event's delivery fails once and goes dead"
touch "$TMP/control/deals"
expect_alert ZakOpsDLQGrowing firing
rm -f "$TMP/control/deals"
# The embedded evaluator (same rules, inside the server) saw the same growth.
embedded_firing() { zakops alerts --json 2>>"$TMP/cli.log" | python3 -c 'import json, sys; a = {x["name"]: x["status"]["state"] for x in json.load(sys.stdin)["alerts"]}; sys.exit(0 if a.get(sys.argv[1]) == "firing" else 1)' "$1"; }
wait_for "the embedded evaluator to fire ZakOpsDLQGrowing (zakops alerts)" "$TIMEOUT" embedded_firing ZakOpsDLQGrowing
log "zakops alerts: ZakOpsDLQGrowing firing in the embedded evaluator too"
log "stopped creating deals ($(cat "$TMP/hook-count" 2>/dev/null || echo 0) failed deliveries so far)"
sleep 2 # the last deliveries finish (100 ms polls, a local receiver)
# The resolution must come from here on: the DLQ stopped growing and was emptied.
FIXED_DLQ=$(received)
PURGED=$(zakops dlq purge --older-than 0h 2>>"$TMP/cli.log") || fail "zakops dlq purge failed"
log "zakops dlq purge: $PURGED"

# --- 2. 5xx answers: ZakOpsHighErrorRate fires; the DLQ alert resolves ---------------------
zakops incident lockdown on >/dev/null 2>>"$TMP/cli.log" || fail "zakops incident lockdown on failed"
log "lockdown on: the service account's requests are answered 503"
expect_alert ZakOpsHighErrorRate firing
expect_alert ZakOpsDLQGrowing resolved "$FIXED_DLQ"

# --- 3. the errors stop: ZakOpsHighErrorRate resolves -------------------------------------
FIXED_ERRORS=$(received)
zakops incident lockdown off >/dev/null 2>>"$TMP/cli.log" || fail "zakops incident lockdown off failed"
log "lockdown off: every request succeeds again"
expect_alert ZakOpsHighErrorRate resolved "$FIXED_ERRORS"

log "traffic: $(tr -d '\n' <"$TMP/traffic.stats")"
log "passed: both alerts fired and resolved through Prometheus and Alertmanager"
