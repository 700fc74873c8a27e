"""What the browser tests share: the run's settings (from scripts/browser.sh), the API through
urllib (a session cookie from a direct login, or an agent's bearer key), and a headless
Chromium whose console log is checked after every page.

The log rule (scenario 8 of issue 17): after each page a test calls `Browser.check(where,
allowed)`. Any entry mentioning "Content Security Policy" or "Refused to" fails, whatever its
level, and so does any SEVERE entry, except "Failed to load resource: the server responded
with a status of N" for a (path, status) pair the step names in `allowed` — the short list of
answers the step provokes on purpose (the 401 of /api/auth/me before sign-in, the 412 of a
stale edit). A listener added to every document before its scripts run also collects
`securitypolicyviolation` events, so a violation the log might word differently still fails.
"""
import json
import os
import re
import shutil
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["ZAKOPS_BROWSER_BASE"]  # http://localhost:PORT: the browser's address
PORT = urllib.parse.urlsplit(BASE).port
API = f"http://127.0.0.1:{PORT}"  # the same server, for urllib (no IPv6 try first)
ATTACKER_PORT = int(os.environ["ZAKOPS_BROWSER_ATTACKER_PORT"])
SERVE_LOG = os.environ["ZAKOPS_BROWSER_SERVE_LOG"]
SCREENSHOTS = os.environ["ZAKOPS_BROWSER_SCREENSHOTS"]

ADMIN_EMAIL = "admin@localhost"
DEV_PASSWORD = os.environ["ZAKOPS_BROWSER_DEV_PASSWORD"]
# The administrator's own password, chosen at the forced change of the first test.
ADMIN_PASSWORD = "Velvet-Orchard-Compass-2291"
OLGA = ("olga@example.com", os.environ["ZAKOPS_BROWSER_OLGA_PASSWORD"])
OSCAR = ("oscar@example.com", os.environ["ZAKOPS_BROWSER_OSCAR_PASSWORD"])

# The run's shared state: whether the forced change happened, the log entries let through.
STATE = {"admin_ready": False}
ALLOWED_SEEN = []  # (browser, where, message)
NOTED = []  # non-SEVERE entries, shown at the end for the record

# The answer a signed-out page gets from GET /api/auth/me: how the console learns it must
# show the sign-in form.
SIGNED_OUT = {("/api/auth/me", 401)}


# -- the API ------------------------------------------------------------------------------

class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.data = json.loads(body) if body else None
        except ValueError:
            self.data = None

    def __repr__(self):
        return f"HTTP {self.status} {self.body[:300]!r}"


def request(method, path, body=None, headers=None):
    """One request with urllib; any status comes back as an Answer (no exception)."""
    data = None if body is None else json.dumps(body).encode()
    all_headers = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    req = urllib.request.Request(API + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=15) as response:
            return Answer(response.status, response.headers, response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read().decode())


