#!/usr/bin/env bash
# `zakops scan` against the cluster (scripts/cluster.sh start first): the cluster's nginx, as
# deploy/nginx/zakops.conf ships it, must pass every item (exit 0, every finding PASS, the
# session cookie and the auth rate limit included: --credentials with the admin, --probe-limits).
# Then, one at a time, a misconfigured nginx in front of the same three instances — a copy of
# the cluster's filled configuration with one change, on other ports — must make the scan FAIL
# exactly the items that change breaks, and nothing else.
#
#   tests/cluster/scan.sh [CASE...]        (default: the cluster's nginx, then every CASES entry)
#
# CASE is `good` or a misconfiguration's name (CASES and OPTIONAL below). The cluster is the one
# in ZAKOPS_CLUSTER_DIR (default /tmp/zakops-cluster). Needs nginx, curl, openssl, python3, psql.
#
# Two things of the cluster shape how the copies run:
# - Every client of an nginx is 127.0.0.1 for the instances' rate limits: 10 unsafe /api/auth
#   requests a minute (the good scan signs in, out and probes the limit; every scan sends one
#   malformed sign-in, error_body_400) and 60 anonymous /api requests a minute (a scan sends
#   about a dozen). Before a scan that would not fit in what is left of the window, the
#   address's count is deleted from rate_limit_counters (see budget()).
# - The instances trust unsafe requests from PUBLIC_BASE_URL's origin or, for loopback names,
#   from "https://" + the Host header nginx sends ($host: no port). The scan's malformed
#   sign-in carries Origin: its own origin, so a copy on another port would be refused 403
#   CSRF_FAILED there (an error_body_400 FAIL of the test's making): the copies serve TLS on
#   port 443 when it is free (origin https://localhost, trusted as loopback); otherwise on a
#   free port, with error_body_400 expected to FAIL as well.
set -euo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)

log() { printf '== [%3ds] %s\n' "$(($(date +%s) - START))" "$*" >&2; }
die() { printf '\ntests/cluster/scan.sh: %s\n' "$*" >&2; exit 1; }

