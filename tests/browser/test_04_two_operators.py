"""Scenarios 4, 5 and 6, with two browsers (two WebDriver instances: two cookie jars): the
administrator and Olga, an operator.

4. An agent's key, minted in the console, proposes an action over the API; it appears in the
   administrator's approval queue without a reload; Olga approves it in her browser; the
   administrator's page shows the decision without a reload.
5. Both open the same deal's edit form; Olga saves first; the administrator's save is refused
   (412) and the console shows the conflict with the current values.
6. Olga signs out: her event stream is gone from the server's stream statistics within a few
   seconds, and her page is back at sign-in.
"""
import time

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, BASE, OLGA, Api, BrowserTest, ensure_admin_ready, request, user_id


class TwoOperators(BrowserTest):
    @classmethod
    def setUpClass(cls):
        ensure_admin_ready()
        cls.api = Api.admin()
        cls.olga_id = user_id(*OLGA)
        cls.admin = cls.open_browser("admin")
        cls.olga = cls.open_browser("olga")
        cls.admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        cls.olga.sign_in(*OLGA)

    def test_a_agent_proposal_appears_live_and_another_operator_approves(self):
        a, o = self.admin, self.olga
        deal = self.api.post("/api/deals", {"canonical_name": "Riverside Packaging", "stage": "due_diligence"})

        # The key, minted in the console (shown once).
        a.go("/admin/service-accounts")
        a.find("sa-create-name").send_keys("Outreach agent")
        a.find("sa-create-submit").click()
        account = a.until(lambda: next((i for i in a.all("sa-item") if "Outreach agent" in i.text), None), what="the new account")
        account_id = account.get_attribute("data-sa-id")
        scope = f'[data-sa-id="{account_id}"]'
        a.within(scope, "sa-keys-toggle").click()
        a.within(scope, "sa-key-create").click()
        key = a.within(scope, "new-api-key-value").get_attribute("value")
        self.assertRegex(key, r"^zk_[a-z2-7]{52}$")
        a.within(scope, "api-key-item")
        a.within(scope, "new-api-key-dismiss").click()
        self.assertEqual(a.all("new-api-key-value"), [])
        a.check("service accounts")

        a.go("/approvals")
        a.find("approval-queue", visible=False)
        a.live()
        a.check("approvals")
        mark = a.mark()

        # The agent proposes, with its key, from outside the browser.
        answer = request("POST", "/api/actions", {
            "deal_id": deal["id"], "type": "communication.send_email", "title": "Email the seller for the 2025 accounts",
            "summary": "Ask the seller's broker for the audited 2025 accounts before the site visit.",
            "inputs": {"to": "broker@riverside.example", "subject": "2025 accounts", "body": "Could you send the audited 2025 accounts?"},
        }, {"Authorization": "Bearer " + key})
        self.assertEqual(answer.status, 201, answer)
        action = answer.data
        self.assertEqual((action["status"], action["risk"]), ("pending_approval", "critical"))
        self.assertEqual(action["proposed_by"], account_id)

        item_selector = f'[data-action-id="{action["id"]}"]'
        item = a.find("approval-item", item_selector)
        self.assertEqual(item.get_attribute("data-status"), "pending_approval")
        self.assertEqual(item.get_attribute("data-risk"), "critical")
        self.assertEqual(item.find_element("css selector", "h2").text, "Email the seller for the 2025 accounts")
        self.assertTrue(a.still_marked(mark), "the administrator's page was reloaded")
        a.until(lambda: any("New action waiting for a decision" in n.text for n in a.all("notice")), what="the arrival notice")
        a.check("approvals, the proposal arrived")

        # Olga approves in her own browser.
        o.go("/approvals")
        theirs = o.find("approval-item", item_selector)
        theirs.find_element("css selector", '[data-testid="approve-button"]').click()
        o.until(lambda: o.find("approval-item", item_selector).get_attribute("data-status") == "approved", what="Olga's approval")
        o.check("approvals, Olga approved")

        # The administrator's page follows, without a reload.
        a.until(lambda: a.find("approval-item", item_selector).get_attribute("data-status") == "approved", what="the decision, live")
        item = a.find("approval-item", item_selector)
        self.assertEqual(item.find_element("css selector", '[data-testid="approval-decided-by"]').text, self.olga_id)
        self.assertEqual(item.find_elements("css selector", '[data-testid="approve-button"]'), [])
        a.until(lambda: any(f"was approved by {self.olga_id}" in n.text for n in a.all("notice")), what="the decision notice")
        self.assertTrue(a.still_marked(mark), "the administrator's page was reloaded")
        stored = self.api.get(f"/api/actions/{action['id']}")
        self.assertEqual((stored["status"], stored["decided_by"]), ("approved", self.olga_id))
        a.check("approvals, the decision arrived")

    def test_b_stale_edit_is_refused_and_the_conflict_shown(self):
        a, o = self.admin, self.olga
        deal = self.api.post("/api/deals", {"canonical_name": "Granite Peak Outfitters", "display_name": "Granite Peak"})
        for browser in (a, o):
            browser.go(f"/deals/{deal['id']}")
            browser.until(lambda browser=browser: browser.find("deal-field-display_name").get_attribute("value") == "Granite Peak",
                          what="the edit form")
            browser.check("deal page")
        # The administrator starts typing (the form keeps the version it was filled from) …
        field = a.find("deal-field-display_name")
        field.clear()
        field.send_keys("Granite Peak (admin's edit)")
        # … while Olga saves first.
        field = o.find("deal-field-display_name")
        field.clear()
        field.send_keys("Granite Peak (Olga's edit)")
        o.find("deal-edit-submit").click()
        o.until(lambda: o.find("deal-title").text == "Granite Peak (Olga's edit)", what="Olga's save")
        o.check("deal page, Olga saved")
        self.assertEqual(self.api.get(f"/api/deals/{deal['id']}")["version"], 2)
        # The administrator's page learns of the new version live; the typed value stays.
        a.until(lambda: a.find("deal-version").text == "2", what="the new version, live")
        self.assertEqual(a.find("deal-field-display_name").get_attribute("value"), "Granite Peak (admin's edit)")

        a.find("deal-edit-submit").click()
        conflict = a.find("deal-conflict")
        self.assertTrue(conflict.text.startswith("Someone changed this deal; reload"), conflict.text)
        self.assertIn("the deal is now at version 2", conflict.text)
        self.assertIn("Granite Peak (Olga's edit)", a.find("deal-conflict-current").text)
        # The refusal was the server's 412 on the PATCH of this deal, and nothing was saved.
        a.check("deal page, stale save", {(f"/api/deals/{deal['id']}", 412)})
        stored = self.api.get(f"/api/deals/{deal['id']}")
        self.assertEqual((stored["display_name"], stored["version"]), ("Granite Peak (Olga's edit)", 2))
        refused = [line for line in _serve_log_requests() if line.get("method") == "PATCH" and line.get("status") == 412]
        self.assertTrue(refused, "the server logged no 412 for a PATCH")

        # Reloading the current values and saving again works.
        a.find("deal-conflict-reload").click()
        self.assertEqual(a.find("deal-field-display_name").get_attribute("value"), "Granite Peak (Olga's edit)")
        self.assertFalse(a.find("deal-conflict", visible=False).is_displayed())
        field = a.find("deal-field-display_name")
        field.clear()
        field.send_keys("Granite Peak Outfitters Ltd")
        a.find("deal-edit-submit").click()
        a.until(lambda: a.find("deal-title").text == "Granite Peak Outfitters Ltd", what="the second save")
        self.assertEqual(self.api.get(f"/api/deals/{deal['id']}")["version"], 3)
        a.check("deal page, saved after reload")

    def test_c_sign_out_ends_the_stream(self):
        o = self.olga
        o.go("/deals")
        o.find("deal-board")
        o.live()
        self.assertEqual(self.api.get("/api/admin/sse/stats")["per_user"].get(self.olga_id), 1)
        o.check("board before sign-out")

        o.find("sign-out").click()
        started = time.monotonic()
        o.find("signin-form")
        self.assertEqual(o.url, BASE + "/console/#/sign-in")
        while self.olga_id in self.api.get("/api/admin/sse/stats")["per_user"]:
            self.assertLess(time.monotonic() - started, 5, "Olga's stream is still open 5 s after her sign-out")
            time.sleep(0.1)
        print(f"   (Olga's stream gone {time.monotonic() - started:.2f} s after the sign-out click)")
        self.assertEqual(o.all("live-status"), [])
        self.assertEqual(o.all("nav-deals"), [])
        self.assertTrue(any(n.text == "Signed out." for n in o.all("notice")))
        # The cookie is gone from the browser and the session from the server.
        self.assertNotIn("__Host-zakops_session", {c["name"] for c in o.d.get_cookies()})
        self.assertEqual(o.js("""
            return fetch("/api/auth/me", {credentials: "same-origin"}).then((r) => r.status);"""), 401)
        o.check("sign-in after sign-out", {("/api/auth/me", 401)})


def _serve_log_requests():
    from harness import serve_log_lines
    return [line for line in serve_log_lines() if line.get("msg") == "request"]