class Api:
    """Calls as one principal: a session (cookie + CSRF token from a direct login) or a key."""

    def __init__(self, cookie=None, csrf=None, key=None):
        self.cookie, self.csrf, self.key = cookie, csrf, key

    @classmethod
    def login(cls, email, password):
        answer = request("POST", "/api/auth/login", {"email": email, "password": password})
        if answer.status != 200:
            raise AssertionError(f"login of {email} failed: {answer}")
        # The cookie is Secure: urllib's cookie jar would not send it over http, so by hand.
        cookie = answer.headers["Set-Cookie"].split(";")[0]
        assert cookie.startswith("__Host-zakops_session="), cookie
        return cls(cookie=cookie, csrf=answer.data["csrf_token"])

    @classmethod
    def admin(cls):
        ensure_admin_ready()
        return cls.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    def call(self, method, path, body=None, expect=None, headers=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
            h["X-CSRF-Token"] = self.csrf
        if self.key:
            h["Authorization"] = "Bearer " + self.key
        answer = request(method, path, body, h)
        if expect is not None and answer.status != expect:
            raise AssertionError(f"{method} {path}: expected {expect}, got {answer}")
        return answer

    def get(self, path):
        return self.call("GET", path, expect=200).data

    def post(self, path, body=None, expect=(200, 201)):
        answer = self.call("POST", path, body)
        if answer.status not in (expect if isinstance(expect, tuple) else (expect,)):
            raise AssertionError(f"POST {path}: expected {expect}, got {answer}")
        return answer.data

    def count_deals(self):
        """Every deal, counted through the pages."""
        total, cursor = 0, None
        while True:
            query = "?limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            page = self.get("/api/deals" + query)
            total += len(page["deals"])
            cursor = page.get("next_cursor")
            if not cursor:
                return total

    def mint_agent_key(self, name):
        """A service account (role operator) and one API key for it: the agent of the tests."""
        account = self.post("/api/admin/service-accounts", {"name": name, "role": "operator"})
        return self.post(f"/api/admin/service-accounts/{account['id']}/keys")["key"]


def ensure_admin_ready():
    """The development administrator with its own password. The first test makes the forced
    change in the browser; when it did not get that far, the change is made here so that the
    other tests still run."""
    if STATE["admin_ready"]:
        return
    answer = request("POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": DEV_PASSWORD})
    if answer.status == 200:
        api = Api(cookie=answer.headers["Set-Cookie"].split(";")[0], csrf=answer.data["csrf_token"])
        api.call("POST", "/api/auth/password/change", {"current_password": DEV_PASSWORD, "new_password": ADMIN_PASSWORD}, expect=204)
    STATE["admin_ready"] = True


def user_id(email, password):
    return Api.login(email, password).get("/api/auth/me")["id"]


def serve_log_lines():
    """The server's JSON log lines so far."""
    lines = []
    with open(SERVE_LOG) as f:
        for line in f:
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


# -- the browser --------------------------------------------------------------------------

