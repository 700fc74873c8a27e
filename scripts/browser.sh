#!/usr/bin/env bash
# The operator console in a real browser: headless Chromium driven by Selenium
# (tests/browser/test_*.py) against a live `zakops serve` this script starts — SQLite in a
# temporary folder, development mode, AUTH_REQUIRED left at its default (true). The first
# start on the empty database creates the one-time development administrator and prints its
# password on standard error; the run reads it there and the first test signs in with it, the
# way a newcomer does. Two operators are added with `zakops user create` once the server is up
# (an account created before the first start would keep the development administrator from
# being created). Writes the console's screenshots into .build/browser-screenshots/, or into
# the folder ZAKOPS_BROWSER_SCREENSHOTS names: `ZAKOPS_BROWSER_SCREENSHOTS=docs/console
# scripts/browser.sh` refreshes the ones docs/console.md shows (a test run leaves the
# checkout unchanged).
#
#   scripts/browser.sh [NAME...]       NAME: a test module or its start (test_03), a test method, or Class.method
#
# Needs python3 (with venv), curl, Debian's chromium and chromium-driver (installed with apt-get
# when missing: needs root) and selenium from PyPI (into a virtualenv under .build/, made on
# first use). The rate limits are raised for the run: a handful of principals do in about two
# minutes what a team does in an hour (an administrator in three browsers, each page load a few
# API calls, polling), and the auth limit counts every sign-in and sign-out of the run from one
# address; the limiter itself is tested by the Swift suite and tests/cluster. Every process
# started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SELENIUM_VERSION=4.51.0
VENV=${ZAKOPS_BROWSER_VENV:-$ROOT/.build/browser-venv}
BIN=${ZAKOPS_BIN:-$ROOT/.build/debug/zakops}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
START=$(date +%s)

log() { printf '== [%3ds] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { printf '\nscripts/browser.sh: %s\n' "$*" >&2; exit 1; }

[ -x "$BIN" ] || die "no zakops binary at $BIN (swift build first)"
command -v python3 >/dev/null && command -v curl >/dev/null || die "python3 and curl are needed"
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "chromium or chromedriver not found: installing Debian's chromium and chromium-driver"
  [ "$(id -u)" -eq 0 ] || die "chromium is missing and installing it needs root (apt-get install chromium chromium-driver)"
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } \
    || die "apt-get install chromium chromium-driver failed"
fi
if ! "$VENV/bin/python" -c "import selenium, sys; sys.exit(selenium.__version__ != '$SELENIUM_VERSION')" 2>/dev/null; then
  log "installing selenium $SELENIUM_VERSION into $VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$VENV/bin/pip" install -q "selenium==$SELENIUM_VERSION" || die "installing selenium from PyPI failed"
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${ZAKOPS_BROWSER_KEEP:-}" = 1 ]; then printf 'kept %s\n' "$WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
for s in sockets:
    s.close()
PY
}
read -r PORT METRICS_PORT ATTACKER_PORT <<<"$(free_ports 3)"
head -c 48 /dev/urandom | base64 >"$WORK/secret"
export APP_ENV=development AUTH_REQUIRED=true HTTP_HOST=127.0.0.1 HTTP_PORT=$PORT METRICS_PORT \
  DATABASE_URL="sqlite:$WORK/zakops.sqlite" SESSION_SECRET_FILE="$WORK/secret" MAIL_DIR="$WORK/mail" \
  BACKUP_DIR="$WORK/backups" PUBLIC_BASE_URL="http://localhost:$PORT" PASSWORD_HASH_COST=10 LOG_LEVEL=info \
  RATE_LIMIT_API_PER_MINUTE=3000 RATE_LIMIT_AUTH_PER_MINUTE=300
unset SESSION_SECRET DEBUG CORS_ORIGINS TRUSTED_PROXIES 2>/dev/null || true

log "starting zakops serve on http://localhost:$PORT (SQLite in $WORK)"
# Standard output is the JSON log; standard error carries the development administrator's
# one-time password (printed there, never logged).
(cd "$WORK" && exec "$BIN" serve >"$WORK/serve.log" 2>"$WORK/serve.err") &
SERVER_PID=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PORT/health/live" >/dev/null || { cat "$WORK/serve.err" "$WORK/serve.log" >&2; die "the server did not start"; }
DEV_PASSWORD=$(awk '/^ *password: / {print $2; exit}' "$WORK/serve.err")
[ -n "$DEV_PASSWORD" ] || { cat "$WORK/serve.err" >&2; die "the server printed no development administrator password"; }

OLGA_PASSWORD="Tide-Lantern-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
OSCAR_PASSWORD="Copper-Meadow-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
create_operator() { # EMAIL NAME PASSWORD
  printf '%s\n' "$3" | (cd "$WORK" && "$BIN" user create --email "$1" --name "$2" --role operator >/dev/null) || die "creating $1 failed"
}
create_operator olga@example.com "Olga Operator" "$OLGA_PASSWORD"
create_operator oscar@example.com "Oscar Operator" "$OSCAR_PASSWORD"

SCREENSHOTS=$(cd "$ROOT" && mkdir -p "${ZAKOPS_BROWSER_SCREENSHOTS:-.build/browser-screenshots}" && cd "${ZAKOPS_BROWSER_SCREENSHOTS:-.build/browser-screenshots}" && pwd)
export ZAKOPS_BROWSER_BASE="http://localhost:$PORT" ZAKOPS_BROWSER_ATTACKER_PORT=$ATTACKER_PORT \
  ZAKOPS_BROWSER_DEV_PASSWORD=$DEV_PASSWORD ZAKOPS_BROWSER_OLGA_PASSWORD=$OLGA_PASSWORD \
  ZAKOPS_BROWSER_OSCAR_PASSWORD=$OSCAR_PASSWORD ZAKOPS_BROWSER_SERVE_LOG="$WORK/serve.log" \
  ZAKOPS_BROWSER_SCREENSHOTS="$SCREENSHOTS" ZAKOPS_BROWSER_WORK="$WORK"
export NO_PROXY=127.0.0.1,localhost,.localhost no_proxy=127.0.0.1,localhost,.localhost
mkdir -p "$SCREENSHOTS"
log "running tests/browser (Chromium $(chromium --version 2>/dev/null | awk '{print $2}'), selenium $SELENIUM_VERSION)"
status=0
"$VENV/bin/python" tests/browser/main.py "$@" || status=1
kill -0 "$SERVER_PID" 2>/dev/null || { status=1; printf '\nscripts/browser.sh: the server died during the run\n' >&2; }
if [ "$status" -ne 0 ]; then
  printf '\n-- the server log, last lines:\n' >&2
  tail -n 40 "$WORK/serve.log" >&2
  die "the browser tests FAILED (above)"
fi
log "the browser tests passed"
