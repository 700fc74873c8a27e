"""c. An operator's sixth event stream is refused whichever instances the six land on
(SSE_MAX_CONNECTIONS_PER_USER, 5, across the cluster): five streams spread over the three
instances (directly, with the session cookie) are open; a sixth on any instance is 429
RATE_LIMITED with Retry-After; once one of the five closes, a sixth opens."""
import time

from cluster import ClusterTest, Stream, client_address, create_user, log, login, wait_until

LIMIT = 5


class StreamLimitTest(ClusterTest):
    def setUp(self):
        self.address = client_address()
        self.user = create_user("operator")
        self.session = login(self.user, 1, self.address)
        self.streams = []

    def tearDown(self):
        for stream in self.streams:
            stream.close()
        super().tearDown()

    def open(self, n):
        stream = Stream(n, self.session, forwarded_for=self.address)
        self.streams.append(stream)
        return stream

    def test_sixth_stream_refused_across_instances(self):
        placement = [self.c.instances[i % len(self.c.instances)] for i in range(LIMIT)]  # 1, 2, 3, 1, 2
        for n in placement:
            stream = self.open(n)
            self.assertEqual(stream.status, 200, f"stream on instance {n}: HTTP {stream.status} {stream.code} {stream.error or ''}")
            self.assertTrue(stream.opened.wait(5), f"stream on instance {n} sent nothing")
        leases = self.c.scalar("SELECT count(*) FROM stream_leases WHERE principal_id = %s", self.user.id)
        log(f"five streams open on instances {placement}; stream_leases rows: {leases}")
        refusals = {}
        for n in self.c.instances:
            sixth = self.open(n)
            refusals[n] = (sixth.status, sixth.code)
            if sixth.status == 429:
                self.assertTrue(sixth.headers.get("Retry-After"), f"instance {n}: 429 without Retry-After")
        log("a sixth stream: " + ", ".join(f"instance {n} answered {s} {c or ''}" for n, (s, c) in refusals.items()))
        for n, (status, code) in refusals.items():
            self.assertEqual((status, code), (429, "RATE_LIMITED"),
                             f"the sixth stream on instance {n} (with five open on instances {placement}) was not refused: HTTP {status} {code}")
        # One of the five closes: its place is free again, on another instance too.
        self.streams[0].close()
        started = time.monotonic()
        reopened = wait_until(lambda: (lambda s: s if s.status == 200 else (s.close() or None))(self.open(3)), 5, 0.2)
        self.assertIsNotNone(reopened, "after one of the five closed, no sixth stream could be opened within 5 s")
        log(f"after one closed, a new stream opened on instance 3 within {time.monotonic() - started:.2f} s")
