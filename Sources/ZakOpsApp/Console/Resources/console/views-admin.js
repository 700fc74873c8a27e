// Administration: the section menu (each section shown only with its permission), users and
// the access review. The other sections live in views-admin-*.js.

import { h, replace, time, field, select, dl } from "./dom.js";
import { get, post, patch, seg } from "./api.js";
import { session } from "./session.js";
import { navigate } from "./router.js";
import { ROLES, USER_STATUSES, label } from "./model.js";
import { heading, errorSlot, busy, notify, badge, button, section } from "./ui.js";
import { incidentsSection } from "./views-admin-incidents.js";
import { deliverySection, streamSection } from "./views-admin-delivery.js";
import { auditSection, alertsSection } from "./views-admin-audit.js";
import { serviceAccountsSection } from "./views-admin-keys.js";

const SECTIONS = [
  { key: "users", title: "Users", permission: "admin:users", view: usersSection },
  { key: "access-review", title: "Access review", permission: "admin:users", view: accessReviewSection },
  { key: "service-accounts", title: "Service accounts & keys", permission: "admin:users", view: serviceAccountsSection },
  { key: "incidents", title: "Incidents", permission: "admin:system", view: incidentsSection },
  { key: "outbox", title: "Outbox & DLQ", permission: "admin:system", view: deliverySection },
  { key: "sse", title: "Event stream", permission: "admin:system", view: streamSection },
  { key: "audit", title: "Audit log", permission: "audit:read", view: auditSection },
  { key: "alerts", title: "Alerts", permission: "admin:system", view: alertsSection },
];

export function adminView(ctx) {
  const allowed = SECTIONS.filter((s) => session.can(s.permission));
  // #/admin alone opens the first section this administrator may use.
  const current = ctx.params.section ? allowed.find((s) => s.key === ctx.params.section) : allowed[0];
  if (!current) {
    return h("div", null, heading("Administration"), h("p", null, "There is no such section, or your role may not use it."));
  }
  const menu = h("nav", { class: "admin-nav", "aria-label": "Administration sections", testid: "admin-nav" },
    h("ul", null, allowed.map((s) => h("li", null, h("a", {
      href: `#/admin/${s.key}`, testid: `admin-nav-${s.key}`, "aria-current": s === current ? "page" : undefined,
    }, s.title)))));
  return h("div", { class: "view-admin" },
    heading(`Administration: ${current.title}`),
    menu,
    h("div", { class: "admin-body" }, current.view(ctx)));
}

