"""e. kill -9 of one instance during mixed load through nginx, for about 20 s: reads (API keys of
an operator service account: agents may read, never write deals), writes (operators' sessions),
each worker with a credential of its own paced under its 60-a-minute limit, writes carrying an
Idempotency-Key; sign-ins through nginx (127.0.0.1's auth count is cleared first when an
earlier test used it); three event streams, one on each instance, that reconnect through nginx
with Last-Event-ID; webhook deliveries in flight to a slow receiver (tests/cluster/receiver.py,
1 s per delivery). About 8 s in, an instance that has been delivering a webhook for less than
0.4 s is killed (SIGKILL), 30 ms after a burst of 24 writes was sent; it is started again at the
end of the load.

What is asserted:

- writes: every write answered 201 exists in the database, once, with the answered id; a
  write that got no answer (no response, or nginx's 502/504: a POST that reached the dying
  instance is never retried by nginx) is retried with the same Idempotency-Key until the answer
  is final: 201 (its deal exists once) or 409 CONFLICT "still in progress" — the first
  request's claim was committed and its change was not, the key is taken over only after
  IdempotencyStore.abandonedAfter (5 minutes) — and then no such deal exists. No deal name of
  the run exists twice. Answers without an answer or 5xx only for requests in flight at the
  kill (started before it plus 1 s).
- reads: every one 200 (nginx retries a GET on another instance).
- sign-ins: 200 or 429 (the auth limit of 127.0.0.1, every nginx client), or no answer/5xx
  in flight at the kill.
- streams: each subscriber receives every deal and action event of the run once, in order,
  across its reconnections.
- outbox (OUTBOX_LEASE_SECONDS, read from the cluster's settings): every outbox row of the
  webhook ends `delivered`, one row per deal.created event; the receiver got every row's
  webhook-id with a valid signature; no webhook-id was ever being received twice at the same
  time; a webhook-id received twice belongs to a row the dead instance had claimed (processing
  at the kill, delivered only after that claim's lease ended): its first receipt began before
  the kill and the repeat after the lease expired — at-least-once, never concurrent. The
  delivery the killed instance was making is among them: taken over by another instance after
  its lease and sent again.
"""
import datetime
import json
import os
import signal
import threading
import time

from cluster import RUN, Client, ClusterTest, call, client_address, create_key, create_service_account, create_user, log, login, unique, wait_until
from load import Reader, Recorder, SignIn, Subscriber, Writer
from receiver import WebhookReceiver

LOAD_SECONDS = 20
KILL_AT = 8
WRITERS = 8
READERS = 8
PERIOD = 1.5  # seconds between one worker's requests: 40 a minute, under each key's 60
BURST = 24  # writes sent together just before the kill


