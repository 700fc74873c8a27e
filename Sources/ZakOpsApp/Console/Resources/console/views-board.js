// The deal board (one column per stage, in pipeline order), its search and filters, and the
// form that creates a deal. Live events move, add and remove cards without reloading.

import { h, replace, field, select, money, randomKey } from "./dom.js";
import { get, request } from "./api.js";
import { session } from "./session.js";
import * as live from "./live.js";
import { navigate, href } from "./router.js";
import { STAGES, DEAL_STATUSES, label, dealName, dealMatches } from "./model.js";
import { heading, errorSlot, busy, notify, badge } from "./ui.js";
import { dealFields } from "./deal-form.js";

const PAGE = 200;
const AUTO_PAGES = 5;

export function boardView(ctx) {
  const filters = { q: ctx.query.q || "", status: ctx.query.status || "", stage: ctx.query.stage || "" };
  const deals = new Map();
  let cursor = null;

  const search = h("input", { type: "search", name: "q", value: filters.q, testid: "deal-search", maxlength: "200" });
  const status = select({ name: "status", testid: "deal-filter-status" }, [["", "Any status"], ...DEAL_STATUSES.map((s) => [s, label(s)])], filters.status);
  const stage = select({ name: "stage", testid: "deal-filter-stage" }, [["", "Every stage"], ...STAGES.map((s) => [s, label(s)])], filters.stage);
  const form = h("form", { role: "search", class: "toolbar", testid: "deal-filters", "aria-label": "Find deals" },
    field("Search names", search), field("Status", status), field("Stage", stage),
    h("div", { class: "toolbar-actions" },
      h("button", { type: "submit", testid: "deal-filter-submit" }, "Apply"),
      h("a", { href: "#/deals", testid: "deal-filter-reset", class: "button-link secondary" }, "Clear")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate("/deals", { q: search.value.trim(), status: status.value, stage: stage.value });
  });

  const summary = h("p", { class: "muted", testid: "deal-count" });
  const errors = errorSlot();
  const more = h("button", { type: "button", class: "secondary", testid: "load-more-deals", hidden: true }, "Load more deals");
  more.addEventListener("click", () => load(false));

  const columns = new Map();
  const board = h("div", { class: "board", testid: "deal-board" }, STAGES.map((s) => {
    const titleId = `column-${s}`;
    const count = h("span", { class: "count", testid: "column-count" }, "0");
    const list = h("ul", { class: "cards", "aria-labelledby": titleId });
    columns.set(s, { list, count });
    return h("section", { class: "column", testid: "board-column", "data-stage": s, "aria-labelledby": titleId },
      h("h2", { id: titleId }, label(s), " ", count), list);
  }));

  function renderColumns(stages = STAGES) {
    for (const s of stages) {
      const { list, count } = columns.get(s);
      const cards = [...deals.values()].filter((deal) => deal.stage === s).map(card);
      replace(list, cards.length ? cards : h("li", { class: "empty muted" }, "No deals"));
      count.textContent = String(cards.length);
    }
    summary.textContent = `${deals.size} deal${deals.size === 1 ? "" : "s"}${cursor ? " shown; more below" : ""}.`;
  }

  async function load(fresh) {
    if (fresh) {
      deals.clear();
      cursor = null;
    }
    await busy(more, errors, async () => {
      for (let page = 0; page < AUTO_PAGES; page += 1) {
        const answer = await get("/api/deals", { ...filters, limit: PAGE, cursor: cursor || undefined });
        answer.deals.forEach((deal) => deals.set(deal.id, deal));
        cursor = answer.next_cursor || null;
        if (!cursor) break;
      }
    });
    more.hidden = !cursor;
    renderColumns();
  }

  ctx.onCleanup(live.onEvent((event) => {
    if (!event.type.startsWith("deal.") || !event.data || !event.data.id) return;
    const before = deals.get(event.data.id);
    const touched = new Set(before ? [before.stage] : []);
    if (event.type === "deal.deleted") {
      deals.delete(event.data.id);
    } else if (dealMatches(event.data, filters)) {
      // The event's record has no broker; the board shows none, so it is enough here.
      if (before && before.version > event.data.version) return;
      if (before || !cursor) deals.set(event.data.id, { ...before, ...event.data, fresh: true });
      touched.add(event.data.stage);
    } else {
      deals.delete(event.data.id);
    }
    renderColumns([...touched]);
  }));
  ctx.onCleanup(live.onReset(() => load(true)));

  load(true);
  return h("div", { class: "view-board" },
    h("div", { class: "view-head" },
      heading("Deals"),
      session.can("deals:write") ? h("a", { href: "#/deals/new", class: "button-link", testid: "new-deal-link" }, "New deal") : null),
    form, summary, errors, board, more);
}

function card(deal) {
  const name = dealName(deal);
  const item = h("li", null, h("article", {
    class: ["card", deal.fresh && "card-fresh"], testid: "deal-card", "data-deal-id": deal.id, "data-stage": deal.stage, "data-status": deal.status,
  },
  h("h3", null, h("a", { href: href(`/deals/${encodeURIComponent(deal.id)}`), testid: "deal-card-link" }, name)),
  deal.canonical_name && deal.canonical_name !== name ? h("p", { class: "muted" }, deal.canonical_name) : null,
  h("p", { class: "card-meta" },
    badge(label(deal.status), `status-${deal.status}`),
    deal.metrics && typeof deal.metrics.asking_price === "number" ? h("span", null, "Asking ", money(deal.metrics.asking_price)) : null)));
  delete deal.fresh;
  return item;
}

export function createDealView() {
  if (!session.can("deals:write")) {
    return h("div", null, heading("New deal"), h("p", null, "Your role may read deals but not create them."));
  }
  const fields = dealFields({ create: true });
  const errors = errorSlot();
  const submit = h("button", { type: "submit", testid: "deal-create-submit" }, "Create the deal");
  // One key per form: submitting twice (a double click, a retry after a timeout) creates one deal.
  let idempotencyKey = randomKey();
  const form = h("form", { class: "form", testid: "deal-create-form", novalidate: true }, fields.element, errors,
    h("div", { class: "actions" }, submit, h("a", { href: "#/deals", class: "button-link secondary" }, "Cancel")));
  form.addEventListener("input", () => {
    idempotencyKey = randomKey();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = await busy(submit, errors, async () => {
      const body = fields.createBody();
      return (await request("POST", "/api/deals", { body, idempotencyKey })).data;
    });
    if (created) {
      notify(`Deal “${dealName(created)}” created.`);
      navigate(`/deals/${encodeURIComponent(created.id)}`);
    }
  });
  return h("div", { class: "view-create" }, heading("New deal"), form);
}
