#!/usr/bin/env bash
# A production-shaped ZakOps cluster on this machine, for tests and trials: its own PostgreSQL,
# three `zakops serve` instances in production mode (preflight must pass) on one database, and
# nginx in front of them with TLS, through the shipped deploy/nginx/zakops.conf with only its
# placeholders filled. Everything lives in one folder and keeps running after `start` returns.
#
#   scripts/cluster.sh start              start everything; waits until nginx serves /health/ready
#   scripts/cluster.sh stop               stop nginx, the instances and PostgreSQL; remove the folder
#   scripts/cluster.sh status             each part's state (exit 1 unless all are up and ready)
#   scripts/cluster.sh kill N             kill -9 instance N (1 to 3)
#   scripts/cluster.sh stop-instance N    SIGTERM instance N and wait for it to exit
#   scripts/cluster.sh start-instance N   start instance N again (same settings); waits until ready
#   scripts/cluster.sh restart N          stop-instance N (if it runs), then start-instance N
#
# The folder is ZAKOPS_CLUSTER_DIR (default /tmp/zakops-cluster). After `start`, source
# $ZAKOPS_CLUSTER_DIR/cluster.env: ZAKOPS_CLUSTER_URL (https through nginx; trust
# ZAKOPS_CLUSTER_CA), ZAKOPS_CLUSTER_HTTP_URL (nginx's plain port, which only redirects),
# ZAKOPS_INSTANCE_N_URL (each instance directly), ZAKOPS_CLUSTER_DATABASE_URL, the admin's
# e-mail and password files, ZAKOPS_BIN, and ZAKOPS_CLUSTER_CLI: a `zakops` that acts on the
# cluster's database with the instances' settings ("$ZAKOPS_CLUSTER_CLI" incident lockdown on).
# The settings themselves are in ZAKOPS_CLUSTER_ENV_FILE (KEY=VALUE lines; secrets are
# *_FILE paths). Mail goes to ZAKOPS_CLUSTER_MAIL_DIR, one .eml file per message.
#
# ZAKOPS_BIN names the binary (default: `swift build --show-bin-path`/zakops; it is not
# built here). ZAKOPS_CLUSTER_EXTRA_ENV names a file of KEY=VALUE lines added to every
# instance's settings at `start`. Needs root to install what is missing (nginx, openssl,
# PostgreSQL, age, curl) with apt-get; as root, PostgreSQL runs as the postgres user.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '== %s\n' "$*" >&2; }
die() { printf '\nscripts/cluster.sh: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '7,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

DIR=${ZAKOPS_CLUSTER_DIR:-/tmp/zakops-cluster}
INSTANCES=3
ADMIN_EMAIL=admin@example.com
# Every instance's SHUTDOWN_GRACE_SECONDS; `stop` sends SIGKILL this many seconds (plus 5) after SIGTERM.
GRACE=10
# The passive health check every upstream line of the nginx configuration gets.
UPSTREAM_PARAMETERS="max_fails=3 fail_timeout=10s"
# Everything here talks to 127.0.0.1: never through a proxy of the environment.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

# The folder ends up in settings, nginx's configuration and a sourced file: keep it plain.
[[ $DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "ZAKOPS_CLUSTER_DIR must be an absolute path of letters, digits, '.', '_', '-' and '/'"
[ "$DIR" != / ] || die "ZAKOPS_CLUSTER_DIR must not be /"
DIR=${DIR%/}

# --- helpers -------------------------------------------------------------------------------

source scripts/postgres.sh

need_root_for() { [ "$(id -u)" -eq 0 ] || die "$1 is missing and installing it needs root (apt-get install $2)"; }

apt_install() { # PACKAGE...: installs Debian packages (needs root)
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; } \
    || die "apt-get install $* failed"
}

install_missing() {
  local missing=() command package
  for command in nginx:nginx openssl:openssl age-keygen:age curl:curl; do
    package=${command#*:}
    command=${command%%:*}
    command -v "$command" >/dev/null || [ -x "/usr/sbin/$command" ] || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "not found: installing Debian's ${missing[*]}"
    need_root_for "${missing[*]}" "${missing[*]}"
    apt_install "${missing[@]}"
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$NGINX" ] || die "nginx was installed but not found"
  command -v python3 >/dev/null || die "python3 is needed (to pick free ports)"
  find_or_install_postgres
  define_as_pg
}

# Whether PID is a live process (not a zombie) whose command line contains WORD.
alive() { # PID WORD
  local pid=$1 word=$2 state
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
  [ -n "$state" ] && [ "${state:0:1}" != Z ] || return 1
  ps -o args= -p "$pid" 2>/dev/null | grep -q -- "$word"
}

# Waits until PID is gone, at most SECONDS; returns 1 if it is still there.
wait_gone() { # PID WORD SECONDS
  local deadline=$(($(date +%s) + $3))
  while alive "$1" "$2"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

free_ports() { # COUNT: that many distinct free ports on 127.0.0.1
  python3 - "$1" <<'PY'
import socket, sys
sockets = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in sockets: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in sockets))
PY
}

random_text() { head -c "$1" /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_'; }

# Writes stdin to FILE with mode 0600.
secret_file() { ( umask 077 && cat >"$1" ); }

load_state() {
  [ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (scripts/cluster.sh start)"
  # shellcheck disable=SC1091
  source "$DIR/cluster.env"
  BIN=$ZAKOPS_BIN
}

check_instance_number() {
  [[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$INSTANCES" ] || die "name an instance from 1 to $INSTANCES"
}

instance_pid() { cat "$DIR/instance-$1/pid" 2>/dev/null || true; }
instance_port() { local name="ZAKOPS_INSTANCE_$1_PORT"; echo "${!name}"; }

ready() { # URL [CURL OPTION...]: whether URL/health/ready answers 200
  local url=$1; shift
  curl -fsS -o /dev/null --max-time 3 "$@" "$url/health/ready" 2>/dev/null
}

# Waits until URL/health/ready answers, while PID runs; prints LOG's end and fails otherwise.
wait_ready() { # WHAT URL PID WORD LOG SECONDS [CURL OPTION...]
  local what=$1 url=$2 pid=$3 word=$4 logfile=$5 seconds=$6
  shift 6
  local deadline=$(($(date +%s) + seconds))
  until ready "$url" "$@"; do
    if ! alive "$pid" "$word"; then
      tail -n 40 "$logfile" >&2 2>/dev/null || true
      die "$what exited before it was ready (its log: $logfile)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 40 "$logfile" >&2 2>/dev/null || true
      die "$what was not ready within $seconds s ($url/health/ready; its log: $logfile)"
    fi
    sleep 0.3
  done
}

# The instances' settings as arguments for env(1): KEY=VALUE lines of the settings file.
settings_arguments() { grep -E '^[A-Z][A-Z0-9_]*=' "$DIR/zakops.env"; }

start_instance() { # N
  local n=$1 port metrics pid folder="$DIR/instance-$1"
  port=$(instance_port "$n")
  local metrics_name="ZAKOPS_INSTANCE_${n}_METRICS_PORT"
  metrics=${!metrics_name}
  pid=$(instance_pid "$n")
  if alive "$pid" "$BIN"; then die "instance $n already runs (pid $pid)"; fi
  mkdir -p "$folder"
  local settings=()
  mapfile -t settings < <(settings_arguments)
  # Its own session (setsid): a Ctrl-C in the terminal that ran `start` does not reach it. In
  # its own folder: a .env of the checkout is never read.
  (cd "$folder" && exec setsid env -i PATH="$PATH" HOME="${HOME:-/root}" "${settings[@]}" \
    HTTP_PORT="$port" METRICS_PORT="$metrics" "$BIN" serve) </dev/null >>"$folder/zakops.log" 2>&1 &
  pid=$!
  echo "$pid" >"$folder/pid"
  wait_ready "instance $n" "http://127.0.0.1:$port" "$pid" "$BIN" "$folder/zakops.log" 60
  log "instance $n ready on http://127.0.0.1:$port (pid $pid, metrics on 127.0.0.1:$metrics)"
}

stop_instance() { # N [quiet]: SIGTERM, then SIGKILL after the grace
  local n=$1 pid
  pid=$(instance_pid "$n")
  if ! alive "$pid" "$BIN"; then
    [ -n "${2:-}" ] || log "instance $n is not running"
    rm -f "$DIR/instance-$n/pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$BIN" $((GRACE + 5)); then
    log "instance $n (pid $pid) still runs $((GRACE + 5)) s after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" "$BIN" 5 || die "instance $n (pid $pid) survived SIGKILL"
  fi
  rm -f "$DIR/instance-$n/pid"
  [ -n "${2:-}" ] || log "instance $n stopped"
}

nginx_pid() { cat "$DIR/nginx/nginx.pid" 2>/dev/null || true; }

# --- start ---------------------------------------------------------------------------------

# Fills deploy/nginx/zakops.conf's placeholders; nothing else of the text changes.
render_nginx_conf() { # OUT UPSTREAM_ADDRESS...
  local out=$1 upstreams="" address
  shift
  for address in "$@"; do upstreams+="server $address $UPSTREAM_PARAMETERS;"$'\n'"    "; done
  UPSTREAMS="${upstreams%$'\n'    }" HTTPS_PORT="127.0.0.1:$HTTPS_PORT" HTTP_PORT="127.0.0.1:$NGINX_HTTP_PORT" \
    SERVER_NAME="localhost 127.0.0.1" PUBLIC_BASE_URL="$PUBLIC_URL" CERT="$DIR/tls/server.pem" KEY="$DIR/tls/server.key" \
    python3 - "$ROOT/deploy/nginx/zakops.conf" "$out" <<'PY'
import os, re, sys
names = ["UPSTREAMS", "HTTPS_PORT", "HTTP_PORT", "SERVER_NAME", "PUBLIC_BASE_URL", "CERT", "KEY"]
text = open(sys.argv[1]).read()
for name in names:
    text = text.replace("@" + name + "@", os.environ[name])
left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
if left:
    sys.exit("deploy/nginx/zakops.conf has placeholders this script does not fill: " + " ".join(left))
open(sys.argv[2], "w").write(text)
PY
}

start_cluster() {
  if [ -e "$DIR" ]; then
    die "$DIR already exists: a cluster runs there, or a stopped one was not removed (scripts/cluster.sh stop)"
  fi
  BIN=${ZAKOPS_BIN:-}
  if [ -z "$BIN" ]; then
    command -v swift >/dev/null || die "set ZAKOPS_BIN, or install Swift so that swift build --show-bin-path names it"
    BIN="$(swift build --show-bin-path)/zakops"
  fi
  case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
  [ -x "$BIN" ] || die "no zakops binary at $BIN (swift build first, or set ZAKOPS_BIN)"
  local extra=${ZAKOPS_CLUSTER_EXTRA_ENV:-}
  if [ -n "$extra" ]; then
    [ -f "$extra" ] || die "ZAKOPS_CLUSTER_EXTRA_ENV names $extra, which is not a file"
    case "$extra" in /*) ;; *) extra="$ROOT/$extra" ;; esac
  fi
  install_missing

  # From here on a failure stops whatever was started and removes the folder.
  STARTED=0
  trap 'status=$?; if [ "$STARTED" -eq 0 ]; then log "start failed: stopping what was started"; stop_cluster quiet || true; fi; exit $status' EXIT

  mkdir -p "$DIR"
  chmod 755 "$DIR"
  mkdir -p "$DIR/pg" "$DIR/tls" "$DIR/secrets" "$DIR/nginx/tmp" "$DIR/mail" "$DIR/backups" "$DIR/bin" "$DIR/run"
  chmod 700 "$DIR/tls" "$DIR/secrets" "$DIR/mail" "$DIR/backups" "$DIR/run"

  local ports
  read -r -a ports <<<"$(free_ports $((3 + 2 * INSTANCES)))"
  PG_PORT=${ports[0]} HTTPS_PORT=${ports[1]} NGINX_HTTP_PORT=${ports[2]}
  PUBLIC_URL="https://localhost:$HTTPS_PORT"

  # PostgreSQL: a superuser for this script only, and the role the instances use, which owns
  # the database and is nothing more (as a production database would be set up).
  local pg_super_password pg_password
  pg_super_password=$(random_text 24)
  pg_password=$(random_text 24)
  start_postgres_server "$DIR/pg" "$PG_PORT" postgres "$pg_super_password" \
    -c max_connections=200 -c log_lock_waits=on -c log_min_duration_statement=2000 -c 'log_line_prefix=%m\ [%p]\ %a\ '
  PGPASSWORD=$pg_super_password "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
    -v password="$pg_password" >/dev/null <<'SQL' || die "could not create the zakops role and database"
CREATE ROLE zakops LOGIN PASSWORD :'password';
CREATE DATABASE zakops OWNER zakops;
SQL
  local database_url="postgres://zakops:${pg_password}@127.0.0.1:${PG_PORT}/zakops"
  printf '%s\n' "$database_url" | secret_file "$DIR/secrets/database-url"

  # TLS for nginx: a CA of this run and a certificate for localhost and 127.0.0.1 (ECDSA P-256).
  log "creating a CA and a certificate for localhost and 127.0.0.1"
  (
    cd "$DIR/tls"
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 30 \
      -subj "/CN=ZakOps cluster test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext -out server.pem 2>/dev/null
    rm -f server.csr server.ext ca.srl
    chmod 644 ca.pem server.pem
  ) || die "openssl could not create the certificates"

  # The secrets production preflight asks for, each in a file of its own (mode 0600).
  log "generating the secrets"
  openssl rand -base64 48 | tr -d '\n' | secret_file "$DIR/secrets/session-secret"
  openssl rand -base64 32 | tr -d '\n' | secret_file "$DIR/secrets/data-encryption-key"
  openssl rand -base64 48 | tr -d '\n' | secret_file "$DIR/secrets/audit-hmac-key"
  random_text 32 | secret_file "$DIR/secrets/metrics-token"
  ( umask 077 && age-keygen -o "$DIR/secrets/backup-identity.age" 2>/dev/null ) || die "age-keygen failed"
  local recipient
  recipient=$(age-keygen -y "$DIR/secrets/backup-identity.age") || die "age-keygen -y failed"

  # A sendmail that files each message in the mail folder: preflight wants mail sent, not
  # filed by the development mailer, and tests want to read the links.
  cat >"$DIR/bin/sendmail" <<EOF
#!/bin/sh
# The cluster's sendmail (scripts/cluster.sh): each message, as piped by ZakOps (-t -i), becomes
# one .eml file in $DIR/mail (mode 0600).
umask 077
name="$DIR/mail/\$(date +%s%N)-\$\$.eml"
cat >"\$name.tmp" && mv "\$name.tmp" "\$name"
EOF
  chmod 755 "$DIR/bin/sendmail"

  # The settings every instance and every CLI command of the cluster use (KEY=VALUE lines).
  (
    umask 077
    cat >"$DIR/zakops.env" <<EOF
APP_ENV=production
DATABASE_URL_FILE=$DIR/secrets/database-url
SESSION_SECRET_FILE=$DIR/secrets/session-secret
DATA_ENCRYPTION_KEY_FILE=$DIR/secrets/data-encryption-key
AUDIT_HMAC_KEY_FILE=$DIR/secrets/audit-hmac-key
METRICS_TOKEN_FILE=$DIR/secrets/metrics-token
BACKUP_AGE_RECIPIENT=$recipient
BACKUP_DIR=$DIR/backups
MAIL_BACKEND=sendmail
SENDMAIL_PATH=$DIR/bin/sendmail
MAIL_DIR=$DIR/mail
ALERT_EMAIL=alerts@example.com
HTTP_HOST=127.0.0.1
METRICS_HOST=127.0.0.1
TRUSTED_PROXIES=127.0.0.1
PUBLIC_BASE_URL=$PUBLIC_URL
CORS_ORIGINS=$PUBLIC_URL
SHUTDOWN_GRACE_SECONDS=$GRACE
EOF
    if [ -n "$extra" ]; then grep -E '^[A-Z][A-Z0-9_]*=' "$extra" >>"$DIR/zakops.env" || true; fi
  )

  # `zakops` for this cluster: its settings, its database, run in a folder without a .env.
  cat >"$DIR/bin/zakops" <<EOF
#!/usr/bin/env bash
# zakops with the cluster's settings ($DIR/zakops.env), on its database (scripts/cluster.sh).
set -euo pipefail
mapfile -t settings < <(grep -E '^[A-Z][A-Z0-9_]*=' "$DIR/zakops.env")
cd "$DIR/run"
exec env -i PATH="\$PATH" HOME="\${HOME:-/root}" "\${settings[@]}" "$BIN" "\$@"
EOF
  chmod 755 "$DIR/bin/zakops"

  # cluster.env: what a test needs, sourceable (mode 0600: it holds the database URL).
  local n
  {
    printf '# Written by scripts/cluster.sh start; source it.\n'
    printf 'export %s=%q\n' \
      ZAKOPS_CLUSTER_DIR "$DIR" \
      ZAKOPS_CLUSTER_URL "$PUBLIC_URL" \
      ZAKOPS_CLUSTER_HTTP_URL "http://localhost:$NGINX_HTTP_PORT" \
      ZAKOPS_CLUSTER_CA "$DIR/tls/ca.pem" \
      ZAKOPS_CLUSTER_INSTANCES "$INSTANCES"
    for n in $(seq 1 "$INSTANCES"); do
      printf 'export %s=%q\n' \
        "ZAKOPS_INSTANCE_${n}_URL" "http://127.0.0.1:${ports[$((1 + 2 * n))]}" \
        "ZAKOPS_INSTANCE_${n}_PORT" "${ports[$((1 + 2 * n))]}" \
        "ZAKOPS_INSTANCE_${n}_METRICS_URL" "http://127.0.0.1:${ports[$((2 + 2 * n))]}/metrics" \
        "ZAKOPS_INSTANCE_${n}_METRICS_PORT" "${ports[$((2 + 2 * n))]}" \
        "ZAKOPS_INSTANCE_${n}_LOG" "$DIR/instance-$n/zakops.log"
    done
    printf 'export %s=%q\n' \
      ZAKOPS_CLUSTER_METRICS_TOKEN_FILE "$DIR/secrets/metrics-token" \
      ZAKOPS_CLUSTER_DATABASE_URL "$database_url" \
      ZAKOPS_CLUSTER_DATABASE_URL_FILE "$DIR/secrets/database-url" \
      ZAKOPS_CLUSTER_ADMIN_EMAIL_FILE "$DIR/secrets/admin-email" \
      ZAKOPS_CLUSTER_ADMIN_PASSWORD_FILE "$DIR/secrets/admin-password" \
      ZAKOPS_CLUSTER_BACKUP_IDENTITY "$DIR/secrets/backup-identity.age" \
      ZAKOPS_CLUSTER_MAIL_DIR "$DIR/mail" \
      ZAKOPS_CLUSTER_ENV_FILE "$DIR/zakops.env" \
      ZAKOPS_CLUSTER_CLI "$DIR/bin/zakops" \
      ZAKOPS_CLUSTER_NGINX_CONF "$DIR/nginx/zakops.conf" \
      ZAKOPS_CLUSTER_PG_PORT "$PG_PORT" \
      ZAKOPS_CLUSTER_PG_BIN "$PG_BIN" \
      ZAKOPS_BIN "$BIN"
  } | secret_file "$DIR/cluster.env"
  load_state

  log "migrating the database"
  "$ZAKOPS_CLUSTER_CLI" migrate >"$DIR/run/migrate.log" 2>&1 || { cat "$DIR/run/migrate.log" >&2; die "zakops migrate failed"; }

  # The admin: created with a password (read from standard input) and no forced reset.
  local admin_password
  admin_password=$(random_text 24)
  printf '%s\n' "$ADMIN_EMAIL" | secret_file "$DIR/secrets/admin-email"
  printf '%s\n' "$admin_password" | secret_file "$DIR/secrets/admin-password"
  printf '%s\n' "$admin_password" | "$ZAKOPS_CLUSTER_CLI" user create --email "$ADMIN_EMAIL" --role admin --name "Cluster Admin" \
    >"$DIR/run/admin-id" 2>"$DIR/run/user-create.log" || { cat "$DIR/run/user-create.log" >&2; die "zakops user create failed"; }
  log "admin $ADMIN_EMAIL created ($(cat "$DIR/run/admin-id")); password in $DIR/secrets/admin-password"

  # A first backup (pg_dump, encrypted to the age recipient): without one, preflight warns
  # and the embedded ZakOpsBackupMissing alert fires, and mails, at once.
  "$ZAKOPS_CLUSTER_CLI" backup create --out "$DIR/backups/initial.backup.age" >"$DIR/run/backup.log" 2>&1 \
    || { cat "$DIR/run/backup.log" >&2; die "zakops backup create failed"; }

  # Production preflight, as `serve` will run it: any FAIL stops here; the WARNs are shown.
  if ! "$ZAKOPS_CLUSTER_CLI" preflight >"$DIR/run/preflight.txt" 2>&1; then
    cat "$DIR/run/preflight.txt" >&2
    die "production preflight failed (above)"
  fi
  log "production $(tail -n 1 "$DIR/run/preflight.txt")"
  grep -A1 -E '^WARN' "$DIR/run/preflight.txt" | sed 's/^/   /' >&2 || true

  for n in $(seq 1 "$INSTANCES"); do start_instance "$n"; done

  # nginx: the shipped configuration, filled, inside a main configuration of this folder.
  local addresses=()
  for n in $(seq 1 "$INSTANCES"); do addresses+=("127.0.0.1:$(instance_port "$n")"); done
  render_nginx_conf "$DIR/nginx/zakops.conf" "${addresses[@]}" || die "could not fill deploy/nginx/zakops.conf"
  cat >"$DIR/nginx/nginx.conf" <<EOF
# The cluster's nginx (scripts/cluster.sh): pid, logs and temporary files in this folder; the
# shipped deploy/nginx/zakops.conf, filled, is included as it would be from /etc/nginx/conf.d.
worker_processes 2;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log notice;
worker_shutdown_timeout 5s;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    access_log $DIR/nginx/access.log;
    client_body_temp_path $DIR/nginx/tmp/body;
    proxy_temp_path $DIR/nginx/tmp/proxy;
    fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
    uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
    scgi_temp_path $DIR/nginx/tmp/scgi;
    include $DIR/nginx/zakops.conf;
}
EOF
  "$NGINX" -t -q -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" || die "nginx -t refused the configuration ($DIR/nginx/zakops.conf)"
  "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" </dev/null || die "nginx did not start (see $DIR/nginx/error.log)"
  local deadline=$(($(date +%s) + 10))
  until [ -s "$DIR/nginx/nginx.pid" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "nginx wrote no pid file (see $DIR/nginx/error.log)"
    sleep 0.1
  done
  wait_ready "nginx" "$PUBLIC_URL" "$(nginx_pid)" nginx "$DIR/nginx/error.log" 30 --cacert "$DIR/tls/ca.pem"
  log "nginx ready on $PUBLIC_URL (and $ZAKOPS_CLUSTER_HTTP_URL, which redirects)"

  STARTED=1
  trap - EXIT
  log "cluster started: source $DIR/cluster.env"
}

# --- stop and status -----------------------------------------------------------------------

stop_cluster() { # [quiet]
  local quiet=${1:-} pid n
  if [ ! -e "$DIR" ]; then
    [ -n "$quiet" ] || log "no cluster in $DIR"
    return 0
  fi
  BIN=${BIN:-}
  [ -z "$BIN" ] && [ -f "$DIR/cluster.env" ] && BIN=$(source "$DIR/cluster.env" && echo "$ZAKOPS_BIN")

  pid=$(nginx_pid)
  if alive "$pid" nginx; then
    kill -QUIT "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" nginx 10; then kill -KILL "$pid" 2>/dev/null || true; fi
    # Its workers follow the master; a SIGKILLed master leaves them to end on their own.
    wait_gone "$pid" nginx 5 || die "nginx (pid $pid) does not stop"
    log "nginx stopped"
  fi

  if [ -n "$BIN" ]; then
    # SIGTERM to all at once, then wait for each: a stop takes one grace, not three.
    local running=0
    for n in $(seq 1 "$INSTANCES"); do
      pid=$(instance_pid "$n")
      if alive "$pid" "$BIN"; then kill -TERM "$pid" 2>/dev/null || true; running=$((running + 1)); fi
    done
    for n in $(seq 1 "$INSTANCES"); do stop_instance "$n" quiet; done
    [ "$running" -eq 0 ] || log "instances stopped ($running were running)"
  fi

  if [ -f "$DIR/pg/data/postmaster.pid" ]; then
    [ -n "${PG_BIN:-}" ] || find_or_install_postgres
    declare -F as_pg >/dev/null || define_as_pg
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m immediate -w stop >/dev/null 2>&1 \
      || die "PostgreSQL in $DIR/pg/data does not stop"
    log "PostgreSQL stopped"
  fi
  rm -rf "$DIR"
  [ -n "$quiet" ] || log "cluster stopped; $DIR removed"
}

status_cluster() {
  load_state
  local ok=0 pid n url state
  if [ -f "$DIR/pg/data/postmaster.pid" ] && PGCONNECT_TIMEOUT=3 "$ZAKOPS_CLUSTER_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$ZAKOPS_CLUSTER_PG_PORT"; then
    printf '%-12s %-10s 127.0.0.1:%s (pid %s)\n' postgres ready "$ZAKOPS_CLUSTER_PG_PORT" "$(head -1 "$DIR/pg/data/postmaster.pid")"
  else
    printf '%-12s %-10s 127.0.0.1:%s\n' postgres down "$ZAKOPS_CLUSTER_PG_PORT"; ok=1
  fi
  for n in $(seq 1 "$INSTANCES"); do
    pid=$(instance_pid "$n")
    url="http://127.0.0.1:$(instance_port "$n")"
    if alive "$pid" "$BIN"; then
      if ready "$url"; then state=ready; else state="not-ready"; ok=1; fi
      printf '%-12s %-10s %s (pid %s)\n' "instance $n" "$state" "$url" "$pid"
    else
      [ -n "$pid" ] && state="dead" || state="stopped"
      printf '%-12s %-10s %s%s\n' "instance $n" "$state" "$url" "${pid:+ (pid $pid is gone)}"; ok=1
    fi
  done
  pid=$(nginx_pid)
  if alive "$pid" nginx; then
    if ready "$ZAKOPS_CLUSTER_URL" --cacert "$ZAKOPS_CLUSTER_CA"; then state=ready; else state="not-ready"; ok=1; fi
    printf '%-12s %-10s %s, %s (pid %s)\n' nginx "$state" "$ZAKOPS_CLUSTER_URL" "$ZAKOPS_CLUSTER_HTTP_URL" "$pid"
  else
    printf '%-12s %-10s %s\n' nginx down "$ZAKOPS_CLUSTER_URL"; ok=1
  fi
  return "$ok"
}

# --- commands ------------------------------------------------------------------------------

command=${1:-}
case "$command" in
  start)
    [ $# -eq 1 ] || usage
    start_cluster ;;
  stop)
    [ $# -eq 1 ] || usage
    stop_cluster ;;
  status)
    [ $# -eq 1 ] || usage
    status_cluster ;;
  kill)
    [ $# -eq 2 ] || usage
    check_instance_number "$2"; load_state
    pid=$(instance_pid "$2")
    alive "$pid" "$BIN" || die "instance $2 is not running"
    kill -KILL "$pid"
    wait_gone "$pid" "$BIN" 5 || die "instance $2 (pid $pid) survived SIGKILL"
    log "instance $2 (pid $pid) killed" ;;
  stop-instance)
    [ $# -eq 2 ] || usage
    check_instance_number "$2"; load_state
    stop_instance "$2" ;;
  start-instance)
    [ $# -eq 2 ] || usage
    check_instance_number "$2"; load_state
    start_instance "$2" ;;
  restart)
    [ $# -eq 2 ] || usage
    check_instance_number "$2"; load_state
    stop_instance "$2"
    start_instance "$2" ;;
  *)
    usage ;;
esac
