// The console's entry module: the header, the routes, and the session's life cycle
// (boot → sign-in → forced password change → the views; 401 anywhere → sign-in again).

import { h, replace } from "./dom.js";
import { setHooks } from "./api.js";
import { session, loadSession, signOut, forget } from "./session.js";
import * as live from "./live.js";
import { route, parse, match, navigate } from "./router.js";
import { setNoticeRegion, notify, errorBox, heading, button } from "./ui.js";
import { signInView, forgotPasswordView, resetPasswordView, changePasswordView } from "./views-auth.js";
import { boardView, createDealView } from "./views-board.js";
import { dealView } from "./views-deal.js";
import { approvalsView } from "./views-approvals.js";
import { accountView } from "./views-account.js";
import { adminView } from "./views-admin.js";

const main = document.getElementById("main");
const top = document.getElementById("top");
setNoticeRegion(document.getElementById("notices"));

route("/sign-in", signInView, { public: true });
route("/forgot-password", forgotPasswordView, { public: true });
route("/reset-password", resetPasswordView, { public: true, always: true });
route("/change-password", changePasswordView, { pending: true });
route("/deals", boardView);
route("/deals/new", createDealView);
route("/deals/:id", dealView);
route("/approvals", approvalsView);
route("/account", accountView);
route("/admin", adminView, { admin: true });
route("/admin/:section", adminView, { admin: true });

let current = { cleanups: [] };
let rendered = false;
let afterSignIn = null;
let resetToken = null;

// What views may ask of the shell.
const app = {
  async signedIn() {
    if (session.principal.must_reset_password) {
      navigate("/change-password");
      return;
    }
    live.start();
    const next = afterSignIn;
    afterSignIn = null;
    if (next) location.hash = next;
    else navigate("/deals");
  },
  // The session ended on the server (a playbook, a revocation): back to sign-in.
  signedOut(message) {
    forget();
    live.stop();
    if (message) notify(message, "warning");
    navigate("/sign-in");
  },
  resetToken: () => resetToken,
  clearResetToken() {
    resetToken = null;
  },
};

setHooks({
  unauthorized() {
    if (!session.principal) return;
    afterSignIn = location.hash;
    app.signedOut("Your session has ended. Sign in again.");
  },
  async resetRequired() {
    await loadSession().catch(() => null);
    navigate("/change-password");
  },
});

function renderTop() {
  const principal = session.principal;
  if (!principal) {
    replace(top, h("div", { class: "brand" }, "ZakOps"));
    return;
  }
  const path = parse(location.hash).path;
  const link = (target, text, testid) =>
    h("a", { href: "#" + target, testid, "aria-current": path.startsWith(target) ? "page" : undefined }, text);
  const pending = principal.must_reset_password;
  const status = h("span", { class: "live-status", testid: "live-status", role: "status" });
  const fallback = h("p", { class: "fallback-notice", testid: "live-fallback-notice", hidden: true });
  const nav = pending ? null : h("nav", { "aria-label": "Main" }, h("ul", null,
    h("li", null, link("/deals", "Deals", "nav-deals")),
    h("li", null, link("/approvals", "Approvals", "nav-approvals")),
    session.isAdmin ? h("li", null, link("/admin", "Administration", "nav-admin")) : null,
    h("li", null, link("/account", "Account", "nav-account"))));
  replace(top,
    h("div", { class: "topbar-row" },
      h("a", { class: "brand", href: "#/deals" }, "ZakOps"),
      nav,
      h("div", { class: "who" },
        pending ? null : status,
        h("span", { testid: "current-user", class: "muted" }, `${principal.name} (${principal.role})`),
        button("Sign out", onSignOut, { testid: "sign-out", class: "secondary" }))),
    fallback);
  if (unwatchLive) unwatchLive();
  unwatchLive = live.onStatus((state, detail) => {
    status.setAttribute("data-state", state);
    status.textContent = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", polling: "Polling", offline: "Offline" }[state] || state;
    fallback.hidden = state !== "polling";
    fallback.textContent = state === "polling"
      ? `Live updates paused: polling every few seconds${detail ? ` (${detail})` : ""}. The live stream will be tried again shortly.`
      : "";
  });
}
let unwatchLive = null;

async function onSignOut() {
  await signOut();
  live.stop();
  notify("Signed out.");
  navigate("/sign-in");
}

function cleanup() {
  current.cleanups.forEach((fn) => {
    try {
      fn();
    } catch (error) {
      console.error(error);
    }
  });
  current = { cleanups: [] };
}

function render() {
  let hash = location.hash;
  // An e-mailed link (…#token=…): keep the token in memory and out of the address bar.
  if (hash.startsWith("#token=")) {
    resetToken = new URLSearchParams(hash.slice(1)).get("token");
    history.replaceState(null, "", location.pathname + "#/reset-password");
    hash = "#/reset-password";
  }
  if (!hash.startsWith("#/")) hash = session.principal ? "#/deals" : "#/sign-in";
  const { path, query } = parse(hash);
  const found = match(path);
  const principal = session.principal;

  if (!principal && !(found && found.route.public)) {
    if (found) afterSignIn = hash;
    return navigate("/sign-in");
  }
  if (principal && principal.must_reset_password && !(found && (found.route.pending || found.route.always))) {
    return navigate("/change-password");
  }
  if (principal && found && found.route.public && !found.route.always) return navigate("/deals");
  if (principal && found && found.route.pending && !principal.must_reset_password) return navigate("/deals");

  cleanup();
  renderTop();
  let view;
  if (!found) {
    view = h("div", null, heading("Not found"), h("p", null, "There is no such page. ", h("a", { href: "#/deals" }, "Go to the deals.")));
  } else if (found.route.admin && !session.isAdmin) {
    view = h("div", null, heading("Not allowed"), h("p", null, "This page is for administrators."));
  } else {
    const ctx = {
      params: found.params,
      query,
      app,
      onCleanup: (fn) => current.cleanups.push(fn),
    };
    try {
      view = found.route.view(ctx);
    } catch (error) {
      console.error(error);
      view = h("div", null, heading("Something went wrong"), errorBox(error));
    }
  }
  replace(main, view);
  const title = main.querySelector("h1");
  document.title = `${title ? title.textContent : "ZakOps"} · ZakOps console`;
  // Focus the new view's heading so keyboard and screen-reader users start there, except on
  // the first load, where the first Tab should reach the skip link.
  if (title && rendered) title.focus();
  rendered = true;
}

// The skip link targets <main> without touching the hash the router reads.
document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});

async function boot() {
  try {
    await loadSession();
  } catch (error) {
    replace(main, heading("The console could not start"), errorBox(error));
    return;
  }
  if (session.principal && !session.principal.must_reset_password) live.start();
  window.addEventListener("hashchange", () => {
    // Only the router's own addresses: "#main" and the like are in-page anchors.
    if (location.hash.startsWith("#/") || location.hash.startsWith("#token=")) render();
  });
  render();
}

boot();
