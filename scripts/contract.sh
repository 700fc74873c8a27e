#!/usr/bin/env bash
# The OpenAPI contract, checked from the outside: starts a zakops server on DATABASE (`sqlite`
# for a fresh file, or the URL of an empty PostgreSQL database), signs in an admin (session cookie + CSRF token) and
# mints an agent's API key, then runs schemathesis against GET /openapi.json twice — once with
# the cookie, once with the bearer key. Fails on any 5xx, any undocumented status, content type
# or header, and any body that does not match the document.
#
#   scripts/contract.sh sqlite
#   scripts/contract.sh "postgres://user:pass@127.0.0.1:5432/empty_db"
#   CONTRACT_EXAMPLES=50 scripts/contract.sh sqlite
#
# schemathesis comes from PyPI into a virtualenv under .build/ (made on first use). The rate
# limiter is off during the run (schemathesis sends thousands of requests a minute); its
# refusals are documented as the `default` error of every operation and tested by the suite.
# So is the outbox processor: schemathesis creates webhooks to made-up hosts.
# Routes that end the run's own session or change its password (logout, revoke, password
# change, MFA, and the incident steps that end every session or force every reset) are left out
# here: they would sign the run out; the Swift suite covers them. So is turning the lockdown on:
# every later answer to anyone but an admin would be a 503 by design. So is the event stream,
# which never ends (EventStreamTests reads it over a socket).
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE=${1:?usage: scripts/contract.sh DATABASE_URL}
EXAMPLES=${CONTRACT_EXAMPLES:-20}
SCHEMATHESIS_VERSION=4.32.5
VENV=${ZAKOPS_CONTRACT_VENV:-$PWD/.build/contract-venv}
BIN=${ZAKOPS_BIN:-$PWD/.build/debug/zakops}
die() { printf '\nscripts/contract.sh: %s\n' "$*" >&2; exit 1; }

[ -x "$BIN" ] || die "no zakops binary at $BIN (swift build first)"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" || die "installing schemathesis from PyPI failed"
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
[ "$DATABASE" = sqlite ] && DATABASE="sqlite:$WORK/contract.sqlite"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
head -c 48 /dev/urandom | base64 > "$WORK/secret"
PASSWORD="contract-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EMAIL="contract-admin@example.com"
export HTTP_PORT=$PORT DATABASE_URL=$DATABASE SESSION_SECRET_FILE=$WORK/secret PASSWORD_HASH_COST=10 LOG_LEVEL=warning \
  RATE_LIMIT_ENABLED=false OUTBOX_PROCESSOR=false MAIL_DIR="$WORK/mail"

(cd "$WORK" && "$BIN" migrate >/dev/null) || die "migrate failed"
printf '%s\n' "$PASSWORD" | (cd "$WORK" && "$BIN" user create --email "$EMAIL" --role admin >/dev/null) || die "creating the admin failed"
(cd "$WORK" && exec "$BIN" serve >"$WORK/serve.log" 2>&1) &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do curl -fs "$BASE/health/live" >/dev/null && break; sleep 0.1; done
curl -fs "$BASE/health/live" >/dev/null || { cat "$WORK/serve.log" >&2; die "the server did not start"; }

json() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
LOGIN=$(curl -fs -D "$WORK/login.headers" -H 'Content-Type: application/json' \
  -d "$(printf '{"email":"%s","password":"%s"}' "$EMAIL" "$PASSWORD")" "$BASE/api/auth/login") || die "login failed"
COOKIE=$(awk -F'[=;]' 'tolower($1) ~ /^set-cookie: __host-zakops_session$/ {print $2}' "$WORK/login.headers")
CSRF=$(json csrf_token <<<"$LOGIN")
AUTH=(-H "Cookie: __Host-zakops_session=$COOKIE" -H "X-CSRF-Token: $CSRF")
ACCOUNT=$(curl -fs "${AUTH[@]}" -H 'Content-Type: application/json' -d '{"name":"contract-agent","role":"operator"}' \
  "$BASE/api/admin/service-accounts" | json id) || die "creating the service account failed"
KEY=$(curl -fs "${AUTH[@]}" -X POST "$BASE/api/admin/service-accounts/$ACCOUNT/keys" | json key) || die "minting the key failed"
# A deal to give the path parameters something to find.
curl -fs -o /dev/null "${AUTH[@]}" -H 'Content-Type: application/json' -d '{"canonical_name":"Contract deal"}' "$BASE/api/deals" \
  || die "creating a deal failed"

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
run() {
  local name=$1; shift
  printf '\n== schemathesis (%s, %s)\n' "$name" "${DATABASE%%:*}"
  "$VENV/bin/st" run "$BASE/openapi.json" --checks "$CHECKS" --max-examples "$EXAMPLES" --seed 1 --workers 1 \
    --exclude-path /api/auth/logout --exclude-path /api/auth/sessions/revoke-others --exclude-path '/api/auth/sessions/{id}' \
    --exclude-path /api/auth/password/change --exclude-path-regex '^/api/auth/mfa/' --exclude-path /api/events/stream \
    --exclude-path /api/admin/incidents/auth-breach --exclude-path /api/admin/incidents/revoke-sessions \
    --exclude-path /api/admin/incidents/force-reset --exclude-operation-id setLockdown \
    --generation-allow-x00 true --request-timeout 30 --output-truncate true "$@" \
    || { tail -n 40 "$WORK/serve.log" >&2; die "schemathesis found contract violations ($name)"; }
}
# The key first: the admin's run may revoke keys and disable service accounts (it finds their
# ids), after which the agent's key is refused everywhere.
run "bearer API key" -H "Authorization: Bearer $KEY"
run "session cookie" "${AUTH[@]}"
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the run"
printf '\n== the OpenAPI contract holds (session cookie and bearer key)\n'
