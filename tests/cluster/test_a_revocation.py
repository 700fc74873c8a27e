"""a. A session revoked through one instance is refused by the others within the credential
cache's bound (AUTH_CACHE_SECONDS, 1 s by default; on PostgreSQL the NOTIFY drops it at once):
each way of revoking (logout, DELETE /api/auth/sessions/{id}, revoke-others), each through a
different instance, the cookie cached beforehand on all three, then refused (401 UNAUTHORIZED)
by all three within 2 s and gone from the database."""
import time

from cluster import ClusterTest, call, client_address, create_user, log, login, session_id

BOUND = 2.0


class SessionRevocationTest(ClusterTest):
    def setUp(self):
        self.user = create_user("operator")
        # Its own client address (X-Forwarded-For): an auth budget of its own.
        self.address = client_address()

    def warm(self, session):
        """The cookie answered (and so cached) by every instance."""
        for n in self.c.instances:
            self.assertStatus(call(n, "GET", "/api/auth/me", auth=session, forwarded_for=self.address), 200, message=f"instance {n} before the revocation:")

    def refused_everywhere(self, session, revoked_at, how):
        """Polls every instance until each refuses the cookie; returns the seconds each took."""
        took = {}
        pending = set(self.c.instances)
        while pending and time.monotonic() - revoked_at < BOUND + 0.5:
            for n in sorted(pending):
                response = call(n, "GET", "/api/auth/me", auth=session, forwarded_for=self.address)
                if response.status == 401:
                    self.assertEqual(response.code, "UNAUTHORIZED", response)
                    took[n] = time.monotonic() - revoked_at
                    pending.discard(n)
                else:
                    self.assertEqual(response.status, 200, f"instance {n} after {how}: {response!r}")
            time.sleep(0.05)
        self.assertFalse(pending, f"after {how}, instance(s) {sorted(pending)} still accepted the session {BOUND} s later")
        for n, seconds in took.items():
            self.assertLessEqual(seconds, BOUND, f"instance {n} refused the session only after {seconds:.2f} s ({how})")
        # And it stays refused (no instance answers it from a stale cache later).
        for n in self.c.instances:
            self.assertStatus(call(n, "GET", "/api/deals?limit=1", auth=session, forwarded_for=self.address), 401, "UNAUTHORIZED", f"instance {n}:")
        log(f"{how}: refused by " + ", ".join(f"instance {n} after {took[n] * 1000:.0f} ms" for n in sorted(took)))
        return took

    def assertSessionGone(self, sid):
        self.assertEqual(self.c.scalar("SELECT count(*) FROM sessions WHERE id = %s", sid), "0", f"session {sid} is still in the database")

    def test_logout_through_instance_1(self):
        session = login(self.user, 1, self.address)
        sid = session_id(session, 1, self.address)
        self.warm(session)
        response = call(1, "POST", "/api/auth/logout", auth=session, forwarded_for=self.address)
        revoked_at = time.monotonic()
        self.assertStatus(response, 204, message="logout:")
        self.refused_everywhere(session, revoked_at, "logout through instance 1")
        self.assertSessionGone(sid)

    def test_delete_session_through_instance_2(self):
        keeper = login(self.user, 2, self.address)
        victim = login(self.user, 3, self.address)
        victim_id = session_id(victim, 3, self.address)
        self.warm(victim)
        response = call(2, "DELETE", f"/api/auth/sessions/{victim_id}", auth=keeper, forwarded_for=self.address)
        revoked_at = time.monotonic()
        self.assertStatus(response, 204, message="DELETE /api/auth/sessions/{id}:")
        self.refused_everywhere(victim, revoked_at, "DELETE /api/auth/sessions/{id} through instance 2")
        self.assertSessionGone(victim_id)
        # The session that revoked it still works everywhere.
        for n in self.c.instances:
            self.assertStatus(call(n, "GET", "/api/auth/me", auth=keeper, forwarded_for=self.address), 200, message=f"instance {n}, the keeper:")

    def test_revoke_others_through_instance_3(self):
        keeper = login(self.user, 3, self.address)
        others = [login(self.user, n, self.address) for n in (1, 2)]
        ids = [session_id(s, 1, self.address) for s in others]
        for session in others:
            self.warm(session)
        response = call(3, "POST", "/api/auth/sessions/revoke-others", auth=keeper, forwarded_for=self.address)
        revoked_at = time.monotonic()
        self.assertStatus(response, 204, message="revoke-others:")
        for session in others:
            self.refused_everywhere(session, revoked_at, "revoke-others through instance 3")
        for sid in ids:
            self.assertSessionGone(sid)
        self.assertEqual(self.c.scalar("SELECT count(*) FROM sessions WHERE operator_id = %s", self.user.id), "1",
                         "revoke-others must leave exactly the caller's session")
