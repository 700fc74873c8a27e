"""What the cluster tests share (standard library only): the cluster's addresses from
cluster.env, HTTP through nginx (https, trusting the run's CA) or to one instance directly,
users made with the cluster's `zakops`, sign-ins, API keys, event streams, the database through
psql, and scripts/cluster.sh.

Through nginx every client is 127.0.0.1, one address for the auth limit (10 unsafe /api/auth
requests a minute): tests sign in on an instance directly instead, as a trusted proxy would
send them (the peer 127.0.0.1 is in TRUSTED_PROXIES), each test from X-Forwarded-For addresses
of its own (client_address()), so that no test spends another's budget.
"""
import http.client
import json
import os
import re
import secrets
import socket
import ssl
import subprocess
import threading
import time
import unittest
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN = secrets.token_hex(3)  # names of this run's users, deals and accounts
_counter = iter(range(1, 1_000_000))
_counter_lock = threading.Lock()


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        raise RuntimeError(f"{name} is not set: source $ZAKOPS_CLUSTER_DIR/cluster.env (tests/cluster/run.sh does)")
    return value


def unique(prefix):
    with _counter_lock:
        n = next(_counter)
    return f"{prefix}-{RUN}-{n}"


_addresses = set()


def client_address():
    """A client address for X-Forwarded-For, new in this run (from 100.64.0.0/10): a budget of
    its own for the auth limit, even when the tests run again within the minute."""
    while True:
        address = f"100.{64 + secrets.randbelow(64)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"
        if address not in _addresses:
            _addresses.add(address)
            return address


def log(message):
    print(f"      {message}", flush=True)


