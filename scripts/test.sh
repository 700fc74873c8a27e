#!/usr/bin/env bash
# Runs the whole ZakOps test suite twice: on SQLite and on a throwaway PostgreSQL server.
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

log "building"
swift build --build-tests

export ZAKOPS_BIN="$PWD/.build/debug/zakops"
[ -x "$ZAKOPS_BIN" ] || die "the zakops binary was not built"

status=0
log "test suite on SQLite"
ZAKOPS_TEST_DATABASE=sqlite swift test --skip-build || status=1

log "test suite on PostgreSQL"
ZAKOPS_TEST_DATABASE=postgres swift test --skip-build || status=1

if [ "$status" -ne 0 ]; then
  die "tests failed (see above)"
fi
log "all tests passed on SQLite and PostgreSQL"
