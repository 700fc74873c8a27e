// The signed-in person's own account: who they are, their sessions (sign out one, or every
// other), their password, and two-step sign-in with an authenticator app.

import { h, replace, dl, time, field } from "./dom.js";
import { get, post, del, seg } from "./api.js";
import { session } from "./session.js";
import { heading, errorSlot, busy, notify, button, section } from "./ui.js";
import { passwordChangeForm, username } from "./views-auth.js";

export function accountView() {
  const principal = session.principal;
  const list = h("ul", { class: "plain sessions", testid: "sessions-list" });
  const errors = errorSlot();

  async function loadSessions() {
    const answer = await busy(null, errors, () => get("/api/auth/sessions"));
    if (!answer) return;
    replace(list, answer.sessions.map((item) => sessionItem(item, loadSessions)));
  }

  const others = button("Sign out everywhere else", async () => {
    const done = await busy(others, errors, async () => {
      await post("/api/auth/sessions/revoke-others");
      return true;
    });
    if (done) {
      notify("Every other session is signed out.");
      loadSessions();
    }
  }, { testid: "revoke-other-sessions" });

  loadSessions();
  return h("div", { class: "view-account" },
    heading("Your account"),
    section("Profile", dl([
      ["Name", principal.name, "account-name"],
      ["E-mail", principal.email, "account-email"],
      ["Role", principal.role, "account-role"],
      ["Id", principal.id],
    ])),
    section("Sessions",
      h("p", null, "Where you are signed in. A session ends after 24 hours, or sooner when unused."),
      errors, list, h("div", { class: "actions" }, others)),
    section("Password",
      h("p", null, "Changing it signs out your other sessions."),
      passwordChangeForm(() => {
        notify("Your password is changed. Your other sessions were signed out.");
        loadSessions();
      })),
    section("Two-step sign-in", twoStep()));
}

function sessionItem(item, reload) {
  const errors = errorSlot();
  const revoke = item.current ? null : button("Sign out this session", async () => {
    const done = await busy(revoke, errors, async () => {
      await del(`/api/auth/sessions/${seg(item.id)}`);
      return true;
    });
    if (done) {
      notify("That session is signed out.");
      reload();
    }
  }, { testid: "session-revoke", class: "secondary" });
  return h("li", { testid: "session-item", "data-session-id": item.id, "data-current": String(item.current) },
    h("p", null, h("strong", null, item.current ? "This session" : "Another session"), " ", h("code", { class: "muted" }, item.id)),
    dl([
      ["Signed in", time(item.created_at)],
      ["Last seen", time(item.last_seen_at)],
      ["Address", item.client_ip],
      ["Browser", item.user_agent],
    ]),
    revoke, errors);
}

// /api/auth/me does not say whether codes are on: both forms are offered, and the server's
// answer (409 when already in that state) says the rest.
function twoStep() {
  const errors = errorSlot();
  const password = h("input", { type: "password", autocomplete: "current-password", testid: "mfa-setup-password" });
  const start = h("button", { type: "submit", testid: "mfa-setup-submit" }, "Set up an authenticator app");
  const pending = h("div");
  const setup = h("form", { class: "form narrow", testid: "mfa-setup-form", novalidate: true },
    h("h3", null, "Turn on"), username(), field("Your password", password), start, pending);
  setup.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answer = await busy(start, errors, () => post("/api/auth/mfa/totp/setup", { password: password.value }, { quiet: true }));
    if (!answer) return;
    password.value = "";
    const code = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", testid: "mfa-confirm-code" });
    const confirm = button("Turn on two-step sign-in", async () => {
      const done = await busy(confirm, errors, async () => {
        await post("/api/auth/mfa/totp/confirm", { code: code.value.trim() }, { quiet: true });
        return true;
      });
      if (done) {
        replace(pending, h("p", { class: "callout", role: "status" }, "Two-step sign-in is on. Your other sessions were signed out."));
      }
    }, { testid: "mfa-confirm-submit" });
    replace(pending,
      h("p", null, "Add this secret to your authenticator app (as a time-based code), then enter the code it shows:"),
      h("p", null, h("code", { class: "secret", testid: "mfa-secret" }, answer.secret)),
      h("details", null, h("summary", null, "The otpauth:// address (for apps that import one)"),
        h("p", null, h("code", { class: "wrap-anywhere", testid: "mfa-otpauth" }, answer.otpauth_url))),
      field("Code from the app", code), confirm);
    code.focus();
  });

  const offPassword = h("input", { type: "password", autocomplete: "current-password", testid: "mfa-disable-password" });
  const offCode = h("input", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6", testid: "mfa-disable-code" });
  const off = h("button", { type: "submit", testid: "mfa-disable-submit", class: "secondary" }, "Turn off two-step sign-in");
  const disable = h("form", { class: "form narrow", testid: "mfa-disable-form", novalidate: true },
    h("h3", null, "Turn off"), username(), field("Your password", offPassword), field("Current code", offCode), off);
  disable.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await busy(off, errors, async () => {
      await post("/api/auth/mfa/totp/disable", { password: offPassword.value, code: offCode.value.trim() }, { quiet: true });
      return true;
    });
    if (done) {
      disable.reset();
      notify("Two-step sign-in is off. Your other sessions were signed out.");
    }
  });

  return h("div", null,
    h("p", null, "With two-step sign-in, signing in also needs the 6-digit code of an authenticator app."),
    errors, h("div", { class: "columns-2" }, setup, disable));
}
