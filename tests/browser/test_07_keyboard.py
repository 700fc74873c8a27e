"""Scenario 10: the keyboard alone. From the top of a freshly loaded page, the first Tab
reaches the skip link; Enter on it moves focus to the main region; the next Tab reaches the
e-mail field, the next the password field, and Enter signs in; the board's heading then has
the focus."""
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from harness import BASE, OSCAR, SIGNED_OUT, BrowserTest


class Keyboard(BrowserTest):
    @classmethod
    def setUpClass(cls):
        cls.b = cls.open_browser("keyboard")

    def keys(self, *keys):
        ActionChains(self.b.d).send_keys(*keys).perform()

    def focused(self):
        return self.b.js("""
            const e = document.activeElement;
            return e ? (e.getAttribute("data-testid") || e.id || e.tagName.toLowerCase()) : null;""")

    def test_sign_in_with_the_keyboard_only(self):
        b = self.b
        b.d.get(BASE + "/console/")
        b.find("signin-form")
        b.check("sign-in page", SIGNED_OUT)
        self.assertEqual(self.focused(), "body")

        self.keys(Keys.TAB)
        self.assertEqual(self.focused(), "skip-link")
        # Focused, the skip link is on screen (it hides above the page otherwise).
        self.assertTrue(b.find("skip-link").is_displayed())
        self.keys(Keys.ENTER)
        self.assertEqual(self.focused(), "main")
        self.assertEqual(b.url, BASE + "/console/")  # the router's address is untouched

        self.keys(Keys.TAB)
        self.assertEqual(self.focused(), "signin-email")
        self.keys(OSCAR[0], Keys.TAB)
        self.assertEqual(self.focused(), "signin-password")
        self.keys(OSCAR[1], Keys.ENTER)

        b.find("deal-board")
        self.assertEqual(b.url, BASE + "/console/#/deals")
        self.assertEqual(b.find("current-user").text, "Oscar Operator (operator)")
        # The new view's heading has the focus: a screen reader announces where one is.
        self.assertEqual(b.js("return document.activeElement.tagName + ' ' + document.activeElement.textContent;"), "H1 Deals")
        b.check("board, signed in by keyboard")