function usersSection(ctx) {
  const role = ctx.query.role || "";
  const status = ctx.query.status || "";
  const roleFilter = select({ testid: "users-filter-role" }, [["", "Any role"], ...ROLES.map((r) => [r, label(r)])], role);
  const statusFilter = select({ testid: "users-filter-status" }, [["", "Any status"], ...USER_STATUSES.map((s) => [s, label(s)])], status);
  const applyFilters = () => navigate("/admin/users", { role: roleFilter.value, status: statusFilter.value });
  roleFilter.addEventListener("change", applyFilters);
  statusFilter.addEventListener("change", applyFilters);

  const errors = errorSlot();
  const rows = h("tbody");
  const rowsById = new Map();
  const more = button("Load more", () => load(false), { testid: "users-load-more", class: "secondary", hidden: true });
  let cursor = null;

  function put(user) {
    const row = userRow(user, put, errors);
    const old = rowsById.get(user.id);
    rowsById.set(user.id, row);
    if (old) old.replaceWith(row);
    else rows.appendChild(row);
  }

  async function load(fresh) {
    if (fresh) {
      rowsById.clear();
      replace(rows);
      cursor = null;
    }
    const page = await busy(more, errors, () => get("/api/admin/users", { role, status, limit: 100, cursor: cursor || undefined }));
    if (!page) return;
    page.users.forEach(put);
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
  }

  load(true);
  return [
    section("Invite someone", inviteForm(put)),
    section("People",
      h("div", { class: "toolbar" }, field("Role", roleFilter), field("Status", statusFilter)),
      errors,
      h("div", { class: "table-wrap" }, h("table", { testid: "users-table" },
        h("caption", { class: "visually-hidden" }, "Users"),
        h("thead", null, h("tr", null, ["Name", "E-mail", "Role", "Status", "Two-step", "Last sign-in", "Sessions", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        rows)),
      more),
  ];
}

function inviteForm(onInvited) {
  const email = h("input", { type: "text", inputmode: "email", autocomplete: "off", testid: "user-invite-email" });
  const name = h("input", { type: "text", autocomplete: "off", maxlength: "100", testid: "user-invite-name" });
  const role = select({ testid: "user-invite-role" }, ROLES.map((r) => [r, label(r)]), "operator");
  const submit = h("button", { type: "submit", testid: "user-invite-submit" }, "Send the invitation");
  const errors = errorSlot();
  const form = h("form", { class: "form inline-form", testid: "user-invite-form", novalidate: true },
    field("E-mail", email), field("Name", name), field("Role", role), submit, errors);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value.trim() || !name.value.trim()) return errors.show({ message: "Give the person's e-mail address and name." });
    const user = await busy(submit, errors, () => post("/api/admin/users", { email: email.value.trim(), name: name.value.trim(), role: role.value }));
    if (user) {
      form.reset();
      notify(`Invitation mailed to ${user.email}: the link lets them choose a password (7 days).`);
      onInvited(user);
    }
  });
  return [h("p", null, "The person gets a single-use link by mail and chooses their own password; no password crosses the console."), form];
}

function userRow(user, put, errors) {
  const base = `/api/admin/users/${seg(user.id)}`;
  const outcome = async (trigger, call, done) => {
    const answer = await busy(trigger, errors, call);
    if (!answer) return;
    if (answer.user) put(answer.user);
    notify(done(answer));
  };
  const erased = user.status === "erased";
  const roleSelect = select({ testid: "user-role-select", "aria-label": `Role of ${user.name || user.id}`, disabled: erased }, ROLES.map((r) => [r, label(r)]), user.role);
  const saveRole = button("Save role", () => outcome(saveRole, () => patch(base, { role: roleSelect.value }),
    (a) => (a.changed ? `${a.user.name || a.user.id} is now ${a.user.role}.` : "The role was already so.")), { testid: "user-role-save", class: "secondary", disabled: erased });
  const actions = [];
  const who = user.name || user.id;
  if (user.status === "active") {
    const disable = button("Disable", () => outcome(disable, () => post(`${base}/disable`), () => `${who} is disabled and signed out.`), { testid: "user-disable", class: "danger" });
    const force = button("Force password reset", () => outcome(force, () => post(`${base}/force-reset`), () => `${who} must set a new password (link mailed).`), { testid: "user-force-reset", class: "secondary" });
    actions.push(disable, force);
  } else if (user.status === "disabled" || user.status === "pending") {
    const enable = button(user.status === "pending" ? "Approve" : "Enable", () => outcome(enable, () => post(`${base}/enable`), () => `${who} may sign in.`), { testid: "user-enable" });
    actions.push(enable);
  }
  if (!erased) {
    const end = button("End sessions", () => outcome(end, () => post(`${base}/sessions/revoke`), (a) => `${a.count} session${a.count === 1 ? "" : "s"} ended.`), { testid: "user-revoke-sessions", class: "secondary" });
    actions.push(end);
  }
  return h("tr", { testid: "user-row", "data-user-id": user.id, "data-status": user.status, "data-role": user.role },
    h("td", null, user.name || h("span", { class: "muted" }, user.id)),
    h("td", null, user.email || "—"),
    h("td", null, h("div", { class: "inline" }, roleSelect, saveRole)),
    h("td", null, badge(label(user.status), `user-${user.status}`, { testid: "user-status" }), user.reset_required ? [" ", badge("Reset pending", "warning")] : null),
    h("td", null, user.mfa_enabled ? "On" : "Off"),
    h("td", null, time(user.last_login_at)),
    h("td", null, String(user.open_sessions)),
    h("td", null, h("div", { class: "actions wrap" }, actions)));
}

