"""Scenario 7: markup in data is shown as text. A deal named `<img src=x onerror=alert(1)>`
with the display name `<script>window.__pwned=1</script>`, and an agent's action whose title,
summary and inputs hold markup, arrive live and are loaded on the board, the deal page and the
approval queue: the literal characters are visible, nothing runs (no alert, `window.__pwned`
undefined), and no element is made from data (no <img>, <svg>, <iframe>, extra <script>, no
on… attribute)."""
from harness import OSCAR, Api, BrowserTest, ensure_admin_ready

CANONICAL = "<img src=x onerror=alert(1)>"
DISPLAY = "<script>window.__pwned=1</script>"
TITLE = "<img src=x onerror=alert(2)> Email <b>now</b>"
SUMMARY = '<script>window.__pwned=2</script><a href="javascript:alert(3)">click</a>'
SUBJECT = "<svg onload=alert(4)>"
BODY = "<iframe src=javascript:alert(5)></iframe>"

# What the page holds that data could have made: only the console's own module script.
INERT = """
return {
  pwned: typeof window.__pwned,
  img: document.querySelectorAll("img").length,
  svg: document.querySelectorAll("svg").length,
  iframe: document.querySelectorAll("iframe").length,
  scripts: Array.from(document.scripts, (s) => s.type + " " + s.src.replace(/.*\\//, "")),
  handlers: Array.from(document.querySelectorAll("*")).filter((e) =>
    Array.from(e.attributes).some((a) => a.name.startsWith("on"))).length,
  javascriptLinks: Array.from(document.querySelectorAll("a[href]")).filter((a) =>
    a.getAttribute("href").trim().toLowerCase().startsWith("javascript:")).length,
};
"""


class MarkupIsText(BrowserTest):
    @classmethod
    def setUpClass(cls):
        ensure_admin_ready()
        cls.api = Api.admin()
        cls.key = cls.api.mint_agent_key("Markup agent")
        cls.b = cls.open_browser("oscar")
        cls.b.sign_in(*OSCAR)

    def assert_inert(self, where):
        b = self.b
        b.no_alert()
        found = b.js(INERT)
        self.assertEqual(found, {"pwned": "undefined", "img": 0, "svg": 0, "iframe": 0, "scripts": ["module app.js"],
                                 "handlers": 0, "javascriptLinks": 0}, where)
        b.check(where)

    def test_markup_stays_text(self):
        b = self.b
        # The board is open when the deal arrives (the live path) …
        b.find("deal-board")
        b.live()
        deal = self.api.post("/api/deals", {"canonical_name": CANONICAL, "display_name": DISPLAY})
        card = b.find("deal-card", f'[data-deal-id="{deal["id"]}"]')
        self.assertEqual(card.find_element("css selector", '[data-testid="deal-card-link"]').text, DISPLAY)
        self.assertIn(CANONICAL, card.text.splitlines())
        self.assert_inert("board, live")
        # … and when the board is loaded.
        b.d.refresh()
        card = b.find("deal-card", f'[data-deal-id="{deal["id"]}"]')
        self.assertEqual(card.find_element("css selector", '[data-testid="deal-card-link"]').text, DISPLAY)
        self.assert_inert("board, loaded")

        # The approval queue is open when the agent proposes (the live path, with its notice).
        b.go("/approvals")
        b.find("approval-queue", visible=False)
        b.live()
        agent = Api(key=self.key)
        action = agent.post("/api/actions", {
            "deal_id": deal["id"], "type": "communication.send_email", "title": TITLE, "summary": SUMMARY,
            "inputs": {"to": "seller@example.com", "subject": SUBJECT, "body": BODY},
        })
        item = b.find("approval-item", f'[data-action-id="{action["id"]}"]')
        self.assertEqual((item.get_attribute("data-status"), item.get_attribute("data-risk")), ("pending_approval", "critical"))
        b.until(lambda: any(TITLE in n.text for n in b.all("notice")), what="the arrival notice")
        self.check_action_item(action["id"])
        self.assert_inert("approvals, live")
        b.d.refresh()
        self.check_action_item(action["id"])
        self.assert_inert("approvals, loaded")

        # The deal page: title, facts, edit form values, the deal's actions, the tab's title.
        b.go(f"/deals/{deal['id']}")
        b.until(lambda: b.find("deal-title").text == DISPLAY, what="the deal's title")
        self.assertEqual(b.find("deal-canonical-name").text, CANONICAL)
        self.assertEqual(b.find("deal-display-name").text, DISPLAY)
        self.assertEqual(b.find("deal-field-canonical_name").get_attribute("value"), CANONICAL)
        self.assertEqual(b.find("deal-field-display_name").get_attribute("value"), DISPLAY)
        listed = b.until(lambda: b.all("deal-action", f'[data-action-id="{action["id"]}"]'), what="the deal's action")
        self.assertTrue(listed[0].text.startswith(TITLE), listed[0].text)
        self.assertEqual(b.d.title, f"{DISPLAY} · ZakOps console")
        self.assert_inert("deal page")

        # The rendered text holds the characters themselves, not entities, and no element was
        # made from them.
        html = b.js("return document.querySelector('[data-testid=\"deal-title\"]').innerHTML;")
        self.assertEqual(html, "&lt;script&gt;window.__pwned=1&lt;/script&gt;")

    def check_action_item(self, action_id):
        b = self.b
        item = b.find("approval-item", f'[data-action-id="{action_id}"]')
        self.assertEqual(item.find_element("css selector", "h2").text, TITLE)
        self.assertEqual(item.find_element("css selector", "p.summary").text, SUMMARY)
        self.assertEqual(item.find_elements("css selector", "h2 *, p.summary *"), [])
        item.find_element("css selector", "details.inputs summary").click()
        terms = [dt.text for dt in item.find_elements("css selector", ".inputs-list dt")]
        values = [dd.text for dd in item.find_elements("css selector", ".inputs-list dd")]
        self.assertEqual(dict(zip(terms, values)), {"To": "seller@example.com", "Subject": SUBJECT, "Body": BODY})
        self.assertEqual(item.find_elements("css selector", ".inputs-list dd *"), [])
