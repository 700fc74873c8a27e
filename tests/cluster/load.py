"""Client load for the kill and rolling-restart tests: paced readers and writers (each with a
credential of its own, under the 60-a-minute limit of each), sign-ins, and subscribers that reconnect with
Last-Event-ID. Every request's outcome is recorded with its start and end times."""
import threading
import time

from cluster import Client, NoAnswer, Stream, new_idempotency_key, unique


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.outcomes = []  # dicts: kind, status (int, or None for no answer), code, start, end, ...

    def add(self, **outcome):
        with self.lock:
            self.outcomes.append(outcome)

    def of(self, kind):
        with self.lock:
            return [o for o in self.outcomes if o["kind"] == kind]

    def statuses(self, kind=None):
        counts = {}
        with self.lock:
            for o in self.outcomes:
                if kind is None or o["kind"] == kind:
                    key = o["status"] if o["status"] is not None else "no answer"
                    counts[key] = counts.get(key, 0) + 1
        return counts


def paced(stop, period, body):
    """Runs body() every `period` seconds until stop is set."""
    next_at = time.monotonic()
    while not stop.is_set():
        body()
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            stop.wait(delay)
        else:
            next_at = time.monotonic()


def send(client, recorder, kind, method, path, **options):
    start = time.time()
    try:
        response = client.request(method, path, **options)
        recorder.add(kind=kind, status=response.status, code=response.code, start=start, end=time.time(), response=response)
        return response
    except NoAnswer as error:
        recorder.add(kind=kind, status=None, code=None, start=start, end=time.time(), error=str(error))
        return None


class Writer(threading.Thread):
    """Creates deals through nginx with `auth` (a session), one every `period` seconds, each with an
    Idempotency-Key. A request without an answer (no response, 502, 504) is retried with the
    same key and body until the answer is final: 201 (created, or replayed), or 409 (the first
    request's claim is still open: it died before committing)."""

    def __init__(self, auth, recorder, stop, period, prefix, retry_for=40):
        super().__init__(daemon=True)
        self.auth, self.recorder, self.stop, self.period, self.prefix, self.retry_for = auth, recorder, stop, period, prefix, retry_for
        self.deals = []  # dicts: name, key, final (201/409/None), id, replayed, attempts

    def run(self):
        client = Client("nginx")
        paced(self.stop, self.period, lambda: self.write(client))
        client.close()

    def write(self, client):
        deal = {"name": unique(self.prefix), "key": new_idempotency_key(), "final": None, "id": None, "replayed": False, "attempts": 0}
        self.deals.append(deal)
        give_up = time.monotonic() + self.retry_for
        kind = "write"
        while True:
            deal["attempts"] += 1
            response = send(client, self.recorder, kind, "POST", "/api/deals", body={"canonical_name": deal["name"]}, auth=self.auth,
                            headers={"Idempotency-Key": deal["key"]})
            if response is not None and response.status in (201, 409):
                deal["final"] = response.status
                if response.status == 201:
                    deal["id"] = response.json()["id"]
                    deal["replayed"] = response.header("Idempotent-Replayed") == "true"
                return
            if response is not None and response.status not in (502, 503, 504):
                deal["final"] = response.status
                return
            if time.monotonic() > give_up:
                return
            kind = "write-retry"
            time.sleep(0.5)


class Reader(threading.Thread):
    """Reads through nginx with an API key: a page of deals, and one deal of the page."""

    def __init__(self, key, recorder, stop, period):
        super().__init__(daemon=True)
        self.key, self.recorder, self.stop, self.period = key, recorder, stop, period
        self.turn = 0

    def run(self):
        client = Client("nginx")
        self.last = None
        paced(self.stop, self.period, lambda: self.read(client))
        client.close()

    def read(self, client):
        self.turn += 1
        if self.turn % 2 == 0 and self.last:
            send(client, self.recorder, "read", "GET", f"/api/deals/{self.last}", auth=self.key)
            return
        response = send(client, self.recorder, "read", "GET", "/api/deals?limit=10", auth=self.key)
        if response is not None and response.status == 200:
            deals = response.json().get("deals") or []
            self.last = deals[0]["id"] if deals else None


class SignIn(threading.Thread):
    """Signs a user in through nginx every `period` seconds."""

    def __init__(self, user, recorder, stop, period):
        super().__init__(daemon=True)
        self.user, self.recorder, self.stop, self.period = user, recorder, stop, period

    def run(self):
        client = Client("nginx")
        paced(self.stop, self.period, lambda: send(client, self.recorder, "login", "POST", "/api/auth/login",
                                                    body={"email": self.user.email, "password": self.user.password}))
        client.close()


class Subscriber(threading.Thread):
    """Holds an event stream through nginx (or on `target`), reconnecting with Last-Event-ID
    whenever it ends, until stopped. `ids` is every event id received, in order, over all
    connections; `connections` each connection's status, end, and whether it ended with
    `event: fallback` (and its reason)."""

    def __init__(self, session, stop, target="nginx", forwarded_for=None, first_target=None):
        super().__init__(daemon=True)
        self.session, self.stop, self.target, self.forwarded_for = session, stop, target, forwarded_for
        self.first_target = first_target or target
        self.ids = []
        self.connections = []
        self.current = None
        self.lock = threading.Lock()

    def run(self):
        last = None
        target = self.first_target
        while not self.stop.is_set():
            started = time.time()
            stream = Stream(target, self.session, forwarded_for=self.forwarded_for if target != "nginx" else None, last_event_id=last)
            with self.lock:
                self.current = stream
            record = {"target": target, "status": stream.status, "code": stream.code, "start": started, "last_event_id": last,
                      "fallback": None, "end": None, "error": stream.error}
            with self.lock:
                self.connections.append(record)
            if stream.ok:
                seen = 0
                while True:
                    ended = stream.closed.wait(0.05)
                    events = stream.snapshot()
                    for event in events[seen:]:
                        if "id" in event:
                            with self.lock:
                                self.ids.append(int(event["id"]))
                            last = int(event["id"])
                        elif event.get("event") == "fallback":
                            record["fallback"] = event.get("data")
                    seen = len(events)
                    if ended or self.stop.is_set():
                        break
                record["end"] = time.time()
                record["how"] = stream.end
                stream.close()
            target = self.target
            if not self.stop.is_set():
                time.sleep(0.2)

    def received(self):
        with self.lock:
            return list(self.ids)
