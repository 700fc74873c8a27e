#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server (see scripts/postgres.sh); its URL is in
# ZAKOPS_TEST_POSTGRES_URL. For example, the rate-limit benchmark on shared counters:
#
#   scripts/with-postgres.sh bash -c 'DATABASE_URL=$ZAKOPS_TEST_POSTGRES_URL benchmarks/ratelimit.sh'
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\n== %s\n' "$*" >&2; }
die() { printf '\nscripts/with-postgres.sh: %s\n' "$*" >&2; exit 1; }
source scripts/postgres.sh
start_throwaway_postgres
status=0
"$@" || status=$?
exit "$status"