function accessReviewSection() {
  const errors = errorSlot();
  const summary = h("div");
  const rows = h("tbody");
  const result = h("div", { testid: "access-review-result" });
  let previewed = false;

  async function load() {
    const report = await busy(null, errors, () => get("/api/admin/access-review"));
    if (!report) return;
    replace(summary, dl([
      ["Generated", time(report.generated_at)],
      ["Inactive after", `${report.inactive_days} days`],
      ["Keys too old after", `${report.key_max_age_days} days`],
      ["Flagged", String(report.flagged), "access-review-flagged"],
    ]));
    replace(rows, report.entries.map((entry) => h("tr", { testid: "access-review-entry", "data-id": entry.id, "data-flags": entry.flags.join(" ") },
      h("td", null, entry.kind === "operator" ? "Person" : "Service account"),
      h("td", null, entry.name, entry.email ? h("div", { class: "muted" }, entry.email) : null),
      h("td", null, entry.role),
      h("td", null, entry.status),
      h("td", null, entry.kind === "operator" ? (entry.mfa_enabled ? "On" : "Off") : "—"),
      h("td", null, time(entry.last_activity_at)),
      h("td", null, String(entry.keys.length)),
      h("td", null, entry.flags.length ? entry.flags.map((f) => [badge(label(f), "warning"), " "]) : h("span", { class: "muted" }, "None")))));
  }

  const record = button("Record this review", async () => {
    const answer = await busy(record, errors, () => post("/api/admin/access-review/record"));
    if (answer) notify(`Review recorded${answer.report_id ? ` as ${answer.report_id}` : ""}.`);
  }, { testid: "access-review-record" });
  const preview = button("Preview: who would be disabled", async () => {
    const answer = await busy(preview, errors, () => post("/api/admin/access-review/deprovision", { apply: false }));
    if (!answer) return;
    previewed = true;
    apply.disabled = answer.disabled.length === 0;
    replace(result, deprovisionResult(answer));
  }, { testid: "access-review-deprovision-dry", class: "secondary" });
  const apply = button("Disable the inactive", async () => {
    if (!previewed) return;
    const answer = await busy(apply, errors, () => post("/api/admin/access-review/deprovision", { apply: true }));
    if (!answer) return;
    previewed = false;
    apply.disabled = true;
    replace(result, deprovisionResult(answer));
    notify(`${answer.disabled.length} disabled.`);
    load();
  }, { testid: "access-review-deprovision-apply", class: "danger", disabled: true });

  load();
  return [
    section("Who has access",
      h("p", null, "Every person and service account with role, two-step sign-in, last activity, live keys, and what needs a look."),
      errors, summary,
      h("div", { class: "table-wrap" }, h("table", { testid: "access-review" },
        h("thead", null, h("tr", null, ["Kind", "Name", "Role", "Status", "Two-step", "Last activity", "Live keys", "Flags"].map((t) => h("th", { scope: "col" }, t)))),
        rows)),
      h("div", { class: "actions" }, record)),
    section("Deprovision the inactive",
      h("p", null, "Preview first; then disable those flagged inactive (the last active administrator is always kept)."),
      h("div", { class: "actions" }, preview, apply), result),
  ];
}

function deprovisionResult(answer) {
  return h("div", { class: "callout" },
    h("p", null, answer.dry_run ? "Would disable:" : "Disabled:", " ", answer.disabled.length ? answer.disabled.join(", ") : "nobody"),
    answer.kept.length ? h("p", null, "Kept (the last active administrator): ", answer.kept.join(", ")) : null);
}
