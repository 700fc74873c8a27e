// The approval queue: actions agents proposed, with their risk, approved or rejected (with a
// reason) by a person. A decision taken elsewhere updates the item live.

import { h, replace, dl, time, field, select } from "./dom.js";
import { get, post, seg } from "./api.js";
import { session } from "./session.js";
import * as live from "./live.js";
import { navigate } from "./router.js";
import { ACTION_STATUSES, label } from "./model.js";
import { heading, errorSlot, busy, notify, badge, button } from "./ui.js";

/** One line about an action (title, risk, status), for lists elsewhere. */
export function actionSummary(action) {
  return [
    h("a", { href: "#/approvals?status=" + encodeURIComponent(action.status) }, action.title),
    " ", badge(label(action.risk), `risk-${action.risk}`), " ", badge(label(action.status), `action-${action.status}`),
  ];
}

export function approvalsView(ctx) {
  const status = ctx.query.status || "pending_approval";
  const items = new Map();
  let cursor = null;

  const filter = select({ testid: "approvals-filter-status" }, ACTION_STATUSES.map((s) => [s, s === "pending_approval" ? "Waiting for a decision" : label(s)]), status);
  filter.addEventListener("change", () => navigate("/approvals", { status: filter.value === "pending_approval" ? "" : filter.value }));
  const queue = h("ul", { class: "queue", testid: "approval-queue", "aria-live": "off" });
  const errors = errorSlot();
  const more = button("Load more", () => load(false), { testid: "load-more-actions", class: "secondary", hidden: true });
  const empty = h("p", { class: "muted", testid: "approval-queue-empty", hidden: true }, "Nothing here.");

  function put(action) {
    const node = item(action, onDecided);
    const old = items.get(action.id);
    items.set(action.id, { action, node });
    if (old) old.node.replaceWith(node);
    else queue.appendChild(node);
    empty.hidden = items.size > 0;
  }

  function onDecided(action) {
    put(action);
  }

  async function load(fresh) {
    if (fresh) {
      items.clear();
      replace(queue);
      cursor = null;
    }
    const page = await busy(more, errors, () => get("/api/actions", { status, limit: 100, cursor: cursor || undefined }));
    if (!page) return;
    page.actions.forEach(put);
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    empty.hidden = items.size > 0;
  }

  ctx.onCleanup(live.onEvent((event) => {
    if (!event.type.startsWith("action.") || !event.data || !event.data.id) return;
    const action = event.data;
    const known = items.get(action.id);
    if (known) {
      if (known.action.status === action.status) return;
      put(action);
      // One's own decision is announced by its answer; here only others' decisions.
      const mine = action.decided_by && session.principal && action.decided_by === session.principal.id;
      if (known.action.status === "pending_approval" && action.status !== "pending_approval" && !mine) {
        const who = action.decided_by ? ` by ${action.decided_by}` : "";
        notify(`“${action.title}” was ${label(action.status).toLowerCase()}${who}.`);
      }
    } else if (action.status === status && !cursor) {
      put(action);
      if (status === "pending_approval") notify(`New action waiting for a decision: “${action.title}” (${action.risk} risk).`);
    }
  }));
  ctx.onCleanup(live.onReset(() => load(true)));

  load(true);
  return h("div", { class: "view-approvals" },
    heading("Approvals"),
    h("p", null, session.can("actions:approve")
      ? "Actions agents proposed, waiting for a person. Check the risk and the inputs before deciding."
      : "Actions agents proposed. Your role may read them; an operator or administrator decides."),
    h("div", { class: "toolbar" }, field("Show", filter)),
    errors, queue, empty, more);
}

function item(action, onDecided) {
  const pending = action.status === "pending_approval";
  const errors = errorSlot();
  const controls = pending && session.can("actions:approve") ? decisionControls(action, errors, onDecided) : null;
  const headingId = `action-${action.id}`;
  return h("li", null, h("article", {
    class: ["action", `risk-border-${action.risk}`], testid: "approval-item", "data-action-id": action.id,
    "data-status": action.status, "data-risk": action.risk, "aria-labelledby": headingId,
  },
  h("h2", { id: headingId }, action.title),
  h("p", { class: "badges" },
    badge(`${label(action.risk)} risk`, `risk-${action.risk}`, { testid: "approval-risk" }), " ",
    badge(label(action.status), `action-${action.status}`, { testid: "approval-status" }), " ",
    h("span", { class: "muted" }, label(action.type))),
  h("p", { class: "summary" }, action.summary),
  dl([
    ["Deal", h("a", { href: `#/deals/${encodeURIComponent(action.deal_id)}` }, action.deal_id)],
    ["Proposed by", action.proposed_by],
    ["Proposed", time(action.created_at)],
    ["Expires", pending ? time(action.expires_at) : null],
    ["Decided by", action.decided_by, "approval-decided-by"],
    ["Decided", action.decided_at ? time(action.decided_at) : null],
    ["Reason", action.decision_reason],
  ]),
  h("details", { class: "inputs" }, h("summary", null, "Inputs"), inputsList(action.inputs)),
  controls, errors));
}

function inputsList(inputs) {
  const entries = Object.entries(inputs || {});
  if (!entries.length) return h("p", { class: "muted" }, "None.");
  return dl(entries.map(([key, value]) => [label(key), typeof value === "string" ? value : JSON.stringify(value)]), { class: "facts inputs-list" });
}

function decisionControls(action, errors, onDecided) {
  const reason = h("input", { type: "text", maxlength: "200", testid: "reject-reason", autocomplete: "off" });
  const base = `/api/actions/${seg(action.id)}`;
  const decide = async (trigger, path, body) => {
    const decided = await busy(trigger, errors, async () => {
      try {
        return await post(path, body);
      } catch (error) {
        // Decided elsewhere first (409): show that decision.
        if (error.code === "CONFLICT") {
          const current = await get(base);
          onDecided(current);
          notify(`Already decided: ${label(current.status).toLowerCase()}${current.decided_by ? ` by ${current.decided_by}` : ""}.`, "warning");
          return null;
        }
        throw error;
      }
    });
    if (decided) {
      notify(`“${decided.title}” ${label(decided.status).toLowerCase()}.`);
      onDecided(decided);
    }
  };
  const approve = button("Approve", () => decide(approve, `${base}/approve`), { testid: "approve-button" });
  const reject = button("Reject", () => {
    if (!reason.value.trim()) {
      errors.show({ message: "Give a reason for the rejection: the proposer reads it." });
      reason.setAttribute("aria-invalid", "true");
      reason.focus();
      return;
    }
    reason.removeAttribute("aria-invalid");
    decide(reject, `${base}/reject`, { reason: reason.value.trim() });
  }, { testid: "reject-button", class: "danger" });
  return h("div", { class: "decision" },
    h("div", { class: "actions" }, approve),
    field("Reason for rejecting", reason),
    h("div", { class: "actions" }, reject));
}
