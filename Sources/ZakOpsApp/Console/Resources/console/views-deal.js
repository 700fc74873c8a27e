// One deal: its fields, the moves its stage allows, the edit form (If-Match with the version
// read; a 412 shows the current values), its timeline and its actions, all kept current by
// live events.

import { h, replace, dl, time, money, field } from "./dom.js";
import { request, get, post, del, seg } from "./api.js";
import { session } from "./session.js";
import * as live from "./live.js";
import { navigate } from "./router.js";
import { label, dealName } from "./model.js";
import { heading, errorSlot, busy, notify, badge, button, section } from "./ui.js";
import { dealFields } from "./deal-form.js";
import { actionSummary } from "./views-approvals.js";

const TRACKED = ["canonical_name", "display_name", "stage", "status", "metrics", "company_info"];

export function dealView(ctx) {
  const id = ctx.params.id;
  const base = `/api/deals/${seg(id)}`;
  const state = { deal: null, etag: null, transitions: null, events: [], actions: [], gone: false };

  const title = heading("Deal", { testid: "deal-title" });
  const subtitle = h("p", { class: "deal-sub" });
  const pageErrors = errorSlot();
  const details = h("div");
  const moves = h("div");
  const timeline = h("ol", { class: "timeline", testid: "timeline" });
  const actionsList = h("ul", { class: "plain", testid: "deal-actions" });

  // The edit form keeps the version it was filled from: a save sends that in If-Match.
  const fields = dealFields({ create: false });
  const editErrors = errorSlot();
  const conflict = h("div", { class: "callout conflict", testid: "deal-conflict", role: "alert", hidden: true });
  const save = h("button", { type: "submit", testid: "deal-edit-submit" }, "Save changes");
  const editForm = h("form", { class: "form", testid: "deal-edit-form", novalidate: true }, conflict, fields.element, editErrors, save);
  let formEtag = null;
  let dirty = false;
  editForm.addEventListener("input", () => {
    dirty = true;
  });
  editForm.addEventListener("submit", (event) => {
    event.preventDefault();
    saveEdits();
  });

  function fillForm(deal, etag) {
    fields.fill(deal);
    formEtag = etag;
    dirty = false;
    conflict.hidden = true;
  }

  async function saveEdits() {
    const done = await busy(save, editErrors, async () => {
      const body = fields.patchBody();
      if (!Object.keys(body).length) {
        notify("Nothing changed.");
        return null;
      }
      try {
        return await request("PATCH", base, { body, ifMatch: formEtag });
      } catch (error) {
        if (error.code === "PRECONDITION_FAILED") {
          await showConflict();
          return null;
        }
        throw error;
      }
    });
    if (done) {
      adopt(done.data, done.etag);
      fillForm(done.data, state.etag);
      notify("Changes saved.");
    }
  }

  // Someone saved in between: show what the deal holds now; the typed values stay until reload.
  async function showConflict() {
    const current = await request("GET", base);
    adopt(current.data, current.etag);
    const reload = button("Reload the current values", () => {
      fillForm(state.deal, state.etag);
      fields.inputs.canonical_name.focus();
    }, { testid: "deal-conflict-reload" });
    replace(conflict,
      h("h3", null, "Someone changed this deal; reload"),
      h("p", null, `Another change was saved since you opened the form (the deal is now at version ${current.data.version}). Nothing of yours was saved. These are the current values:`),
      h("div", { testid: "deal-conflict-current" }, facts(current.data)),
      reload);
    conflict.hidden = false;
    conflict.scrollIntoView({ block: "nearest" });
  }

  function adopt(deal, etag) {
    state.deal = deal;
    state.etag = etag || `"${deal.version}"`;
    title.textContent = dealName(deal);
    document.title = `${dealName(deal)} · ZakOps console`;
    replace(subtitle, h("code", null, deal.id), " ",
      badge(label(deal.stage), "stage", { testid: "deal-stage", "data-stage": deal.stage }), " ",
      badge(label(deal.status), `status-${deal.status}`, { testid: "deal-status", "data-status": deal.status }));
    replace(details, facts(deal));
  }

  function renderMoves() {
    const transitions = state.transitions;
    if (!transitions || !session.can("deals:write")) return replace(moves);
    const reason = h("input", { type: "text", maxlength: "200", testid: "transition-reason" });
    const errors = errorSlot();
    const buttons = transitions.valid_next_stages.map((next) => button(`Move to ${label(next)}`, async (event) => {
      const moved = await busy(event.currentTarget, errors, () =>
        post(`${base}/transition`, { to_stage: next, reason: reason.value.trim() || undefined }));
      if (!moved) return;
      notify(`Moved to ${label(moved.stage)}.`);
      adopt(moved);
      if (!dirty) fillForm(moved, state.etag);
      await refreshTransitions();
    }, { testid: "transition-button", "data-to-stage": next, class: next === "closed_lost" || next === "archived" ? "secondary" : undefined }));
    replace(moves,
      h("p", null, "Current stage: ", h("strong", null, label(transitions.stage))),
      buttons.length
        ? [field("Reason (optional, kept with the move)", reason), h("div", { class: "actions wrap" }, buttons)]
        : h("p", { class: "muted" }, "This stage is final: the deal cannot move."),
      errors);
  }

  async function refreshTransitions() {
    state.transitions = await get(`${base}/transitions`);
    renderMoves();
  }

  function renderTimeline() {
    let previous = null;
    const items = state.events.map((event) => {
      const item = timelineEntry(event, previous);
      if (event.data && event.type !== "deal.deleted") previous = event.data;
      return item;
    });
    replace(timeline, items.length ? items.reverse() : h("li", { class: "muted" }, "No events yet."));
  }

  function renderActions() {
    replace(actionsList, state.actions.length
      ? state.actions.map((action) => h("li", { testid: "deal-action", "data-action-id": action.id, "data-status": action.status }, actionSummary(action)))
      : h("li", { class: "muted" }, "No actions proposed for this deal."));
  }

  async function load() {
    pageErrors.clear();
    try {
      const [deal, transitions, events, actions] = await Promise.all([
        request("GET", base),
        get(`${base}/transitions`),
        get(`${base}/events`),
        session.can("actions:read") ? get("/api/actions", { deal_id: id, limit: 50 }) : Promise.resolve({ actions: [] }),
      ]);
      adopt(deal.data, deal.etag);
      fillForm(deal.data, state.etag);
      state.transitions = transitions;
      state.events = events.events;
      state.actions = actions.actions;
      renderMoves();
      renderTimeline();
      renderActions();
    } catch (error) {
      if (error.code === "NOT_FOUND") {
        title.textContent = "Deal not found";
        replace(body, h("p", null, "There is no such deal, or it was deleted. ", h("a", { href: "#/deals" }, "Back to the board.")));
      } else {
        pageErrors.show(error);
      }
    }
  }

  ctx.onCleanup(live.onEvent(async (event) => {
    if (state.gone || !state.deal) return;
    if (event.type.startsWith("deal.") && event.data && event.data.id === id) {
      if (!state.events.some((known) => known.sequence === event.sequence)) {
        state.events.push(event);
        state.events.sort((a, b) => a.sequence - b.sequence);
        renderTimeline();
      }
      if (event.type === "deal.deleted") {
        state.gone = true;
        replace(body, h("p", { class: "callout", role: "alert", testid: "deal-deleted" }, "This deal was deleted. ", h("a", { href: "#/deals" }, "Back to the board.")));
        return;
      }
      if (event.data.version > state.deal.version) {
        // The event has no broker and no ETag: read the deal itself.
        const stageChanged = event.data.stage !== state.deal.stage;
        try {
          const fresh = await request("GET", base);
          adopt(fresh.data, fresh.etag);
          if (!dirty) fillForm(fresh.data, state.etag);
          if (stageChanged) await refreshTransitions();
        } catch {
          // Shown at the next action; the page stays usable.
        }
      }
    } else if (event.type.startsWith("action.") && event.data && event.data.deal_id === id) {
      const index = state.actions.findIndex((action) => action.id === event.data.id);
      if (index >= 0) state.actions[index] = event.data;
      else state.actions.push(event.data);
      renderActions();
    }
  }));
  ctx.onCleanup(live.onReset(() => load()));

  const sections = [
    section("Details", details),
    session.can("deals:write") ? section("Move along the pipeline", moves) : null,
    session.can("deals:write") ? section("Edit", editForm) : null,
    section("Timeline", timeline),
    session.can("actions:read") ? section("Actions on this deal", actionsList) : null,
    session.can("deals:delete") ? section("Delete", deleteControl(base, () => {
      state.gone = true;
      notify("Deal deleted.");
      navigate("/deals");
    })) : null,
  ];
  const body = h("div", { class: "deal-body" }, sections);
  load();
  return h("div", { class: "view-deal" },
    h("p", null, h("a", { href: "#/deals" }, "← Board")),
    title, subtitle, pageErrors, body);
}

