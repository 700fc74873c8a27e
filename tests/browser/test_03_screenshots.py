"""Scenario 11: screenshots of each main page, written into the folder ZAKOPS_BROWSER_SCREENSHOTS names
(scripts/browser.sh: .build/browser-screenshots/, or docs/console/ to refresh the docs; PNG, overwritten at
each run) for docs/console.md: a 1280x800 window, and a phone's 390 px width for the board and
a deal. Each page's console log is checked like everywhere else. The data are made here
first, through the API, so the pictures show a working pipeline."""
import time

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, SIGNED_OUT, Api, BrowserTest, ensure_admin_ready

DEALS = [
    {"canonical_name": "Northwind Logistics LLC", "display_name": "Northwind Logistics", "stage": "inbound",
     "broker": {"name": "Dana Reyes", "email": "dana@brokerage.example"}, "metrics": {"asking_price": 4200000, "ebitda": 910000, "revenue": 7800000}},
    {"canonical_name": "Harbor Dental Group", "stage": "initial_review", "metrics": {"asking_price": 2750000, "ebitda": 640000}},
    {"canonical_name": "Cedar Ridge Software Inc.", "display_name": "Cedar Ridge Software", "stage": "due_diligence",
     "broker": {"name": "Sam Patel"}, "metrics": {"asking_price": 12500000, "revenue": 6100000},
     "company_info": {"sector": "software", "employees": 48, "founded": 2011}},
    {"canonical_name": "Blue Fern Bakeries", "stage": "negotiation", "metrics": {"asking_price": 1850000}},
    {"canonical_name": "Atlas Fleet Services", "stage": "documentation", "metrics": {"asking_price": 6400000, "ebitda": 1200000}},
    {"canonical_name": "Meridian HVAC", "stage": "closing", "metrics": {"asking_price": 3300000}},
]
ADMIN_SECTIONS = {
    "users": ("user-row", None),
    "access-review": ("access-review-entry", None),
    "service-accounts": ("sa-item", None),
    "incidents": ("lockdown-status", "data-on"),
    "outbox": ("outbox-status", "data-paused"),
    "sse": ("sse-connections", None),
    "audit": ("audit-entry", None),
    "alerts": ("alert-item", None),
}


class Screenshots(BrowserTest):
    @classmethod
    def setUpClass(cls):
        ensure_admin_ready()
        api = Api.admin()
        ids = [api.post("/api/deals", deal)["id"] for deal in DEALS]
        cls.deal = ids[2]
        api.post(f"/api/deals/{cls.deal}/transition", {"to_stage": "negotiation", "reason": "Diligence found nothing material"})
        etag = api.call("GET", f"/api/deals/{cls.deal}", expect=200).headers["ETag"]
        api.call("PATCH", f"/api/deals/{cls.deal}", {"display_name": "Cedar Ridge Software (carve-out)"}, expect=200,
                 headers={"If-Match": etag})
        agent = Api(key=api.mint_agent_key("Diligence agent"))
        agent.post("/api/actions", {
            "deal_id": cls.deal, "type": "document.generate_loi", "title": "Draft the letter of intent",
            "summary": "An LOI at 11.8M with a 60-day exclusivity, from the negotiated terms.",
            "inputs": {"purchase_price": 11800000, "terms": "60-day exclusivity; 10% escrow for 12 months"},
        })
        agent.post("/api/actions", {
            "deal_id": cls.deal, "type": "diligence.request_docs", "title": "Request the customer contracts",
            "summary": "The ten largest customer contracts, for the change-of-control clauses.",
            "inputs": {"documents": ["Top-10 customer contracts", "Change-of-control schedule"], "due_date": "2027-01-31"},
        })
        agent.post("/api/actions", {
            "deal_id": ids[0], "type": "communication.send_email", "title": "Ask the broker for the fleet list",
            "summary": "The vehicle list with ages and lease terms.",
            "inputs": {"to": "dana@brokerage.example", "subject": "Fleet list", "body": "Could you send the vehicle list with ages and lease terms?"},
        })
        cls.b = cls.open_browser("screenshots")

    def settle(self):
        time.sleep(0.4)  # fonts and the last paint

    def test_main_pages(self):
        b = self.b
        b.go("/sign-in")
        b.find("signin-form")
        self.settle()
        b.screenshot("sign-in")
        self.assertEqual(b.js("return [window.innerWidth, window.innerHeight];"), [1280, 800])
        b.check("sign-in", SIGNED_OUT)

        b.find("signin-email").send_keys(ADMIN_EMAIL)
        b.find("signin-password").send_keys(ADMIN_PASSWORD)
        b.find("signin-submit").click()
        b.find("deal-board")
        b.until(lambda: len(b.all("deal-card")) >= len(DEALS), what="the cards")
        b.live()
        self.settle()
        b.screenshot("board")
        b.check("board")

        b.go(f"/deals/{self.deal}")
        b.until(lambda: len(b.all("timeline-entry")) == 3 and len(b.all("deal-action")) == 2, what="the deal page")
        self.settle()
        b.screenshot("deal")
        b.check("deal page")

        b.go("/approvals")
        b.until(lambda: len(b.all("approval-item")) >= 3, what="the queue")
        self.settle()
        b.screenshot("approvals")
        b.check("approvals")

        b.go("/account")
        b.until(lambda: b.all("session-item"), what="the sessions")
        self.settle()
        b.screenshot("account")
        b.check("account")

        for section, (ready, attribute) in ADMIN_SECTIONS.items():
            b.go(f"/admin/{section}")
            element = b.find(ready)
            if attribute:
                b.until(lambda: element.get_attribute(attribute) is not None, what=f"{section} loaded")
            if section == "audit":
                # The chain's verification has answered, and the chain is intact.
                b.until(lambda: b.find("audit-verify").get_attribute("data-ok") != "unknown", what="the audit verification")
                self.assertEqual(b.find("audit-verify").get_attribute("data-ok"), "true", b.find("audit-verify").text)
            self.assertEqual(b.errors_shown(), [], section)
            self.settle()
            b.screenshot(f"admin-{section}")
            b.check(f"administration: {section}")

    def test_phone_width(self):
        b = self.b
        if not b.d.get_cookie("__Host-zakops_session"):
            b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        b.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        try:
            b.go("/deals")
            b.until(lambda: len(b.all("deal-card")) >= len(DEALS), what="the cards")
            self.assertEqual(b.js("return window.innerWidth;"), 390)
            # Nothing wider than the screen: no sideways scrolling.
            self.assertLessEqual(b.js("return document.documentElement.scrollWidth;"), 390)
            self.settle()
            b.screenshot("phone-board")
            b.check("board, phone")
            b.go(f"/deals/{self.deal}")
            b.until(lambda: len(b.all("timeline-entry")) == 3, what="the deal page")
            self.assertLessEqual(b.js("return document.documentElement.scrollWidth;"), 390)
            self.settle()
            b.screenshot("phone-deal")
            b.check("deal page, phone")
        finally:
            b.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
