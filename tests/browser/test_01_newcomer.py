"""Scenarios 1 and 2: a newcomer opens the server's address, lands in the console, signs in
with the one-time development administrator's password, is walked through the forced change
and sees the board; the session cookie is out of the page's reach."""
import harness
from harness import ADMIN_EMAIL, ADMIN_PASSWORD, BASE, DEV_PASSWORD, SIGNED_OUT, BrowserTest


class Newcomer(BrowserTest):
    @classmethod
    def setUpClass(cls):
        cls.b = cls.open_browser("newcomer")

    def test_a_first_sign_in_walks_through_the_forced_change(self):
        b = self.b
        b.d.get(BASE + "/")
        # / sends a browser to /console/; signed out, the console shows the sign-in form.
        b.find("signin-form")
        # The landing address names no view: the sign-in form is its default when signed out.
        self.assertEqual(b.url, BASE + "/console/")
        self.assertEqual(b.find("skip-link", visible=False).get_attribute("href"), BASE + "/console/#main")
        b.check("sign-in page", SIGNED_OUT)

        b.find("signin-email").send_keys(ADMIN_EMAIL)
        b.find("signin-password").send_keys(DEV_PASSWORD)
        b.find("signin-submit").click()
        b.find("password-change-form")
        self.assertEqual(b.url, BASE + "/console/#/change-password")
        # Until the change, no navigation, no live status: only the change (and sign-out).
        self.assertEqual(b.all("nav-deals"), [])
        self.assertEqual(b.all("live-status"), [])
        self.assertIn("admin@localhost", b.d.find_element("css selector", "main").text)
        # Any other address leads back to the change.
        b.go("/deals")
        b.find("password-change-form")
        self.assertEqual(b.url, BASE + "/console/#/change-password")
        b.check("forced password change")

        # A wrong repeat is caught in the page; nothing is sent.
        b.find("password-change-current").send_keys(DEV_PASSWORD)
        b.find("password-change-new").send_keys(ADMIN_PASSWORD)
        b.find("password-change-repeat").send_keys(ADMIN_PASSWORD + "x")
        b.find("password-change-submit").click()
        self.assertEqual(b.find("error-message").text, "The two new passwords differ.")
        repeat = b.find("password-change-repeat")
        repeat.clear()
        repeat.send_keys(ADMIN_PASSWORD)
        b.find("password-change-submit").click()

        b.find("deal-board")
        harness.STATE["admin_ready"] = True
        self.assertEqual(b.url, BASE + "/console/#/deals")
        self.assertEqual([c.get_attribute("data-stage") for c in b.all("board-column")],
                         ["inbound", "initial_review", "due_diligence", "negotiation", "documentation", "closing",
                          "closed_won", "closed_lost", "archived"])
        self.assertEqual(b.find("current-user").text, "Administrator (admin)")
        self.assertTrue(b.find("nav-admin").is_displayed())
        b.live()
        b.check("board after the change")

        # The one-time password is spent; the new one works.
        self.assertEqual(harness.request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": DEV_PASSWORD}).status, 401)
        me = harness.Api.login(ADMIN_EMAIL, ADMIN_PASSWORD).get("/api/auth/me")
        self.assertFalse(me.get("must_reset_password", False))

    def test_b_session_cookie_is_out_of_the_pages_reach(self):
        b = self.b
        b.find("deal-board")
        cookies = {c["name"]: c for c in b.d.get_cookies()}
        # The cookie is there (the page is signed in with it) …
        session = cookies.get("__Host-zakops_session")
        self.assertIsNotNone(session, f"no session cookie among {sorted(cookies)}")
        self.assertTrue(session["httpOnly"])
        self.assertTrue(session["secure"])
        self.assertEqual(session["sameSite"], "Strict")
        self.assertEqual(session["path"], "/")
        # … and script cannot read it.
        readable = b.js("return document.cookie;")
        self.assertNotIn("zakops_session", readable)
        self.assertNotIn(session["value"], readable)
        self.assertEqual(readable, "")
        # Nor is anything kept in the page's storage.
        self.assertEqual(b.js("return [localStorage.length, sessionStorage.length];"), [0, 0])
        b.check("cookie check")
