// The audit trail (newest first, paged, filtered) with the chain's verification, and the
// built-in alerts.

import { h, replace, dl, time, field } from "./dom.js";
import { get } from "./api.js";
import { session } from "./session.js";
import { errorSlot, busy, badge, button, section } from "./ui.js";

export function auditSection() {
  return [session.can("admin:system") ? verifyPanel() : null, trailPanel()];
}

function verifyPanel() {
  const errors = errorSlot();
  const status = h("div", { testid: "audit-verify", "data-ok": "unknown", role: "status" }, "Verifying…");
  const run = async () => {
    replace(status, "Verifying…");
    status.setAttribute("data-ok", "unknown");
    const answer = await busy(again, errors, () => get("/api/admin/audit/verify"));
    if (!answer) return replace(status, "Not verified.");
    status.setAttribute("data-ok", String(answer.ok));
    replace(status,
      answer.ok
        ? h("p", { class: "ok" }, badge("Intact", "ok"), ` The chain verifies: ${answer.checked} entries checked${answer.unsigned ? `, ${answer.unsigned} older unsigned entries not verifiable` : ""}.`)
        : h("p", { class: "bad" }, badge("Broken", "danger"), ` The chain is broken: entry #${answer.problem.seq} was ${answer.problem.kind}${answer.problem.id ? ` (${answer.problem.id})` : ""}. ${answer.problem.detail}`),
      dl([
        ["Head", `#${answer.head_seq}`],
        ["Chain starts at", `#${answer.chain_start}`],
        ["Last retention checkpoint", answer.checkpoint ? [`#${answer.checkpoint.seq}, ${answer.checkpoint.purged} purged, `, time(answer.checkpoint.created_at)] : null],
      ]));
  };
  const again = button("Verify again", run, { testid: "audit-verify-run", class: "secondary" });
  run();
  return section("Tamper evidence", h("p", null, "Each entry's signature covers its content and the entry before it."), status, again, errors);
}

function trailPanel() {
  const errors = errorSlot();
  const inputs = {
    actor_id: h("input", { type: "text", testid: "audit-filter-actor", autocomplete: "off" }),
    action: h("input", { type: "text", testid: "audit-filter-action", placeholder: "deal.updated", autocomplete: "off" }),
    target_kind: h("input", { type: "text", testid: "audit-filter-target-kind", placeholder: "deal", autocomplete: "off" }),
    target_id: h("input", { type: "text", testid: "audit-filter-target-id", autocomplete: "off" }),
    since: h("input", { type: "datetime-local", testid: "audit-filter-since" }),
    until: h("input", { type: "datetime-local", testid: "audit-filter-until" }),
  };
  const rows = h("tbody");
  const more = button("Older entries", () => load(false), { testid: "audit-next-page", class: "secondary", hidden: true });
  let cursor = null;

  const query = () => {
    const q = {};
    for (const key of ["actor_id", "action", "target_kind", "target_id"]) q[key] = inputs[key].value.trim() || undefined;
    // The API takes UTC times written exactly as 2026-01-31T12:00:00.000Z.
    for (const key of ["since", "until"]) q[key] = inputs[key].value ? new Date(inputs[key].value).toISOString() : undefined;
    return q;
  };

  async function load(fresh) {
    if (fresh) {
      replace(rows);
      cursor = null;
    }
    const page = await busy(more, errors, () => get("/api/admin/audit", { ...query(), limit: 50, cursor: cursor || undefined }));
    if (!page) return;
    page.entries.forEach((entry) => rows.appendChild(entryRow(entry)));
    if (!rows.children.length) rows.appendChild(h("tr", null, h("td", { colspan: "6", class: "muted" }, "No entries match.")));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
  }

  const form = h("form", { class: "toolbar", testid: "audit-filters" },
    field("Actor id", inputs.actor_id), field("Action", inputs.action), field("Target kind", inputs.target_kind),
    field("Target id", inputs.target_id), field("From (local time)", inputs.since), field("Until (local time)", inputs.until),
    h("div", { class: "toolbar-actions" }, h("button", { type: "submit", testid: "audit-filter-submit" }, "Filter")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true);
  });

  load(true);
  return section("Audit log", form, errors,
    h("div", { class: "table-wrap" }, h("table", { testid: "audit-table" },
      h("thead", null, h("tr", null, ["When", "Actor", "Action", "Target", "Changes", "Request"].map((t) => h("th", { scope: "col" }, t)))),
      rows)),
    more);
}

function entryRow(entry) {
  const changes = Object.entries(entry.changes || {});
  return h("tr", { testid: "audit-entry", "data-id": entry.id, "data-action": entry.action },
    h("td", null, time(entry.occurred_at)),
    h("td", null, h("span", { class: "muted" }, entry.actor_kind), " ", entry.actor_id),
    h("td", null, h("code", null, entry.action)),
    h("td", null, h("span", { class: "muted" }, entry.target_kind), " ", entry.target_id),
    h("td", null, changes.length
      ? h("ul", { class: "plain changes" }, changes.map(([key, change]) => h("li", null, h("strong", null, key), ": ", show(change && change.before), " → ", show(change && change.after))))
      : h("span", { class: "muted" }, "—")),
    h("td", null, entry.request_id ? h("code", null, entry.request_id) : "—", entry.client_ip ? h("div", { class: "muted" }, entry.client_ip) : null));
}

function show(value) {
  if (value === undefined) return "∅";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 120 ? text.slice(0, 117) + "…" : text;
}

export function alertsSection() {
  const errors = errorSlot();
  const list = h("ul", { class: "plain alerts", testid: "alerts-list" });
  const order = { firing: 0, pending: 1, inactive: 2 };
  const load = async () => {
    const answer = await busy(null, errors, () => get("/api/admin/alerts"));
    if (!answer) return;
    const alerts = [...answer.alerts].sort((a, b) => (order[a.status.state] ?? 3) - (order[b.status.state] ?? 3) || a.name.localeCompare(b.name));
    replace(list, alerts.map((alert) => h("li", { testid: "alert-item", "data-name": alert.name, "data-state": alert.status.state, class: `alert-${alert.status.state}` },
      h("h3", null, alert.name, " ", badge(alert.status.state, alert.status.state === "firing" ? "danger" : alert.status.state === "pending" ? "warning" : "ok"), " ", badge(alert.severity, alert.severity === "critical" ? "danger" : "warning")),
      h("p", null, alert.summary),
      dl([
        ["Value", alert.status.value === null || alert.status.value === undefined ? null : String(alert.status.value)],
        ["Condition since", alert.status.active_since ? time(alert.status.active_since) : null],
        ["Fired", alert.status.fired_at ? time(alert.status.fired_at) : null],
        ["Resolved", alert.status.resolved_at ? time(alert.status.resolved_at) : null],
        ["Evaluated", alert.status.evaluated_at ? time(alert.status.evaluated_at) : null],
        ["Runbook", h("code", null, alert.runbook)],
        ["Evaluated by", alert.embedded ? "the server" : "Prometheus only"],
      ]))));
  };
  load();
  return section("Alerts", h("p", null, "The built-in alert rules and their state."), errors, list,
    button("Refresh", load, { class: "secondary", testid: "alerts-refresh" }));
}
