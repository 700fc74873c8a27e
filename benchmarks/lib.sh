# Shared by the benchmark scripts (source it from the repository root): tools check, release
# build, a work folder and the processes to stop on exit, free ports, and core pinning.

# need TOOL...: stops with the package to install when a tool is missing.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (apt-get install $tool)" >&2; exit 1; }
  done
}

# build_release PRODUCT...: builds in release mode and sets BIN to the binaries' folder.
build_release() {
  local product
  for product in "$@"; do swift build -c release --product "$product" >/dev/null; done
  BIN=$(swift build -c release --show-bin-path)
}

WORK=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# wait_for PORT: until /health/live answers.
wait_for() {
  for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$1/health/live" >/dev/null && return 0; sleep 0.1; done
  echo "server on $1 did not start" >&2; exit 1
}

# With taskset (and PIN unset or 1), servers run on core 1 and wrk on core 0, so the two do not
# fight for the same core and rounds vary less; every server gets the same treatment.
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU="taskset -c 1"; CLIENT_CPU="taskset -c 0"; THREADS=${THREADS_PINNED:-1}
else
  SERVER_CPU=""; CLIENT_CPU=""; THREADS=${THREADS:-2}
fi

# rps URL [COOKIE]: requests/s of wrk against URL (with the session cookie when given), with
# THREADS, CONNECTIONS and DURATION; stops the script on any non-2xx answer.
rps() {
  local out
  if [ -n "${2:-}" ]; then
    out=$($CLIENT_CPU wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "Cookie: __Host-zakops_session=$2" "$1")
  else
    out=$($CLIENT_CPU wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$1")
  fi
  if grep -q "Non-2xx" <<<"$out"; then echo "$1: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

# bench_operator NAME: a session secret file, an operator's password and e-mail (PASSWORD,
# EMAIL) for this run, exports the settings every benchmark server shares, migrates the
# database (DATABASE_URL, SQLite in WORK by default) and creates the operator.
bench_operator() {
  head -c 48 /dev/urandom | base64 > "$WORK/secret"
  PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  EMAIL="bench-$1-$RANDOM$RANDOM@example.com"
  export DATABASE_URL=${DATABASE_URL:-sqlite:$WORK/zakops.sqlite} SESSION_SECRET_FILE=$WORK/secret PASSWORD_HASH_COST=10 LOG_LEVEL=warning
  (cd "$WORK" && "$BIN/zakops" migrate >/dev/null)
  printf '%s\n' "$PASSWORD" | (cd "$WORK" && "$BIN/zakops" user create --email "$EMAIL" --role operator >/dev/null)
}

# bench_login PORT: signs the operator in; sets COOKIE and CSRF.
bench_login() {
  local login
  login=$(curl -s -D "$WORK/login.headers" -H 'Content-Type: application/json' \
    -d "$(printf '{"email":"%s","password":"%s"}' "$EMAIL" "$PASSWORD")" "http://127.0.0.1:$1/api/auth/login")
  COOKIE=$(awk -F'[=;]' 'tolower($1) ~ /^set-cookie: __host-zakops_session$/ {print $2}' "$WORK/login.headers")
  CSRF=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])' <<<"$login" 2>/dev/null || true)
  [ -n "$COOKIE" ] && [ -n "$CSRF" ] || { echo "login failed" >&2; exit 1; }
}
