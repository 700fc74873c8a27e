#!/usr/bin/env bash
# Runs the whole ZakOps test suite twice: on SQLite and on a throwaway PostgreSQL server; then
# the alert rules with promtool and through a real Prometheus and Alertmanager
# (scripts/monitoring-e2e.sh); then the operator console in headless Chromium against a live
# server (scripts/browser.sh, tests/browser/); then checks the running server against its
# OpenAPI document on both databases (scripts/contract.sh); then a production-shaped cluster
# (scripts/cluster.sh: three instances, PostgreSQL, nginx with TLS) through
# tests/cluster/run.sh and tests/cluster/scan.sh.
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
# The console's browser tests drive Debian's chromium with its chromium-driver (selenium comes
# from PyPI into .build/browser-venv, made by scripts/browser.sh).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "chromium or chromedriver not found: installing Debian's chromium and chromium-driver"
  [ "$(id -u)" -eq 0 ] || die "chromium is missing and installing it needs root (apt-get install chromium chromium-driver)"
  apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; } \
    || die "apt-get install chromium chromium-driver failed"
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

# The operator console in a real browser: headless Chromium driven by Selenium against a live
# server on SQLite (scripts/browser.sh: sign-in and the forced change, live approvals across
# two browsers, conflicts, sign-out, markup shown as text, CSP and console errors, another
# site's requests, the keyboard); screenshots go to .build/browser-screenshots/.
log "console in a browser"
scripts/browser.sh || status=1

# The OpenAPI contract against a live server, on each database (schemathesis, from PyPI).
log "OpenAPI contract on SQLite"
scripts/contract.sh sqlite || status=1
log "OpenAPI contract on PostgreSQL"
"$PG_BIN/psql" -q "$ZAKOPS_TEST_POSTGRES_URL" -c "CREATE DATABASE zakops_contract" || die "could not create the contract database"
scripts/contract.sh "${ZAKOPS_TEST_POSTGRES_URL%/*}/zakops_contract" || status=1

# The cluster: three production instances on one PostgreSQL behind nginx with TLS
# (scripts/cluster.sh), the cluster tests (tests/cluster/run.sh) and the deployment scan of its
# nginx and of misconfigured copies (tests/cluster/scan.sh). The cluster is stopped and removed
# whatever happens (the subshell's trap).
log "cluster: three instances behind nginx (scripts/cluster.sh, tests/cluster/run.sh, tests/cluster/scan.sh)"
cluster_started=$(date +%s)
if ! (
  export ZAKOPS_CLUSTER_DIR ZAKOPS_CLUSTER_EXTRA_ENV="$PWD/tests/cluster/settings.env"
  ZAKOPS_CLUSTER_DIR=$(mktemp -u /tmp/zakops-cluster.XXXXXXXX)
  trap 'scripts/cluster.sh stop || true' EXIT
  scripts/cluster.sh start || exit 1
  failed=0
  tests/cluster/run.sh || failed=1
  tests/cluster/scan.sh || failed=1
  exit "$failed"
); then
  status=1
  printf '\nscripts/test.sh: the cluster phase FAILED (above)\n' >&2
fi
log "cluster phase: $(($(date +%s) - cluster_started)) s"

if [ "$status" -ne 0 ]; then
  die "tests failed (see above)"
fi
log "all tests, the monitoring checks, the console in a browser, the OpenAPI contract and the cluster tests passed"
