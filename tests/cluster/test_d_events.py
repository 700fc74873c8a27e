"""d. Events between instances, and a subscriber whose instance dies.

1. An event committed through one instance reaches subscribers on the two others: streams open
   on instances 2 and 3, a deal created through instance 1, both get its deal.created within
   2 s, with the sequence number the event log gave it (and likewise from 2 and from 3).
2. A subscriber through nginx whose instance is killed (scripts/cluster.sh kill N) reconnects
   through nginx with Last-Event-ID and misses nothing: deals created while it is away are
   replayed, later ones arrive live; every sequence number of the log the operator may see
   (deal and action events) after the last one it had is received once, in order.
"""
import time

from cluster import (ClusterTest, Stream, call, client_address, create_user, deal_event, log, login, new_idempotency_key,
                     unique, wait_until)

BOUND = 2.0


class EventsTest(ClusterTest):
    def setUp(self):
        self.address = client_address()
        self.user = create_user("operator")
        self.session = login(self.user, 1, self.address)
        self.streams = []

    def tearDown(self):
        for stream in self.streams:
            stream.close()
        super().tearDown()

    def stream(self, target, **options):
        stream = Stream(target, self.session, forwarded_for=self.address, **options)
        self.streams.append(stream)
        self.assertEqual(stream.status, 200, f"stream on {target}: HTTP {stream.status} {stream.code} {stream.error or ''}")
        self.assertTrue(stream.opened.wait(5), f"stream on {target} sent nothing")
        return stream

    def create_deal(self, target):
        response = call(target, "POST", "/api/deals", {"canonical_name": unique("deal-d")}, auth=self.session,
                        headers={"Idempotency-Key": new_idempotency_key()}, forwarded_for=self.address)
        self.assertStatus(response, 201, message=f"creating a deal through {target}:")
        return response.json()["id"]

    def sequence_of(self, deal_id):
        return int(self.c.scalar("SELECT sequence FROM event_log WHERE subject_id = %s AND type = 'deal.created'", deal_id))

    def visible_sequences(self, after, upto):
        """The log's sequence numbers an operator's stream carries (deal and action events)."""
        return [int(r[0]) for r in self.c.sql("SELECT sequence FROM event_log WHERE sequence > %s AND sequence <= %s "
                                              "AND subject_kind IN ('deal', 'action') ORDER BY sequence", after, upto)]

    def test_event_reaches_the_other_instances(self):
        for source in self.c.instances:
            others = [n for n in self.c.instances if n != source]
            streams = {n: self.stream(n) for n in others}
            created = time.monotonic()
            deal = self.create_deal(source)
            sequence = self.sequence_of(deal)
            took = {}
            for n, stream in streams.items():
                event = stream.wait_for(deal_event(deal), BOUND)
                self.assertIsNotNone(event, f"the deal created through instance {source} did not reach the stream on instance {n} within {BOUND} s")
                took[n] = event["at"] - created
                self.assertEqual(int(event["id"]), sequence, "the stream's id is not the event log's sequence number")
            log(f"deal through instance {source} (event {sequence}): " + ", ".join(f"instance {n} after {t * 1000:.0f} ms" for n, t in took.items()))
            for stream in streams.values():
                stream.close()

    def test_subscriber_of_a_killed_instance_misses_nothing(self):
        admin = create_user("admin")
        admin_session = login(admin, 1, self.address)
        first = self.stream("nginx")
        anchor = self.create_deal("nginx")
        self.assertIsNotNone(first.wait_for(deal_event(anchor), BOUND), "the stream through nginx did not get the first deal")
        # Which instance holds it: the one whose hub counts a stream of this operator.
        def holder():
            for n in self.c.instances:
                stats = call(n, "GET", "/api/admin/sse/stats", auth=admin_session, forwarded_for=self.address)
                self.assertStatus(stats, 200, message=f"SSE stats of instance {n}:")
                if stats.json()["per_user"].get(self.user.id):
                    return n
            return None
        victim = wait_until(holder, 3, 0.2)
        self.assertIsNotNone(victim, "no instance counts the stream")
        last_seen = first.last_id()
        self.c.script("kill", victim)
        killed = time.monotonic()
        self.assertTrue(first.closed.wait(5), f"the stream through nginx stayed open after instance {victim} died")
        log(f"stream held by instance {victim}, killed; the stream ended ({first.end}: {first.error}) after "
            f"{time.monotonic() - killed:.2f} s, last id {last_seen}")
        self.assertEqual(first.last_id(), last_seen, "events arrived between the kill and the end of the stream")

        # While the subscriber is away: deals through nginx (the dead instance is skipped).
        missed = [self.create_deal("nginx") for _ in range(5)]
        again = self.stream("nginx", last_event_id=last_seen)
        for deal in missed:
            self.assertIsNotNone(again.wait_for(deal_event(deal), BOUND), f"deal {deal}, created while away, was not replayed")
        live = [self.create_deal("nginx") for _ in range(2)]
        for deal in live:
            self.assertIsNotNone(again.wait_for(deal_event(deal), BOUND), f"deal {deal}, created after the reconnection, did not arrive")
        upto = self.sequence_of(live[-1])
        time.sleep(0.3)  # anything extra (a duplicate) would arrive now
        expected = self.visible_sequences(last_seen, upto)
        received = [i for i in again.ids() if i <= upto]
        self.assertEqual(received, expected, "after the reconnection the stream must carry every event after Last-Event-ID once, in order")
        before = [i for i in first.ids()]
        self.assertEqual(before, sorted(set(before)), "the first connection repeated or reordered events")
        self.assertFalse(set(before) & set(received), "an event came on both connections")
        log(f"reconnected through nginx with Last-Event-ID {last_seen}: {len(received)} events {received[0]}..{received[-1]}, "
            f"none missing or repeated")
        seconds = self.c.script("start-instance", victim)
        log(f"instance {victim} started again in {seconds:.1f} s")
