"""g. The incident commands act on every instance.

- `zakops incident lockdown on` (the cluster's CLI, straight on the database): an operator's API
  key gets 503 LOCKDOWN (Retry-After: 120) from every instance directly within
  RUNTIME_POLL_INTERVAL_MS (500 ms) plus a margin of 500 ms after the command returns; so does
  an operator's session; an admin's session is still served everywhere. `… lockdown off`:
  the key is served again everywhere within the same bound.
- `zakops sessions revoke-all`: sessions cached by all three instances beforehand are refused
  (401 UNAUTHORIZED) by every instance within AUTH_CACHE_SECONDS plus a second; no session is
  left in the database.
"""
import time

from cluster import ClusterTest, call, client_address, create_key, create_service_account, create_user, log, login


class IncidentCommandsTest(ClusterTest):
    def setUp(self):
        self.address = client_address()
        self.lockdown_touched = False

    def tearDown(self):
        if self.lockdown_touched:
            self.c.run_cli("incident", "lockdown", "off")
        super().tearDown()

    def poll(self, credentials, path, want, bound, since):
        """Polls each instance (with its own credential) until it answers `want` (status, code);
        returns each instance's seconds since `since`; fails past `bound`."""
        started = since
        took, last = {}, {}
        while len(took) < len(self.c.instances) and time.monotonic() - started < bound + 1:
            for n in self.c.instances:
                if n in took:
                    continue
                response = call(n, "GET", path, auth=credentials[n], forwarded_for=self.address)
                last[n] = response
                if (response.status, response.code) == want:
                    took[n] = time.monotonic() - started
            time.sleep(0.02)
        missing = [n for n in self.c.instances if n not in took]
        self.assertFalse(missing, f"instances {missing} did not answer {want} within {bound + 1:.1f} s: {[last[n] for n in missing]}")
        for n, seconds in took.items():
            self.assertLessEqual(seconds, bound, f"instance {n} answered {want} only after {seconds:.2f} s (bound {bound:.2f} s)")
        return took

    def test_lockdown_on_and_off(self):
        c = self.c
        bound = int(c.setting("RUNTIME_POLL_INTERVAL_MS", "500")) / 1000 + 0.5
        admin = login(create_user("admin"), 1, self.address)
        operator = login(create_user("operator"), 2, self.address)
        account = create_service_account(admin, "operator", 1, self.address)
        on_keys = {n: create_key(admin, account, n, self.address) for n in c.instances}
        off_keys = {n: create_key(admin, account, n, self.address) for n in c.instances}
        for n in c.instances:
            self.assertStatus(call(n, "GET", "/api/deals?limit=1", auth=on_keys[n], forwarded_for=self.address), 200, message=f"instance {n}, before:")

        began = time.monotonic()
        self.lockdown_touched = True
        out = c.run_cli("incident", "lockdown", "on")
        returned = time.monotonic()
        self.assertIn("lockdown: on", out)
        self.assertEqual(c.scalar("SELECT value FROM settings WHERE key = 'incident.lockdown'"), "on")
        took = self.poll(on_keys, "/api/deals?limit=1", (503, "LOCKDOWN"), bound, returned)
        log(f"lockdown on (the command took {returned - began:.2f} s): the key refused 503 by " +
            ", ".join(f"instance {n} {t * 1000:.0f} ms after it returned" for n, t in sorted(took.items())))
        for n in c.instances:
            refused = call(n, "GET", "/api/deals?limit=1", auth=on_keys[n], forwarded_for=self.address)
            self.assertStatus(refused, 503, "LOCKDOWN", f"instance {n}, the key:")
            self.assertEqual(refused.header("Retry-After"), "120")
            self.assertStatus(call(n, "GET", "/api/deals?limit=1", auth=operator, forwarded_for=self.address), 503, "LOCKDOWN",
                              f"instance {n}, an operator's session:")
            self.assertStatus(call(n, "GET", "/api/deals?limit=1", auth=admin, forwarded_for=self.address), 200, message=f"instance {n}, the admin:")
            self.assertStatus(call(n, "GET", "/api/admin/incidents/lockdown", auth=admin, forwarded_for=self.address), 200,
                              message=f"instance {n}, the admin:")

        out = c.run_cli("incident", "lockdown", "off")
        returned = time.monotonic()
        self.assertIn("lockdown: off", out)
        self.lockdown_touched = False
        took = self.poll(off_keys, "/api/deals?limit=1", (200, None), bound, returned)
        log("lockdown off: the key served again by " + ", ".join(f"instance {n} {t * 1000:.0f} ms after it returned" for n, t in sorted(took.items())))
        for n in c.instances:
            self.assertStatus(call(n, "GET", "/api/deals?limit=1", auth=operator, forwarded_for=self.address), 200, message=f"instance {n}, the operator:")

    def test_sessions_revoke_all(self):
        c = self.c
        bound = int(c.setting("AUTH_CACHE_SECONDS", "1")) + 1.0
        operator = login(create_user("operator"), 1, self.address)
        admin = login(create_user("admin"), 2, self.address)
        for n in c.instances:
            for session in (operator, admin):
                self.assertStatus(call(n, "GET", "/api/auth/me", auth=session, forwarded_for=self.address), 200, message=f"instance {n}, before:")
        began = time.monotonic()
        out = c.run_cli("sessions", "revoke-all")
        returned = time.monotonic()
        for who, session in (("operator", operator), ("admin", admin)):
            took = self.poll({n: session for n in c.instances}, "/api/auth/me", (401, "UNAUTHORIZED"), bound, returned)
            log(f"sessions revoke-all ({out.strip()}; the command took {returned - began:.2f} s): the {who}'s session refused by " +
                ", ".join(f"instance {n} {t * 1000:.0f} ms after it returned" for n, t in sorted(took.items())))
        self.assertEqual(c.scalar("SELECT count(*) FROM sessions"), "0", "sessions left after revoke-all")