def epoch(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


class KillUnderLoadTest(ClusterTest):
    def setUp(self):
        self.address = client_address()
        self.receiver = None
        self.webhook = None
        self.stop = threading.Event()
        self.threads = []

    def tearDown(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(10)
        if self.webhook:
            call(1, "DELETE", f"/api/admin/webhooks/{self.webhook}", auth=self.admin, forwarded_for=self.address)
        if self.receiver:
            self.receiver.close()
        super().tearDown()

    def check_in_flight(self, recorder, killed, kinds):
        """No answer, or a 5xx, only for requests under way when the instance died (begun before
        the kill, or within a second after it, before nginx saw the connections close)."""
        for kind in kinds:
            for o in recorder.of(kind):
                if o["status"] is None or o["status"] >= 500:
                    self.assertLessEqual(o["start"], killed + 1.0, f"{kind} begun {o['start'] - killed:.2f} s after the kill got "
                                                                  f"{o['status'] or o.get('error')}")

    def test_kill_during_mixed_load(self):
        c = self.c
        lease = int(c.setting("OUTBOX_LEASE_SECONDS", "60"))
        self.admin = login(create_user("admin"), 1, self.address)
        operator = create_user("operator")
        subscriber_session = login(operator, 2, self.address)
        # Readers: API keys of an operator service account (agents read; they never write deals).
        # Writers: operators' sessions (cookie and CSRF token), each signed in from an address
        # of its own. Each key and each session has its own 60-a-minute budget.
        account = create_service_account(self.admin, "operator", 1, self.address)
        keys = [create_key(self.admin, account, 1 + i % 3, self.address) for i in range(READERS)]
        writer_users = [create_user("operator") for _ in range(2)]
        sessions = [login(writer_users[i % 2], 1 + i % 3, client_address()) for i in range(WRITERS)]

        # The webhook, and one delivery before the load: the instances trust the receiver.
        self.receiver = WebhookReceiver(delay=1.0)
        response = call(1, "POST", "/api/admin/webhooks", {"url": self.receiver.url, "event_types": ["deal.created"]}, auth=self.admin,
                        forwarded_for=self.address)
        self.assertStatus(response, 201, message="creating the webhook:")
        self.webhook, self.receiver.secret = response.json()["id"], response.json()["secret"]
        consumer = f"webhook:{self.webhook}"
        probe = call("nginx", "POST", "/api/deals", {"canonical_name": unique("deal-e-probe")}, auth=sessions[0])
        self.assertStatus(probe, 201, message="the probe deal:")
        self.assertTrue(wait_until(lambda: self.receiver.snapshot(), 15, 0.1),
                        f"the probe deal's webhook never reached {self.receiver.url}: {c.sql('SELECT status, attempts, last_error FROM outbox WHERE consumer = %s', consumer)}")

        # Sign-ins go through nginx, where every client is 127.0.0.1: a fresh window for it.
        if int(c.scalar("SELECT coalesce(sum(hits), 0) FROM rate_limit_counters WHERE bucket = 'auth|ip:127.0.0.1' "
                        "AND window_start >= extract(epoch FROM now())::bigint - 70")):
            c.reset_auth_budget("127.0.0.1")

        start_sequence = int(c.scalar("SELECT coalesce(max(sequence), 0) FROM event_log"))
        recorder = Recorder()
        # One stream on each instance (directly); each reconnects through nginx when it ends.
        subscribers = [Subscriber(subscriber_session, self.stop, forwarded_for=self.address, first_target=n) for n in c.instances]
        for s in subscribers:
            s.start()
        self.assertTrue(wait_until(lambda: all(s.current and s.current.opened.is_set() for s in subscribers), 5), "the streams did not open")
        writers = [Writer(session, recorder, self.stop, PERIOD, "deal-e") for session in sessions]
        readers = [Reader(k, recorder, self.stop, PERIOD) for k in keys]
        signins = [SignIn(operator, recorder, self.stop, 2.5)]
        self.threads = subscribers + writers + readers + signins
        began = time.time()
        for t in writers + readers + signins:
            t.start()
            time.sleep(PERIOD / (WRITERS + READERS))  # spread the workers over the period

        time.sleep(max(0, began + KILL_AT - time.time()))
        # The victim: an instance that is delivering to the receiver right now.
        pids = {c.pid(n): n for n in c.instances}
        def delivering():
            # A delivery begun in the last 0.4 s: the receiver holds it for another 0.6 s at
            # least, so the kill lands while it is still under way.
            for record in self.receiver.in_flight():
                if time.time() - record["start"] < 0.4:
                    pid = self.receiver.sender(record, list(pids))
                    if pid:
                        return pids[pid], record
            return None
        chosen = wait_until(delivering, 5, 0.02)
        self.assertIsNotNone(chosen, "no instance was delivering a webhook 8 to 13 s into the load")
        victim, victim_delivery = chosen
        # A burst of writes under way when it dies (the paced ones rarely are at that instant).
        burst = [Writer(sessions[i % len(sessions)], recorder, self.stop, PERIOD, "deal-e") for i in range(BURST)]
        burst_threads = [threading.Thread(target=lambda w=w: w.write(Client("nginx")), daemon=True) for w in burst]
        for t in burst_threads:
            t.start()
        time.sleep(0.03)
        # What `scripts/cluster.sh kill N` does (SIGKILL to the pid in the instance's pid file),
        # sent from here: a shell started now would come too late for the burst.
        pid = c.pid(victim)
        os.kill(pid, signal.SIGKILL)
        killed = time.time()
        self.assertTrue(wait_until(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ", 1)[1][0] == "Z", 5),
                        f"instance {victim} survived SIGKILL")
        cut_short = [r["id"] for r in self.receiver.in_flight() if r["start"] < killed]
        claimed_at_kill = {row[0]: epoch(row[1]) for row in c.sql(
            "SELECT id, lease_expires_at FROM outbox WHERE consumer = %s AND status = 'processing'", consumer)}
        log(f"instance {victim} killed {killed - began:.1f} s into the load, while delivering; {len(claimed_at_kill)} deliveries "
            f"claimed (processing) at that moment, {len(cut_short)} being received")
        time.sleep(max(0, began + LOAD_SECONDS - time.time()))
        self.stop.set()
        for t in writers + readers + signins + burst_threads:
            t.join(60)
        ended = time.time()
        restart = c.script("start-instance", victim)
        log(f"load ended after {ended - began:.1f} s; instance {victim} started again in {restart:.1f} s")
        for s in subscribers:
            s.join(10)

        # --- writes -------------------------------------------------------------------------
        deals = [d for w in writers + burst for d in w.deals]
        self.assertTrue(all(d["final"] in (201, 409) for d in deals),
                        f"writes without a final answer: {[d for d in deals if d['final'] not in (201, 409)]}")
        answered = [d for d in deals if d["final"] == 201]
        abandoned = [d for d in deals if d["final"] == 409]
        counts = {r[0]: (int(r[1]), r[2]) for r in c.sql(
            "SELECT canonical_name, count(*), min(id) FROM deals WHERE canonical_name LIKE %s GROUP BY canonical_name", f"deal-e-{RUN}-%")}
        doubles = {name: n for name, (n, _) in counts.items() if n > 1}
        self.assertFalse(doubles, f"deals created twice: {doubles}")
        for d in answered:
            self.assertIn(d["name"], counts, f"{d['name']} was answered 201 ({d['id']}) but is not in the database")
            self.assertEqual(counts[d["name"]][1], d["id"], f"{d['name']}: the database holds another id than the answer's")
        for d in abandoned:
            self.assertNotIn(d["name"], counts, f"{d['name']} was refused 409 on retry, yet exists")
        self.assertEqual(len(counts), len(answered), "deals in the database that no 201 announced")
        retried = [d for d in deals if d["attempts"] > 1]
        self.check_in_flight(recorder, killed, ("write", "write-retry", "login", "read"))
        self.assertEqual(set(recorder.statuses("write")) - {201, 502, 504, "no answer"}, set(), f"writes: {recorder.statuses('write')}")
        self.assertEqual(set(recorder.statuses("write-retry")) - {201, 409, 502, 504, "no answer"}, set(), f"retries: {recorder.statuses('write-retry')}")
        log(f"writes: {len(deals)} ({recorder.statuses('write')}); retried with the same key: {len(retried)} "
            f"({recorder.statuses('write-retry')}): {sum(1 for d in retried if d['final'] == 201)} then 201 "
            f"({sum(1 for d in retried if d['replayed'])} replayed), {len(abandoned)} then 409 (not committed); "
            f"{len(answered)} deals in the database, none twice")

        # --- reads and sign-ins -------------------------------------------------------------
        self.assertEqual(recorder.statuses("read"), {200: len(recorder.of("read"))}, f"reads: {recorder.statuses('read')}")
        self.assertEqual(set(recorder.statuses("login")) - {200, 429, 502, 504, "no answer"}, set(), f"sign-ins: {recorder.statuses('login')}")
        log(f"reads: {recorder.statuses('read')}; sign-ins: {recorder.statuses('login')}")

        # --- streams ------------------------------------------------------------------------
        end_sequence = int(c.scalar("SELECT coalesce(max(sequence), 0) FROM event_log"))
        expected = [int(r[0]) for r in c.sql("SELECT sequence FROM event_log WHERE sequence > %s AND sequence <= %s "
                                             "AND subject_kind IN ('deal', 'action') ORDER BY sequence", start_sequence, end_sequence)]
        for i, s in enumerate(subscribers, start=1):
            got = [x for x in s.received() if x <= end_sequence]
            self.assertTrue(all(conn["status"] == 200 for conn in s.connections), f"stream {i} connections: {s.connections}")
            self.assertEqual(got, expected, f"stream {i} (connections: {[(x['status'], x.get('how'), x['last_event_id']) for x in s.connections]}) "
                                            f"missed {sorted(set(expected) - set(got))[:20]}, repeated {len(got) - len(set(got))}")
            log(f"stream {i}: {len(s.connections)} connection(s), {len(got)} events, none missed or repeated")

        # --- outbox -------------------------------------------------------------------------
        rows_done = wait_until(lambda: c.scalar("SELECT count(*) FROM outbox WHERE consumer = %s AND status <> 'delivered'", consumer) == "0",
                               max(10, killed + lease + 25 - time.time()), 0.5)
        rows = {r[0]: {"status": r[1], "delivered_at": epoch(r[2]) if r[2] else None, "sequence": json.loads(r[3])["sequence"], "attempts": int(r[4])}
                for r in c.sql("SELECT id, status, delivered_at, payload, attempts FROM outbox WHERE consumer = %s", consumer)}
        self.assertTrue(rows_done, f"outbox rows not delivered {lease + 25} s after the kill: "
                                   f"{c.sql('SELECT id, status, attempts, lease_expires_at, last_error FROM outbox WHERE consumer = %s AND status <> %s', consumer, 'delivered')}")
        created_events = int(c.scalar("SELECT count(*) FROM event_log WHERE type = 'deal.created' AND sequence > %s",
                                      min(r["sequence"] for r in rows.values()) - 1))
        self.assertEqual(len(rows), created_events, "one outbox row per deal.created event since the webhook was created")
        self.assertEqual(len({r["sequence"] for r in rows.values()}), len(rows), "two outbox rows for one event")
        time.sleep(self.receiver.delay + 0.5)  # the last deliveries' receipts are recorded when answered
        receipts = self.receiver.snapshot()
        by_id = {}
        for r in receipts:
            by_id.setdefault(r["id"], []).append(r)
        self.assertEqual(set(by_id) - set(rows), set(), "the receiver got webhook-ids that are no outbox row of the webhook")
        self.assertEqual(set(rows) - set(by_id), set(), "delivered outbox rows the receiver never got")
        self.assertTrue(all(self.receiver.verifies(r) for r in receipts), "a delivery's signature does not verify")
        taken_over = {i for i, expiry in claimed_at_kill.items() if rows[i]["delivered_at"] and rows[i]["delivered_at"] >= expiry}
        repeats = {i: sorted(rs, key=lambda r: r["start"]) for i, rs in by_id.items() if len(rs) > 1}
        for i, rs in repeats.items():
            for a, b in zip(rs, rs[1:]):
                self.assertGreaterEqual(b["start"], a["end"], f"webhook-id {i} was being delivered twice at the same time")
            self.assertIn(i, taken_over, f"webhook-id {i} was delivered {len(rs)} times but was not a claim of the killed instance")
            self.assertLess(rs[0]["start"], killed, f"webhook-id {i}: its first receipt came after the kill")
            self.assertGreaterEqual(rs[1]["start"], claimed_at_kill[i], f"webhook-id {i} was delivered again before its lease expired")
        self.assertTrue(taken_over, "no delivery claimed by the killed instance was taken over after its lease "
                                    f"({len(claimed_at_kill)} rows were processing at the kill)")
        # What the killed instance was sending when it died reached the receiver, was never
        # recorded as delivered, and was sent again after the lease.
        self.assertIn(victim_delivery["id"], taken_over, "the delivery the killed instance was making was not taken over after its lease")
        self.assertIn(victim_delivery["id"], repeats, "the delivery the killed instance was making was not sent again")
        killed_pid_ids = set(cut_short) & taken_over
        self.assertTrue(killed_pid_ids <= set(repeats), f"deliveries cut short by the kill and not repeated: {killed_pid_ids - set(repeats)}")
        delays = sorted(rows[i]["delivered_at"] - killed for i in taken_over)
        log(f"outbox: {len(rows)} rows, all delivered; {len(taken_over)} claimed by the killed instance were delivered by another "
            f"{delays[0]:.1f}-{delays[-1]:.1f} s after the kill (lease {lease} s); {len(repeats)} webhook-id(s) received twice "
            f"(first receipt before the kill, again after the lease), none concurrently")

