#!/usr/bin/env bash
# Runs the whole ZakOps test suite twice: on SQLite and on a throwaway PostgreSQL server; then
# the alert rules with promtool and through a real Prometheus and Alertmanager
# (scripts/monitoring-e2e.sh); then checks the running server against its OpenAPI document on
# both databases (scripts/contract.sh).
#
# Installs PostgreSQL from Debian's packages when it is missing, starts it on 127.0.0.1 in a
# temporary folder with a password generated for this run, and stops and removes it on exit.
# Fails loudly when PostgreSQL cannot be started: there is no silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf '\nscripts/test.sh: %s\n' "$*" >&2; exit 1; }

# Started first, so that a machine where PostgreSQL cannot run fails before the long build.
source scripts/postgres.sh
start_throwaway_postgres

# The backup tests run the real tools: age (Debian's package) and pg_dump/pg_restore (the
# PostgreSQL client tools, which come with the server package above).
if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null; then
  log "age not found: installing Debian's age package"
  [ "$(id -u)" -eq 0 ] || die "age is missing and installing it needs root (apt-get install age)"
  apt-get install -y -qq age >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq age >/dev/null; } || die "apt-get install age failed"
fi
if ! command -v pg_dump >/dev/null || ! command -v pg_restore >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "pg_dump is missing and installing it needs root (apt-get install postgresql-client)"
  apt-get install -y -qq postgresql-client >/dev/null 2>&1 || die "apt-get install postgresql-client failed"
fi
# The monitoring checks run the real tools: promtool, Prometheus and Alertmanager (Debian's
# prometheus and prometheus-alertmanager packages).
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then
  log "prometheus or prometheus-alertmanager not found: installing Debian's packages"
  [ "$(id -u)" -eq 0 ] || die "prometheus is missing and installing it needs root (apt-get install prometheus prometheus-alertmanager)"
  apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; } \
    || die "apt-get install prometheus prometheus-alertmanager failed"
fi

log "building"
swift build --build-tests

export ZAKOPS_BIN="$PWD/.build/debug/zakops"
[ -x "$ZAKOPS_BIN" ] || die "the zakops binary was not built"

status=0
log "test suite on SQLite"
ZAKOPS_TEST_DATABASE=sqlite swift test --skip-build || status=1

log "test suite on PostgreSQL"
if ! ZAKOPS_TEST_DATABASE=postgres swift test --skip-build; then
  status=1
  # What PostgreSQL saw: lock waits over a second and statements over two (scripts/postgres.sh).
  grep -E "still waiting|acquired|duration:" "$PG_LOG" | tail -40 >&2 || true
fi

# The shipped alert rules and their unit tests, then the alerts end to end: Prometheus scraping a
# live server, Alertmanager delivering to a local receiver (scripts/monitoring-e2e.sh).
log "Prometheus rules (promtool)"
promtool check rules deploy/prometheus/alerts.yml || status=1
promtool test rules deploy/prometheus/alerts_test.yml || status=1
log "monitoring end to end"
scripts/monitoring-e2e.sh "$ZAKOPS_BIN" || status=1

# The OpenAPI contract against a live server, on each database (schemathesis, from PyPI).
log "OpenAPI contract on SQLite"
scripts/contract.sh sqlite || status=1
log "OpenAPI contract on PostgreSQL"
"$PG_BIN/psql" -q "$ZAKOPS_TEST_POSTGRES_URL" -c "CREATE DATABASE zakops_contract" || die "could not create the contract database"
scripts/contract.sh "${ZAKOPS_TEST_POSTGRES_URL%/*}/zakops_contract" || status=1

if [ "$status" -ne 0 ]; then
  die "tests failed (see above)"
fi
log "all tests, the monitoring checks and the OpenAPI contract passed on SQLite and PostgreSQL"
