"""Scenario 9: another site, `http://attacker.localhost:OTHERPORT/` (a page this test serves;
Chromium resolves *.localhost to the loopback address), open in the same browser while the
victim is signed in to the console. Its script cannot read the API (CORS: the credentialed
fetch rejects, a no-cors one is opaque), and neither a fetch POST nor an auto-submitted form
can create a deal: the count of deals, read as the administrator, is unchanged, and the
server's log shows it refused what reached it. The attacker's page is not under ZakOps's CSP:
it runs inline script. It cannot frame the console either (frame-ancestors 'none')."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import ATTACKER_PORT, BASE, OLGA, Api, BrowserTest, ensure_admin_ready, serve_log_lines

ATTACKER = f"http://attacker.localhost:{ATTACKER_PORT}"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Totally harmless</title></head>
<body>
<h1>Cute cats</h1>
<iframe name="sink" id="sink" title="sink"></iframe>
<iframe id="framed" title="framed" src="TARGET/console/"></iframe>
<form id="forged" method="post" action="TARGET/api/deals" enctype="text/plain" target="sink">
  <input type="hidden" name='{"canonical_name":"Forged by a form","x":"' value='"}'>
</form>
<script>
const target = "TARGET";
const results = {};
async function attempt(name, run) {
  try {
    results[name] = await run();
  } catch (error) {
    results[name] = {outcome: "rejected", error: String(error)};
  }
}
async function attack() {
  // Read the victim's deals with the victim's cookie.
  await attempt("read", async () => {
    const response = await fetch(target + "/api/deals", {credentials: "include"});
    return {outcome: "read", status: response.status, body: await response.text()};
  });
  // The same without CORS: the browser hands back an opaque answer.
  await attempt("read_no_cors", async () => {
    const response = await fetch(target + "/api/deals", {credentials: "include", mode: "no-cors"});
    return {outcome: "answered", type: response.type, status: response.status, body: await response.text()};
  });
  // A "simple" POST (no preflight): it reaches the server.
  await attempt("post_simple", async () => {
    const response = await fetch(target + "/api/deals", {
      method: "POST", credentials: "include", mode: "no-cors",
      headers: {"Content-Type": "text/plain"}, body: JSON.stringify({canonical_name: "Forged by a simple fetch"}),
    });
    return {outcome: "answered", type: response.type, status: response.status};
  });
  // A JSON POST: the preflight is refused, the POST is never sent.
  await attempt("post_json", async () => {
    const response = await fetch(target + "/api/deals", {
      method: "POST", credentials: "include",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({canonical_name: "Forged by a JSON fetch"}),
    });
    return {outcome: "answered", status: response.status, body: await response.text()};
  });
  // The classic: an auto-submitted form (into the frame; its answer may not be framed).
  await new Promise((resolve) => {
    const sink = document.getElementById("sink");
    sink.addEventListener("load", resolve, {once: true});
    setTimeout(resolve, 3000);
    document.getElementById("forged").submit();
  });
  results.form = {outcome: "submitted"};
  window.__attack = results;
}
attack();
</script>
</body></html>
"""


class AttackerSite(BaseHTTPRequestHandler):
    def do_GET(self):
        body = PAGE.replace("TARGET", BASE).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class CrossSite(BrowserTest):
    @classmethod
    def setUpClass(cls):
        ensure_admin_ready()
        cls.server = ThreadingHTTPServer(("127.0.0.1", ATTACKER_PORT), AttackerSite)
        cls.server.daemon_threads = True
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.api = Api.admin()
        cls.b = cls.open_browser("victim")
        cls.b.sign_in(*OLGA)

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        super().tearDownClass()

    def test_another_site_can_neither_read_nor_write(self):
        b = self.b
        b.live()
        console_tab = b.d.current_window_handle
        before = self.api.count_deals()
        time.sleep(0.3)  # the server writes its log in small batches
        log_before = len(serve_log_lines())
        b.check("board")

        b.d.switch_to.new_window("tab")
        b.d.get(ATTACKER + "/")
        results = b.until(lambda: b.js("return window.__attack || null;"), timeout=20, what="the attacker page's attempts")
        # The attacker's own console (CORS errors, the refused frame) is not the console's: read and put aside.
        attacker_log = []

        def framing_refused():
            attacker_log.extend(entry["message"] for entry in b.d.get_log("browser"))
            return [line for line in attacker_log if "Framing 'http://localhost:" in line and "frame-ancestors 'none'" in line]
        b.until(framing_refused, what="the refusal to frame the console")
        print("   attacker page:", json.dumps(results, sort_keys=True))
        for line in attacker_log:
            print("   attacker page log:", line[:220])

        # Nor can it frame the console (clickjacking): frame-ancestors 'none' refuses it.
        self.assertIsNone(b.js("try { return document.getElementById('framed').contentDocument; } catch (e) { return null; }"))

        # Nothing read: the credentialed fetch rejects (no Access-Control-Allow-Origin) …
        self.assertEqual(results["read"]["outcome"], "rejected", results["read"])
        # … and the no-cors one is opaque: no status, no body.
        self.assertEqual((results["read_no_cors"]["type"], results["read_no_cors"]["status"], results["read_no_cors"]["body"]),
                         ("opaque", 0, ""))
        self.assertEqual((results["post_simple"]["type"], results["post_simple"]["status"]), ("opaque", 0))
        self.assertEqual(results["post_json"]["outcome"], "rejected", results["post_json"])
        self.assertEqual(results["form"]["outcome"], "submitted")

        # What reached the server: the framed console page (served, but not shown: see above);
        # the two reads, which came without the session cookie (SameSite=Strict: 401); the two
        # POSTs that left the browser (the simple fetch and the form), refused as cross-site
        # (403, before routing: "unmatched"). The JSON POST never left the browser (its preflight
        # got no CORS grant).
        time.sleep(0.3)  # the server writes its log in small batches
        lines = serve_log_lines()[log_before:]
        requests = [(line.get("method"), line.get("status"), line.get("route")) for line in lines if line.get("msg") == "request"]
        self.assertEqual(sorted(r for r in requests if r[0] != "OPTIONS"),
                         [("GET", 200, "/console"), ("GET", 401, "/api/deals"), ("GET", 401, "/api/deals"),
                          ("POST", 403, "unmatched"), ("POST", 403, "unmatched")])
        refused = [line.get("reason") for line in lines if line.get("event") == "csrf_refused"]
        self.assertEqual(len(refused), 2, refused)
        self.assertTrue(set(refused) <= {"cross_origin", "cross_site_fetch"}, refused)

        # Nothing written.
        self.assertEqual(self.api.count_deals(), before)
        self.assertEqual(self.api.get("/api/deals?q=Forged")["deals"], [])

        # The victim's console is unharmed and still signed in.
        b.d.close()
        b.d.switch_to.window(console_tab)
        b.go("/deals")
        b.find("deal-board")
        self.assertEqual(b.find("current-user").text, "Olga Operator (operator)")
        b.check("board after the visit")
