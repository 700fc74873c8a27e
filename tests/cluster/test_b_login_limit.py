"""b. Ten sign-ins a minute per client address across the cluster, not per instance.

Failed sign-ins, each for a different unknown e-mail address, so that neither the login backoff
(per e-mail address) nor the per-account limit takes part: attempts 1 to 10 get 401
INVALID_CREDENTIALS, the 11th 429 RATE_LIMITED with Retry-After, whichever instances they land
on. Once through nginx (round-robin over the three; every client is 127.0.0.1 there), once sent
to the three instances in turn directly with one X-Forwarded-For address, as a trusted proxy
would. The count lives in rate_limit_counters: 10 for the address (the refused attempt gives
its place back)."""
from cluster import ClusterTest, call, client_address, log, unique

LIMIT = 10


class LoginLimitTest(ClusterTest):
    def attempt(self, target, address=None):
        body = {"email": unique("nobody") + "@example.com", "password": "not-the-password-1"}
        return call(target, "POST", "/api/auth/login", body, forwarded_for=address)

    def counted(self, address):
        """The auth limit's count for the address over the rolling window (7 buckets of 10 s)."""
        return int(self.c.scalar("SELECT coalesce(sum(hits), 0) FROM rate_limit_counters WHERE bucket = %s "
                                 "AND window_start >= extract(epoch FROM now())::bigint - 70", f"auth|ip:{address}"))

    def assertRefused(self, response, message):
        self.assertStatus(response, 429, "RATE_LIMITED", message)
        self.assertTrue(response.header("Retry-After"), f"{message} 429 without Retry-After")
        self.assertEqual(response.header("RateLimit-Policy"), '"auth";q=10;w=60', message)

    def test_through_nginx(self):
        # Every client of nginx is 127.0.0.1: start from a window without its earlier sign-ins
        # (another test's, or the scan's in an earlier run).
        if self.counted("127.0.0.1"):
            self.c.reset_auth_budget("127.0.0.1")
        served = []
        for i in range(1, LIMIT + 1):
            response = self.attempt("nginx")
            self.assertStatus(response, 401, "INVALID_CREDENTIALS", f"attempt {i} through nginx:")
            served.append(self.c.instance_of(response.header("X-Request-ID")))
        eleventh = self.attempt("nginx")
        self.assertRefused(eleventh, "attempt 11 through nginx:")
        served_11 = self.c.instance_of(eleventh.header("X-Request-ID"))
        log(f"attempts 1-10 answered by instances {served}, the 11th (429) by instance {served_11}")
        self.assertEqual(set(served), set(self.c.instances), f"nginx did not spread the attempts over every instance: {served}")
        self.assertEqual(self.counted("127.0.0.1"), LIMIT)

    def test_direct_with_forwarded_for(self):
        address, other = client_address(), client_address()
        order = [self.c.instances[i % len(self.c.instances)] for i in range(LIMIT)]
        for i, n in enumerate(order, start=1):
            self.assertStatus(self.attempt(n, address), 401, "INVALID_CREDENTIALS", f"attempt {i} on instance {n}:")
        # The 11th is refused by every instance, whichever the first ten went to.
        for n in self.c.instances:
            self.assertRefused(self.attempt(n, address), f"attempt 11 on instance {n}:")
        self.assertEqual(self.counted(address), LIMIT)
        # Another client behind the same proxy has a budget of its own.
        self.assertStatus(self.attempt(self.c.instances[0], other), 401, "INVALID_CREDENTIALS", "another address:")