DIR=${ZAKOPS_CLUSTER_DIR:-/tmp/zakops-cluster}
[ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (scripts/cluster.sh start first)"
# shellcheck disable=SC1091
source "$DIR/cluster.env"
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx not found"
PSQL="$ZAKOPS_CLUSTER_PG_BIN/psql"
[ -x "$PSQL" ] || PSQL=psql

# name | the items it must FAIL | the change (applied by render() below)
CASES=(
  "hide-x-frame-options|headers_success headers_error headers_not_found|proxy_hide_header X-Frame-Options;"
  "override-hsts|headers_success headers_error headers_not_found|proxy_hide_header Strict-Transport-Security; add_header Strict-Transport-Security \"max-age=300\" always;"
  "append-referrer-policy|headers_success headers_error headers_not_found|add_header Referrer-Policy unsafe-url always; (a second value after the app's: browsers apply the last one they know)"
  "no-redirect|https_redirect|port 80 serves the app (proxy_pass) instead of return 308"
  "tls-1.0|tls_versions tls_ciphers|ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers ...:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"
  "tls-cbc|tls_ciphers|ssl_ciphers ...:ECDHE-ECDSA-AES128-SHA"
  "tls-aes128-sha-rsa|tls_ciphers|ssl_ciphers ...:AES128-SHA, with an RSA certificate beside the ECDSA one (static RSA needs one)"
  "cors-star|cors|add_header Access-Control-Allow-Origin * always;"
  "cors-reflect|cors|add_header Access-Control-Allow-Origin \$http_origin always;"
  "server-tokens|server_banner|server_tokens on;"
  "body-413-html|error_body_413|client_max_body_size 512k; without error_page 413 (nginx's own HTML page)"
  "metrics-public|metrics_not_public|location /metrics { proxy_pass http://127.0.0.1:<metrics port>/metrics; proxy_set_header Authorization \"Bearer <token>\"; }"
)

TMP=$(mktemp -d)
COPY_PID=""
stop_copy() {
  [ -n "$COPY_PID" ] || return 0
  kill -QUIT "$COPY_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$COPY_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$COPY_PID" 2>/dev/null || true
  COPY_PID=""
}
cleanup() { stop_copy; rm -rf "$TMP"; }
trap cleanup EXIT

# The admin's credentials for the good scan (mode 0600, removed on exit).
( umask 077 && python3 - "$ZAKOPS_CLUSTER_ADMIN_EMAIL_FILE" "$ZAKOPS_CLUSTER_ADMIN_PASSWORD_FILE" >"$TMP/credentials.json" <<'PY'
import json, sys
print(json.dumps({"email": open(sys.argv[1]).read().strip(), "password": open(sys.argv[2]).read().strip()}))
PY
)

sql() { PGCONNECT_TIMEOUT=5 "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 "$ZAKOPS_CLUSTER_DATABASE_URL" -c "$1"; }

# Leaves at least NEEDED of the rate-limit count BUCKET (LIMIT a minute): when less is left in
# the window, its rows are deleted. If the count had reached the limit, an instance may refuse
# from memory until its 10-second bucket ends: that is awaited. (Positions an instance reserved
# before the deletion are still handed out: harmless.)
budget() { # BUCKET LIMIT NEEDED
  local used
  used=$(sql "SELECT coalesce(sum(hits), 0) FROM rate_limit_counters WHERE bucket = '$1' AND window_start >= extract(epoch FROM now())::bigint - 70")
  if [ $(($2 - used)) -lt "$3" ]; then
    sql "DELETE FROM rate_limit_counters WHERE bucket = '$1'" >/dev/null
    if [ "$used" -ge "$2" ]; then sleep "$(python3 -c 'import time; print(f"{10 - time.time() % 10 + 0.3:.2f}")')"; fi
  fi
}

# What one scan spends of 127.0.0.1's counts: unsafe /api/auth requests (the auth limit, 10:
# AUTH_NEEDED); anonymous /api requests (the api limit per address, 60: about a dozen, plus up
# to three positions each instance reserves ahead); requests with a refused credential (/metrics
# with a made-up token: the refusal limit, 60).
budgets() { # AUTH_NEEDED
  budget 'auth|ip:127.0.0.1' 10 "$1"
  budget 'api|ip:127.0.0.1' 60 30
  budget 'api|refused:ip:127.0.0.1' 60 15
}

# The findings of a scan's JSON, one line each: STATUS ID DETAIL.
findings() { python3 -c '
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    print(f["status"], f["id"], f["detail"])' "$1"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_free() { python3 -c 'import socket, sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }

FAILED=()
RESULTS=()

scan_good() {
  log "the cluster's nginx ($ZAKOPS_CLUSTER_URL): every item must pass"
  budgets 10
  local rc=0
  "$ZAKOPS_BIN" scan "$ZAKOPS_CLUSTER_URL" --ca-file "$ZAKOPS_CLUSTER_CA" --http-url "$ZAKOPS_CLUSTER_HTTP_URL" \
    --credentials "$TMP/credentials.json" --probe-limits --json >"$TMP/good.json" 2>"$TMP/good.err" || rc=$?
  if [ ! -s "$TMP/good.json" ]; then
    cat "$TMP/good.err" >&2
    FAILED+=("good: the scan printed no report (exit $rc)")
    return
  fi
  findings "$TMP/good.json" | sed 's/^/   /' >&2
  local not_pass
  not_pass=$(findings "$TMP/good.json" | awk '$1 != "PASS" {print $2}' | tr '\n' ' ')
  if [ "$rc" -ne 0 ] || [ -n "$not_pass" ]; then
    FAILED+=("good: exit $rc, not PASS: ${not_pass:-none}")
    RESULTS+=("good|exit $rc; not PASS: ${not_pass}")
  else
    RESULTS+=("good|exit 0, all $(findings "$TMP/good.json" | wc -l) items PASS")
  fi
}

# Writes CASE's nginx.conf and zakops.conf into FOLDER: the cluster's, with its ports replaced
# and CASE's one change.
render() { # CASE FOLDER HTTPS_PORT HTTP_PORT
  local metrics_token
  metrics_token=$(cat "$ZAKOPS_CLUSTER_METRICS_TOKEN_FILE")
  CASE=$1 FOLDER=$2 NEW_HTTPS=$3 NEW_HTTP=$4 CLUSTER_NGINX="$DIR/nginx" METRICS_PORT="$ZAKOPS_INSTANCE_1_METRICS_PORT" \
    METRICS_TOKEN=$metrics_token OLD_URL="$ZAKOPS_CLUSTER_URL" python3 - "$ZAKOPS_CLUSTER_NGINX_CONF" <<'PY'
import os, re, sys
e = os.environ
text = open(sys.argv[1]).read()
old_https = e["OLD_URL"].rsplit(":", 1)[1]
https_listen = re.search(r"listen 127\.0\.0\.1:(\d+) ssl http2;", text)
http_listen = re.search(r"listen 127\.0\.0\.1:(\d+);", text)
assert https_listen and http_listen and https_listen.group(1) == old_https, "unexpected listen lines"
text = text.replace(https_listen.group(0), f"listen 127.0.0.1:{e['NEW_HTTPS']} ssl http2;")
text = text.replace(http_listen.group(0), f"listen 127.0.0.1:{e['NEW_HTTP']};")
new_origin = "https://localhost" + ("" if e["NEW_HTTPS"] == "443" else ":" + e["NEW_HTTPS"])
text = text.replace(f"return 308 {e['OLD_URL']}$request_uri;", f"return 308 {new_origin}$request_uri;")
anchor = "    proxy_redirect off;\n"  # in the TLS server: a server-level directive goes after it
ciphers = re.search(r"ssl_ciphers ([^;]+);", text).group(1)

def once(old, new):
    global text
    assert text.count(old) == 1, f"expected one {old!r}"
    text = text.replace(old, new)

case = e["CASE"]
if case == "hide-x-frame-options":
    once(anchor, anchor + "    proxy_hide_header X-Frame-Options;\n")
elif case == "override-hsts":
    once(anchor, anchor + '    proxy_hide_header Strict-Transport-Security;\n    add_header Strict-Transport-Security "max-age=300" always;\n')
elif case == "append-referrer-policy":
    once(anchor, anchor + "    add_header Referrer-Policy unsafe-url always;\n")
elif case == "duplicate-x-frame-options":
    once(anchor, anchor + "    add_header X-Frame-Options SAMEORIGIN always;\n")
elif case == "no-redirect":
    once(f"return 308 {new_origin}$request_uri;", "proxy_pass http://zakops_instances;")
elif case == "tls-1.0":
    once("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;")
    once(f"ssl_ciphers {ciphers};", f"ssl_ciphers {ciphers}:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0;")
elif case == "tls-1.0-protocols-only":
    once("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;")
elif case == "tls-1.0-seclevel":
    once("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2;")
    once(f"ssl_ciphers {ciphers};", f"ssl_ciphers {ciphers}:@SECLEVEL=0;")
elif case == "tls-cbc":
    once(f"ssl_ciphers {ciphers};", f"ssl_ciphers {ciphers}:ECDHE-ECDSA-AES128-SHA;")
elif case == "tls-aes128-sha":
    once(f"ssl_ciphers {ciphers};", f"ssl_ciphers {ciphers}:AES128-SHA;")
elif case == "tls-aes128-sha-rsa":
    once(f"ssl_ciphers {ciphers};", f"ssl_ciphers {ciphers}:AES128-SHA;")
    key_line = re.search(r"    ssl_certificate_key [^;]+;\n", text).group(0)
    once(key_line, key_line + f"    ssl_certificate {e['FOLDER']}/rsa.pem;\n    ssl_certificate_key {e['FOLDER']}/rsa.key;\n")
elif case == "cors-star":
    once(anchor, anchor + "    add_header Access-Control-Allow-Origin * always;\n")
elif case == "cors-reflect":
    once(anchor, anchor + "    add_header Access-Control-Allow-Origin $http_origin always;\n")
elif case == "server-tokens":
    text = text.replace("server_tokens off;", "server_tokens on;")
elif case == "body-413-html":
    once("    client_max_body_size 1m;\n", "    client_max_body_size 512k;\n")
    once("    error_page 413 /__zakops_error/413;\n", "")
elif case == "metrics-public":
    once("    location = /api/events/stream {\n", "    location /metrics {\n        proxy_pass http://127.0.0.1:%s/metrics;\n"
         "        proxy_set_header Authorization \"Bearer %s\";\n    }\n\n    location = /api/events/stream {\n"
         % (e["METRICS_PORT"], e["METRICS_TOKEN"]))
else:
    sys.exit(f"unknown case {case}")
folder = e["FOLDER"]
open(os.path.join(folder, "zakops.conf"), "w").write(text)
main = open(os.path.join(e["CLUSTER_NGINX"], "nginx.conf")).read()
main = main.replace(e["CLUSTER_NGINX"] + "/", folder + "/")
open(os.path.join(folder, "nginx.conf"), "w").write(main)
PY
}

scan_case() { # NAME EXPECTED DESCRIPTION
  local name=$1 expected=$2 description=$3 folder="$TMP/$1" https_port http_port url
  mkdir -p "$folder/tmp"
  chmod 700 "$folder"
  if port_free 443; then https_port=443; else https_port=$(free_port); expected="$expected error_body_400"; fi
  http_port=$(free_port)
  url="https://localhost$([ "$https_port" = 443 ] || printf ':%s' "$https_port")"
  log "$name: $description"
  if [ "$name" = tls-aes128-sha-rsa ]; then
    # An RSA certificate for localhost from the run's CA (a static-RSA suite needs an RSA key).
    ( cd "$folder" && umask 077 && openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj /CN=localhost 2>/dev/null \
      && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >rsa.ext \
      && openssl x509 -req -in rsa.csr -CA "$DIR/tls/ca.pem" -CAkey "$DIR/tls/ca.key" -CAcreateserial -CAserial rsa.srl -days 1 \
           -extfile rsa.ext -out rsa.pem 2>/dev/null ) || die "could not make the RSA certificate"
  fi
  render "$name" "$folder" "$https_port" "$http_port" || die "could not write the $name configuration"
  "$NGINX" -t -q -p "$folder" -c "$folder/nginx.conf" 2>"$folder/nginx-t.err" || { cat "$folder/nginx-t.err" >&2; die "nginx -t refused the $name configuration"; }
  "$NGINX" -p "$folder" -c "$folder/nginx.conf" </dev/null || die "the $name nginx did not start (see $folder/error.log)"
  local i
  for i in $(seq 1 50); do [ -s "$folder/nginx.pid" ] && break; sleep 0.1; done
  COPY_PID=$(cat "$folder/nginx.pid" 2>/dev/null || true)
  [ -n "$COPY_PID" ] || die "the $name nginx wrote no pid file"
  for i in $(seq 1 50); do
    curl -s -o /dev/null --max-time 2 --cacert "$ZAKOPS_CLUSTER_CA" "$url/health/live" && break
    sleep 0.1
  done
  budgets 2
  local rc=0
  "$ZAKOPS_BIN" scan "$url" --ca-file "$ZAKOPS_CLUSTER_CA" --http-url "http://localhost:$http_port" --json >"$folder/scan.json" 2>"$folder/scan.err" || rc=$?
  stop_copy
  if [ ! -s "$folder/scan.json" ]; then
    cat "$folder/scan.err" >&2
    FAILED+=("$name: the scan printed no report (exit $rc)")
    RESULTS+=("$name|no report (exit $rc)")
    return
  fi
  local failed skipped want
  failed=$(findings "$folder/scan.json" | awk '$1 == "FAIL" {print $2}' | sort | tr '\n' ' ' | sed 's/ $//')
  skipped=$(findings "$folder/scan.json" | awk '$1 == "SKIP" {print $2}' | sort | tr '\n' ' ' | sed 's/ $//')
  want=$(printf '%s\n' $expected | sort | tr '\n' ' ' | sed 's/ $//')
  findings "$folder/scan.json" | awk '$1 == "FAIL"' | sed 's/^/   /' >&2
  local expected_rc=1
  [ -n "$want" ] || expected_rc=0
  # Without credentials and --probe-limits the scan skips exactly these two.
  if [ "$failed" = "$want" ] && [ "$rc" -eq "$expected_rc" ] && [ "$skipped" = "auth_rate_limit cookie_attributes" ]; then
    RESULTS+=("$name|exit $rc, FAIL: ${failed:-none} (as intended)")
  else
    FAILED+=("$name: expected FAIL of '${want:-none}' (exit $expected_rc), got FAIL of '${failed:-none}', SKIP of '$skipped' (exit $rc)")
    RESULTS+=("$name|exit $rc, FAIL: ${failed:-none}; expected: ${want:-none}")
  fi
}

wanted=("$@")
picked() { [ ${#wanted[@]} -eq 0 ] || printf '%s\n' "${wanted[@]}" | grep -qx -- "$1"; }

picked good && scan_good
# Run only when named: changes that should make no item fail. The first three cannot break the
# TLS items with this machine's OpenSSL 3 and the run's ECDSA certificate: TLS 1.0/1.1 have no
# AEAD suite, so without a CBC one no old handshake can succeed, and OpenSSL 3's default
# security level refuses TLS 1.0/1.1 anyway (@SECLEVEL=0 is needed: the tls-1.0 case above);
# AES128-SHA is a static-RSA suite, which needs an RSA certificate (tls-aes128-sha-rsa above).
# The last: a second, conflicting X-Frame-Options makes browsers refuse framing (the HTML
# standard), and the app's CSP frame-ancestors 'none' takes precedence anyway.
OPTIONAL=(
  "tls-1.0-protocols-only|-|ssl_protocols TLSv1 TLSv1.1 TLSv1.2; only"
  "tls-1.0-seclevel|-|ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers ...:@SECLEVEL=0"
  "tls-aes128-sha|-|ssl_ciphers ...:AES128-SHA (with the run's ECDSA certificate only)"
  "duplicate-x-frame-options|-|add_header X-Frame-Options SAMEORIGIN always; (a second, conflicting value)"
)
for entry in "${CASES[@]}" "${OPTIONAL[@]}"; do
  IFS='|' read -r name expected description <<<"$entry"
  if [ "$expected" = "-" ]; then
    [ ${#wanted[@]} -gt 0 ] && picked "$name" || continue
    expected=""
  fi
  picked "$name" || continue
  scan_case "$name" "$expected" "$description"
done

printf '\n%-28s %s\n' "configuration" "scan result" >&2
for line in "${RESULTS[@]}"; do printf '%-28s %s\n' "${line%%|*}" "${line#*|}" >&2; done
if [ ${#FAILED[@]} -gt 0 ]; then
  printf '\n' >&2
  printf 'FAILED: %s\n' "${FAILED[@]}" >&2
  die "the scan did not find what it should have (above)"
fi
log "the scan passed the cluster's nginx and failed each misconfiguration exactly where intended"