function facts(deal) {
  const metrics = deal.metrics || {};
  const info = deal.company_info && Object.keys(deal.company_info).length
    ? h("pre", { class: "json" }, JSON.stringify(deal.company_info, null, 2)) : null;
  return dl([
    ["Canonical name", deal.canonical_name, "deal-canonical-name"],
    ["Display name", deal.display_name, "deal-display-name"],
    ["Stage", label(deal.stage)],
    ["Status", label(deal.status)],
    ["Broker", deal.broker ? [deal.broker.name, deal.broker.name && deal.broker.email ? " · " : "", deal.broker.email].filter(Boolean).join("") : "None", "deal-broker"],
    ["Asking price", money(metrics.asking_price), "deal-asking-price"],
    ["EBITDA", money(metrics.ebitda)],
    ["Revenue", money(metrics.revenue)],
    ["Company information", info],
    ["Version", String(deal.version), "deal-version"],
    ["Created", time(deal.created_at)],
    ["Updated", time(deal.updated_at)],
  ]);
}

function timelineEntry(event, previous) {
  const data = event.data || {};
  let what;
  if (event.type === "deal.created") what = `Created at ${label(data.stage)}`;
  else if (event.type === "deal.stage_changed") what = `Stage ${previous ? label(previous.stage) + " → " : "→ "}${label(data.stage)}`;
  else if (event.type === "deal.deleted") what = "Deleted";
  else {
    const changed = previous ? TRACKED.filter((key) => JSON.stringify(previous[key]) !== JSON.stringify(data[key])) : [];
    what = changed.length ? `Updated: ${changed.map(label).join(", ")}` : "Updated";
  }
  return h("li", { testid: "timeline-entry", "data-sequence": String(event.sequence), "data-type": event.type },
    h("span", { class: "timeline-what" }, what),
    " ",
    h("span", { class: "muted" }, event.occurred_at ? time(event.occurred_at) : "", data.version ? ` · version ${data.version}` : "", ` · #${event.sequence}`));
}

function deleteControl(base, onDeleted) {
  const errors = errorSlot();
  const confirmBox = h("div", { class: "confirm", hidden: true });
  const start = button("Delete this deal", () => {
    confirmBox.hidden = false;
    yes.focus();
  }, { testid: "deal-delete", class: "danger" });
  const yes = button("Yes, delete it", async () => {
    const done = await busy(yes, errors, async () => {
      await del(base);
      return true;
    });
    if (done) onDeleted();
  }, { testid: "deal-delete-confirm", class: "danger" });
  const no = button("Keep it", () => {
    confirmBox.hidden = true;
    start.focus();
  }, { class: "secondary" });
  confirmBox.append(h("p", null, "The deal disappears from the board and its page (its history stays in the audit trail)."), yes, " ", no);
  return h("div", null, start, confirmBox, errors);
}