# Runs in every document before its own scripts (DevTools injects it: the page's CSP does not
# apply to it). Collects CSP violations; `window.__zakopsAlive` tells a test the document was
# not reloaded.
PAGE_HOOK = """
window.__zakopsCspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__zakopsCspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
LOAD_FAILURE = re.compile(r"^(\S+) - Failed to load resource: the server responded with a status of (\d+)")


def tid(name, extra=""):
    return (By.CSS_SELECTOR, f'[data-testid="{name}"]{extra}')


class Browser:
    """One headless Chromium (its own cookie jar): one operator's browser."""

    def __init__(self, name, width=1280, height=800):
        self.name = name
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-proxy-server",
                    "--lang=en-US", f"--window-size={width},{height}"]:
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        self.d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PAGE_HOOK})
        # --window-size is the window's outer size: grow it by the browser's own frame so that
        # the page itself gets width x height (what the screenshots show).
        inner = self.d.execute_script("return [window.innerWidth, window.innerHeight];")
        if inner != [width, height]:
            self.d.set_window_size(2 * width - inner[0], 2 * height - inner[1])

    def quit(self):
        try:
            self.d.quit()
        except Exception:
            pass

    # Finding things.
    def find(self, name, extra="", timeout=10, visible=True):
        condition = EC.visibility_of_element_located if visible else EC.presence_of_element_located
        try:
            return WebDriverWait(self.d, timeout).until(condition(tid(name, extra)))
        except TimeoutException:
            raise AssertionError(f"{self.name}: no {'visible ' if visible else ''}[data-testid={name}]{extra} after {timeout} s "
                                 f"at {self.d.current_url}; errors shown: {self.errors_shown()}") from None

    def within(self, scope, name, timeout=10):
        """The visible [data-testid=name] inside the element matching the CSS selector `scope`."""
        selector = f'{scope} [data-testid="{name}"]'
        try:
            return WebDriverWait(self.d, timeout).until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))
        except TimeoutException:
            raise AssertionError(f"{self.name}: no visible {selector} after {timeout} s at {self.d.current_url}; "
                                 f"errors shown: {self.errors_shown()}") from None

    def all(self, name, extra=""):
        return self.d.find_elements(*tid(name, extra))

    def until(self, fn, timeout=10, what="the condition"):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda _: fn())
        except TimeoutException:
            raise AssertionError(f"{self.name}: {what} did not happen within {timeout} s at {self.d.current_url}; "
                                 f"errors shown: {self.errors_shown()}") from None

    def errors_shown(self):
        return [e.text.replace("\n", " | ") for e in self.d.find_elements(*tid("error")) if e.is_displayed()]

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    @property
    def url(self):
        return self.d.current_url

    def go(self, hash_path):
        """Opens a console view by its address (#/deals, …)."""
        self.d.get(f"{BASE}/console/#{hash_path}")

    def mark(self):
        """Marks the document; `still_marked()` is false once the page was reloaded."""
        token = f"m{time.monotonic_ns()}"
        self.js("window.__zakopsMark = arguments[0];", token)
        return token

    def still_marked(self, token):
        return self.js("return window.__zakopsMark;") == token

    def no_alert(self):
        try:
            alert = self.d.switch_to.alert
            text = alert.text
        except NoAlertPresentException:
            return True
        alert.dismiss()
        raise AssertionError(f"{self.name}: an alert opened: {text!r}")

    def live(self, timeout=15):
        """Waits for the event stream to be open (the header says Live)."""
        self.until(lambda: self.find("live-status").get_attribute("data-state") == "live", timeout, "the live stream")

    def screenshot(self, name):
        path = os.path.join(SCREENSHOTS, name + ".png")
        self.d.save_screenshot(path)
        return path

    # The log rule.
    def check(self, where, allowed=frozenset()):
        """Fails on any CSP report, any "Refused to", any SEVERE entry but the allowed
        (path, status) load failures of this step; records what it let through."""
        problems = []
        for entry in self.d.get_log("browser"):
            message, level = entry["message"], entry["level"]
            if "Content Security Policy" in message or "Refused to" in message:
                problems.append(f"{level}: {message}")
                continue
            if level != "SEVERE":
                NOTED.append((self.name, where, f"{level}: {message}"))
                continue
            failure = LOAD_FAILURE.match(message)
            if failure:
                url = urllib.parse.urlsplit(failure.group(1))
                if url.netloc == f"localhost:{PORT}" and (url.path, int(failure.group(2))) in allowed:
                    ALLOWED_SEEN.append((self.name, where, message))
                    continue
            problems.append(f"{level}: {message}")
        try:
            violations = self.js("return window.__zakopsCspViolations || [];")
        except Exception:
            violations = []
        problems += [f"securitypolicyviolation: {v}" for v in violations]
        if problems:
            raise AssertionError(f"{self.name} at {where} ({self.d.current_url}): console problems:\n  " + "\n  ".join(problems))

    def sign_in(self, email, password, where="sign-in"):
        """Signs in through the form (from a signed-out page) and waits for the board."""
        self.go("/sign-in")
        self.find("signin-email").send_keys(email)
        self.find("signin-password").send_keys(password)
        self.find("signin-submit").click()
        self.find("deal-board")
        self.check(where, SIGNED_OUT)

    def sign_out(self):
        self.find("sign-out").click()
        self.find("signin-form")


class BrowserTest(unittest.TestCase):
    """Keeps browsers for the class and quits them at the end, after a last log check."""

    browsers = ()

    @classmethod
    def open_browser(cls, name, **kwargs):
        browser = Browser(name, **kwargs)
        cls.browsers = (*cls.browsers, browser)
        return browser

    @classmethod
    def tearDownClass(cls):
        problems = []
        for browser in cls.browsers:
            try:
                browser.check("the end of the class")
            except AssertionError as error:
                problems.append(str(error))
            browser.quit()
        cls.browsers = ()
        if problems:
            raise AssertionError("\n".join(problems))