def wait_until(predicate, timeout, interval=0.05):
    """Calls predicate until it returns something true (returned) or timeout seconds pass (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# --- the cluster -----------------------------------------------------------------------------

class Cluster:
    def __init__(self):
        self.dir = env("ZAKOPS_CLUSTER_DIR")
        self.url = env("ZAKOPS_CLUSTER_URL")
        self.http_url = env("ZAKOPS_CLUSTER_HTTP_URL")
        self.ca = env("ZAKOPS_CLUSTER_CA")
        self.count = int(env("ZAKOPS_CLUSTER_INSTANCES", "3"))
        self.database_url = env("ZAKOPS_CLUSTER_DATABASE_URL")
        self.cli = env("ZAKOPS_CLUSTER_CLI")
        self.env_file = env("ZAKOPS_CLUSTER_ENV_FILE")
        pg_bin = os.environ.get("ZAKOPS_CLUSTER_PG_BIN", "")
        self.psql_bin = os.path.join(pg_bin, "psql") if pg_bin and os.path.exists(os.path.join(pg_bin, "psql")) else "psql"
        match = re.match(r"https://([^/:]+):(\d+)", self.url)
        self.public_host = f"{match.group(1)}:{match.group(2)}"
        self.nginx_port = int(match.group(2))
        self.instances = list(range(1, self.count + 1))
        self.ports = {n: int(env(f"ZAKOPS_INSTANCE_{n}_PORT")) for n in self.instances}
        self.logs = {n: env(f"ZAKOPS_INSTANCE_{n}_LOG") for n in self.instances}
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self._settings = None

    def setting(self, name, default):
        """A setting of the instances (ZAKOPS_CLUSTER_ENV_FILE), else the server's default."""
        if self._settings is None:
            self._settings = {}
            with open(self.env_file) as f:
                for line in f:
                    if re.match(r"^[A-Z][A-Z0-9_]*=", line):
                        key, _, value = line.rstrip("\n").partition("=")
                        self._settings[key] = value
        return self._settings.get(name, default)

    def pid(self, n):
        try:
            with open(os.path.join(self.dir, f"instance-{n}", "pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def script(self, *args, timeout=90):
        """scripts/cluster.sh ARGS (raises with its output on failure); returns the seconds it took."""
        started = time.monotonic()
        done = subprocess.run([os.path.join(ROOT, "scripts", "cluster.sh"), *map(str, args)], cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "ZAKOPS_CLUSTER_DIR": self.dir})
        if done.returncode != 0:
            raise AssertionError(f"scripts/cluster.sh {' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return time.monotonic() - started

    def ensure_running(self, n):
        """Starts instance n if it is not running (a test that stopped it failed midway)."""
        pid = self.pid(n)
        if pid is not None:
            try:
                os.kill(pid, 0)
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split(") ", 1)[1][0] != "Z":
                        return
            except (OSError, IndexError):
                pass
        self.script("start-instance", n)

    def run_cli(self, *args, input=None, timeout=60):
        """The cluster's `zakops` (its settings and database); returns stdout, raises on failure."""
        done = subprocess.run([self.cli, *map(str, args)], input=input, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"zakops {' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    def sql(self, query, *params):
        """Rows of a query (lists of text; NULL is None) through psql. %s placeholders are
        filled with quoted literals of params."""
        def literal(value):
            if value is None:
                return "NULL"
            if isinstance(value, (int, float)):
                return str(value)
            return "'" + str(value).replace("'", "''") + "'"
        text = query % tuple(literal(p) for p in params) if params else query
        done = subprocess.run([self.psql_bin, "-X", "-q", "-A", "-t", "-F", "\x1f", "-P", "null=\x1e", "-v", "ON_ERROR_STOP=1",
                               self.database_url, "-c", text], capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PGCONNECT_TIMEOUT": "5"})
        if done.returncode != 0:
            raise AssertionError(f"psql failed: {done.stderr.strip()}\n{text}")
        rows = []
        for line in done.stdout.split("\n"):  # not splitlines(): it also splits at \x1e
            if line == "":
                continue
            rows.append([None if cell == "\x1e" else cell for cell in line.split("\x1f")])
        return rows

    def scalar(self, query, *params):
        rows = self.sql(query, *params)
        return rows[0][0] if rows else None

    def reset_auth_budget(self, address):
        """Forgets the auth limit's count of one client address (the rate_limit_counters rows),
        then waits for the next 10-second bucket, when each instance asks the database again
        (an instance that saw the address over the limit refuses it locally until then). For
        tests that must go through nginx, where every client is 127.0.0.1."""
        self.sql("DELETE FROM rate_limit_counters WHERE bucket = %s", f"auth|ip:{address}")
        now = time.time()
        time.sleep(10 - now % 10 + 0.3)

    def instance_of(self, request_id, timeout=3):
        """Which instance logged the request (its X-Request-ID); None if none did."""
        def find():
            for n in self.instances:
                try:
                    with open(self.logs[n], errors="replace") as f:
                        if request_id in f.read():
                            return n
                except OSError:
                    pass
            return None
        return wait_until(find, timeout, 0.1)


CLUSTER = None


def cluster():
    global CLUSTER
    if CLUSTER is None:
        CLUSTER = Cluster()
    return CLUSTER


# --- HTTP ------------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    def header(self, name):
        return self.headers.get(name) if self.headers is not None else None

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def code(self):
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return data["error"].get("code")
        return None

    def __repr__(self):
        return f"HTTP {self.status} {self.code or ''} {self.body[:200]!r}"


class NoAnswer(Exception):
    """The connection failed or closed before a whole response arrived."""


class Client:
    """One connection, kept alive: to nginx (target "nginx", https) or to instance n directly
    (plain http, with the headers nginx would add: Host, X-Forwarded-For, X-Forwarded-Proto).
    Not thread-safe: one per thread."""

    def __init__(self, target="nginx", forwarded_for=None, timeout=15):
        self.cluster = cluster()
        self.target = target
        self.forwarded_for = forwarded_for
        self.timeout = timeout
        self.connection = None

    def _connect(self):
        c = self.cluster
        if self.target == "nginx":
            return http.client.HTTPSConnection("localhost", c.nginx_port, context=c.ssl, timeout=self.timeout)
        return http.client.HTTPConnection("127.0.0.1", c.ports[self.target], timeout=self.timeout)

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(self, method, path, body=None, headers=None, auth=None, csrf=True):
        """One request; raises NoAnswer when no complete response came back (the connection is
        then dropped, the next request opens another). `auth` is a Session or an API key."""
        all_headers = {}
        if self.target != "nginx":
            all_headers["Host"] = self.cluster.public_host
            all_headers["X-Forwarded-Proto"] = "https"
            if self.forwarded_for:
                all_headers["X-Forwarded-For"] = self.forwarded_for
        if isinstance(auth, Session):
            all_headers["Cookie"] = f"__Host-zakops_session={auth.cookie}"
            if csrf and method in ("POST", "PUT", "PATCH", "DELETE") and auth.csrf:
                all_headers["X-CSRF-Token"] = auth.csrf
        elif isinstance(auth, str):
            all_headers["Authorization"] = f"Bearer {auth}"
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        started = time.monotonic()
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.request(method, path, body=data, headers=all_headers)
            response = self.connection.getresponse()
            payload = response.read()
            if response.will_close:
                self.close()
            return Response(response.status, response.headers, payload, time.monotonic() - started)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise NoAnswer(f"{type(error).__name__}: {error}") from None


def call(target, method, path, body=None, headers=None, auth=None, forwarded_for=None, timeout=15):
    """One request on a connection of its own."""
    client = Client(target, forwarded_for=forwarded_for, timeout=timeout)
    try:
        return client.request(method, path, body=body, headers=headers, auth=auth)
    finally:
        client.close()


# --- identities ------------------------------------------------------------------------------

class User:
    def __init__(self, id, email, password, role):
        self.id, self.email, self.password, self.role = id, email, password, role


class Session:
    def __init__(self, user, cookie, csrf):
        self.user, self.cookie, self.csrf = user, cookie, csrf
        self.id = None


def new_password():
    return "Zk-" + secrets.token_urlsafe(18)


def create_user(role="operator", name=None):
    """A user made with the cluster's `zakops user create` (password on standard input)."""
    email = unique(f"cluster-{role}") + "@example.com"
    password = new_password()
    out = cluster().run_cli("user", "create", "--email", email, "--role", role, "--name", name or f"Cluster test {role}", input=password + "\n")
    return User(out.strip().splitlines()[-1].strip(), email, password, role)


def login(user, target, forwarded_for):
    """Signs in on `target` (an instance, directly, from `forwarded_for`); returns the Session."""
    response = call(target, "POST", "/api/auth/login", {"email": user.email, "password": user.password}, forwarded_for=forwarded_for)
    if response.status != 200:
        raise AssertionError(f"sign-in of {user.email} on {target} answered {response}")
    cookie = None
    for name, value in response.headers.items():
        if name.lower() == "set-cookie" and value.startswith("__Host-zakops_session="):
            cookie = value.split(";", 1)[0].split("=", 1)[1]
    if not cookie:
        raise AssertionError(f"sign-in of {user.email} set no session cookie")
    return Session(user, cookie, response.json()["csrf_token"])


def session_id(session, target, forwarded_for):
    """The public id of the session (GET /api/auth/sessions, the one marked current)."""
    response = call(target, "GET", "/api/auth/sessions", auth=session, forwarded_for=forwarded_for)
    assert response.status == 200, response
    return next(s["id"] for s in response.json()["sessions"] if s["current"])


def create_service_account(admin, role, target, forwarded_for):
    response = call(target, "POST", "/api/admin/service-accounts", {"name": unique(f"svc-{role}"), "role": role}, auth=admin,
                    forwarded_for=forwarded_for)
    assert response.status == 201, response
    return response.json()["id"]


def create_key(admin, account, target, forwarded_for):
    response = call(target, "POST", f"/api/admin/service-accounts/{account}/keys", {}, auth=admin, forwarded_for=forwarded_for)
    assert response.status == 201, response
    return response.json()["key"]


# --- event streams ---------------------------------------------------------------------------

class Stream:
    """GET /api/events/stream on `target`, read by a thread of its own. `events` collects every
    event as a dict (id, event, data, at); `status` is the answer's status (None: no answer)."""

    def __init__(self, target, auth, forwarded_for=None, last_event_id=None, path="/api/events/stream", timeout=10):
        c = cluster()
        self.target = target
        self.events = []
        self.comments = []
        self.closed = threading.Event()
        self.opened = threading.Event()
        self.status = None
        self.code = None
        self.error = None
        self.end = None
        self.lock = threading.Lock()
        headers = {"Accept": "text/event-stream"}
        if target != "nginx":
            headers.update({"Host": c.public_host, "X-Forwarded-Proto": "https"})
            if forwarded_for:
                headers["X-Forwarded-For"] = forwarded_for
        if isinstance(auth, Session):
            headers["Cookie"] = f"__Host-zakops_session={auth.cookie}"
        else:
            headers["Authorization"] = f"Bearer {auth}"
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        if target == "nginx":
            self.connection = http.client.HTTPSConnection("localhost", c.nginx_port, context=c.ssl, timeout=timeout)
        else:
            self.connection = http.client.HTTPConnection("127.0.0.1", c.ports[target], timeout=timeout)
        try:
            self.connection.request("GET", path, headers=headers)
            self.response = self.connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            self.error = f"{type(error).__name__}: {error}"
            self.closed.set()
            return
        self.status = self.response.status
        if self.status != 200:
            body = self.response.read()
            try:
                self.code = json.loads(body)["error"]["code"]
            except (ValueError, KeyError, TypeError):
                pass
            self.headers = self.response.headers
            self.connection.close()
            self.closed.set()
            return
        self.headers = self.response.headers
        # Events may be minutes apart: no read timeout once the stream is open.
        self.connection.sock.settimeout(None)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        event = {}
        try:
            while True:
                line = self.response.readline()
                if not line:
                    break
                line = line.decode("utf-8", "replace").rstrip("\r\n")
                if line == "":
                    if event:
                        event["at"] = time.monotonic()
                        with self.lock:
                            self.events.append(event)
                        event = {}
                    continue
                if line.startswith(":"):
                    with self.lock:
                        self.comments.append(line)
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "retry":
                    self.opened.set()
                elif field in ("id", "event"):
                    event[field] = value
                elif field == "data":
                    event["data"] = event.get("data", "") + value
            self.end = "eof"  # the server ended the response (its last chunk)
        except Exception as error:  # a connection cut short: the chunked body breaks off
            self.error = f"{type(error).__name__}: {error}"
            self.end = "cut"
        finally:
            self.closed.set()

    @property
    def ok(self):
        return self.status == 200

    def snapshot(self):
        with self.lock:
            return list(self.events)

    def ids(self):
        return [int(e["id"]) for e in self.snapshot() if "id" in e]

    def last_id(self):
        ids = self.ids()
        return ids[-1] if ids else None

    def find(self, predicate):
        for event in self.snapshot():
            if predicate(event):
                return event
        return None

    def wait_for(self, predicate, timeout):
        return wait_until(lambda: self.find(predicate), timeout, 0.01)

    def close(self):
        """Closes the connection (the server sees the FIN at once)."""
        try:
            if self.connection.sock is not None:
                self.connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
        self.closed.wait(5)


def event_data(event):
    try:
        return json.loads(event.get("data") or "null")
    except ValueError:
        return None


def deal_event(deal_id, kind="deal.created"):
    """A predicate: the stream event of `kind` about the deal."""
    def matches(event):
        if event.get("event") != kind:
            return False
        data = event_data(event)
        return isinstance(data, dict) and data.get("id") == deal_id
    return matches


# --- tests -----------------------------------------------------------------------------------

class ClusterTest(unittest.TestCase):
    """Base class: the cluster, and instances left running after every test."""

    @classmethod
    def setUpClass(cls):
        cls.c = cluster()

    def tearDown(self):
        for n in self.c.instances:
            self.c.ensure_running(n)

    def assertStatus(self, response, status, code=None, message=""):
        self.assertIsInstance(response, Response, message)
        self.assertEqual(response.status, status, f"{message} {response!r}")
        if code is not None:
            self.assertEqual(response.code, code, f"{message} {response!r}")


def new_idempotency_key():
    return str(uuid.uuid4())
