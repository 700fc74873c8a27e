"""Scenario 3: an operator creates a deal in the console, moves it through an allowed
transition and sees both in the deal's timeline."""
import re
import time

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, BASE, Api, BrowserTest, ensure_admin_ready


class DealLifeCycle(BrowserTest):
    @classmethod
    def setUpClass(cls):
        ensure_admin_ready()
        cls.b = cls.open_browser("operator")
        cls.b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)

    def test_create_move_and_timeline(self):
        b = self.b
        api = Api.admin()
        name = f"Browser Test Holdings {int(time.time())}"
        b.find("new-deal-link").click()
        b.find("deal-create-form")
        self.assertEqual(b.url, BASE + "/console/#/deals/new")
        b.check("new deal form")
        b.find("deal-field-canonical_name").send_keys(name)
        b.find("deal-field-broker_name").send_keys("Bea Broker")
        b.find("deal-field-broker_email").send_keys("bea@example.com")
        b.find("deal-field-asking_price").send_keys("1250000.5")
        b.find("deal-field-company_info").send_keys('{"sector": "software"}')
        b.find("deal-create-submit").click()

        b.until(lambda: re.fullmatch(rf"{re.escape(BASE)}/console/#/deals/DEAL-[A-Z2-7]{{16}}", b.url), what="the deal page")
        deal_id = b.url.rsplit("/", 1)[1]
        b.until(lambda: b.find("deal-title").text == name, what="the title")
        self.assertEqual(b.find("deal-stage").get_attribute("data-stage"), "inbound")
        self.assertEqual(b.find("deal-broker").text, "Bea Broker · bea@example.com")
        self.assertEqual(b.find("deal-asking-price").text, "1,250,000.5")
        self.assertEqual(b.find("deal-version").text, "1")
        b.until(lambda: [e.get_attribute("data-type") for e in b.all("timeline-entry")] == ["deal.created"], what="the created entry")
        self.assertTrue(b.all("timeline-entry")[0].text.startswith("Created at Inbound"))
        # What the server stored is what was typed.
        stored = api.get(f"/api/deals/{deal_id}")
        self.assertEqual((stored["canonical_name"], stored["stage"], stored["metrics"]["asking_price"], stored["company_info"]),
                         (name, "inbound", 1250000.5, {"sector": "software"}))

        # The buttons offer exactly the moves the server allows from here.
        allowed = api.get(f"/api/deals/{deal_id}/transitions")["valid_next_stages"]
        offered = [button.get_attribute("data-to-stage") for button in b.all("transition-button")]
        self.assertEqual(sorted(offered), sorted(allowed))
        self.assertIn("initial_review", offered)
        self.assertNotIn("closing", offered)
        b.check("deal page")

        b.find("transition-reason").send_keys("first look done")
        b.find("transition-button", '[data-to-stage="initial_review"]').click()
        b.until(lambda: b.find("deal-stage").get_attribute("data-stage") == "initial_review", what="the move")
        b.until(lambda: len(b.all("timeline-entry")) == 2, what="the second timeline entry")
        entries = b.all("timeline-entry")
        # Newest first.
        self.assertEqual([e.get_attribute("data-type") for e in entries], ["deal.stage_changed", "deal.created"])
        self.assertTrue(entries[0].text.startswith("Stage Inbound → Initial review"), entries[0].text)
        self.assertIn("version 2", entries[0].text)
        sequences = [int(e.get_attribute("data-sequence")) for e in entries]
        self.assertGreater(sequences[0], sequences[1])
        # The page's timeline is the server's.
        events = api.get(f"/api/deals/{deal_id}/events")["events"]
        self.assertEqual([(e["sequence"], e["type"]) for e in events], [(sequences[1], "deal.created"), (sequences[0], "deal.stage_changed")])
        self.assertEqual(api.get(f"/api/deals/{deal_id}")["stage"], "initial_review")
        # The new stage's moves replace the old ones.
        offered = [button.get_attribute("data-to-stage") for button in b.all("transition-button")]
        self.assertEqual(sorted(offered), sorted(api.get(f"/api/deals/{deal_id}/transitions")["valid_next_stages"]))
        self.assertNotIn("initial_review", offered)
        b.check("deal page after the move")

        # The board shows it in its new column.
        b.find("nav-deals").click()
        card = b.find("deal-card", f'[data-deal-id="{deal_id}"]')
        self.assertEqual(card.get_attribute("data-stage"), "initial_review")
        column = b.find("board-column", '[data-stage="initial_review"]')
        self.assertEqual(len(column.find_elements("css selector", f'[data-deal-id="{deal_id}"]')), 1)
        b.check("board")
