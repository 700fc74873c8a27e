# Library: starts a throwaway PostgreSQL server for this shell. Source it, then call
# start_throwaway_postgres: it installs PostgreSQL from Debian's packages when it is missing,
# starts it on 127.0.0.1 in a temporary folder with a password generated for this run, exports
# ZAKOPS_TEST_POSTGRES_URL, and stops and removes it when the shell exits. It fails loudly
# when PostgreSQL cannot be started: there is no silent skip.
#
# The steps are functions of their own for scripts/cluster.sh, whose server outlives the
# script that starts it: find_or_install_postgres, define_as_pg, start_postgres_server.
#
# Used by scripts/test.sh, scripts/with-postgres.sh and scripts/cluster.sh.

# The caller defines log and die.

# Sets PG_BIN to the newest installed server's bin folder, installing Debian's postgresql
# package when there is none (needs root).
find_or_install_postgres() {
  find_pg_bin() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
      [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    done
    return 1
  }

  PG_BIN=$(find_pg_bin || true)
  if [ -z "$PG_BIN" ]; then
    log "PostgreSQL server binaries not found: installing Debian's postgresql package"
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL is missing and installing it needs root (apt-get install postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update failed"
    apt-get install -y -qq postgresql >/dev/null || die "apt-get install postgresql failed"
    PG_BIN=$(find_pg_bin) || die "PostgreSQL was installed but initdb/pg_ctl were not found"
  fi
}

# Defines as_pg, which runs a command as the postgres user when root (PostgreSQL refuses to
# run as root) and as this user otherwise.
define_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "the postgres system user is missing (reinstall the postgresql package)"
    as_pg() { runuser -u postgres -- "$@"; }
  else
    as_pg() { "$@"; }
  fi
}

# start_postgres_server FOLDER PORT SUPERUSER PASSWORD [SERVER OPTION...]: creates a cluster
# in FOLDER/data owned by the server's user (scram-sha-256 with PASSWORD for SUPERUSER) and
# starts it on 127.0.0.1:PORT, its socket in FOLDER and its log in FOLDER/postgres.log.
# FOLDER must exist. The password reaches initdb through a file that is removed at once.
start_postgres_server() {
  local folder=$1 port=$2 superuser=$3 password=$4
  shift 4
  chmod 755 "$folder"
  [ "$(id -u)" -eq 0 ] && chown postgres "$folder"
  ( umask 077 && printf '%s\n' "$password" >"$folder/pwfile" )
  [ "$(id -u)" -eq 0 ] && chown postgres "$folder/pwfile"

  log "starting PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$port"
  as_pg "$PG_BIN/initdb" -D "$folder/data" -U "$superuser" --pwfile="$folder/pwfile" --auth=scram-sha-256 -E UTF8 >"$folder/initdb.log" 2>&1 \
    || { rm -f "$folder/pwfile"; cat "$folder/initdb.log" >&2; die "initdb failed"; }
  rm -f "$folder/pwfile"
  as_pg "$PG_BIN/pg_ctl" -D "$folder/data" -l "$folder/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $folder $*" start >/dev/null \
    || { cat "$folder/postgres.log" >&2; die "PostgreSQL could not be started"; }
}

start_throwaway_postgres() {
  find_or_install_postgres
  define_as_pg

  WORK=$(mktemp -d /tmp/zakops-pg.XXXXXX)
  PGDATA="$WORK/data"
  PG_STARTED=0
  cleanup() {
    if [ "$PG_STARTED" -eq 1 ]; then
      as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
  }
  trap cleanup EXIT

  # A password for this run only; it never leaves this machine or this run.
  PG_PASSWORD=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

  start_postgres_server "$WORK" "$PG_PORT" zakops_test "$PG_PASSWORD" \
    -c max_connections=300 -c fsync=off -c full_page_writes=off -c log_lock_waits=on -c log_min_duration_statement=2000 \
    -c 'log_line_prefix=%m\ [%p]\ %a\ '
  PG_STARTED=1
  export PG_LOG="$WORK/postgres.log"
  export ZAKOPS_TEST_POSTGRES_URL="postgres://zakops_test:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/postgres"
}
