// Delivery operations: the outbox (pause, resume), its dead-letter queue (retry, delete,
// purge) and the event stream's overload controls (stats, shed, degraded mode).

import { h, replace, dl, time, field } from "./dom.js";
import { get, post, del, seg } from "./api.js";
import { errorSlot, busy, notify, button, section, typedConfirmation } from "./ui.js";

export function deliverySection() {
  return [outboxPanel(), dlqPanel()];
}

function outboxPanel() {
  const errors = errorSlot();
  const status = h("div", { testid: "outbox-status" });
  const show = (answer) => {
    status.setAttribute("data-paused", String(answer.paused));
    replace(status,
      h("p", null, "Delivery is ", h("strong", null, answer.paused ? "paused" : "running"), answer.paused ? " on every instance (events are still queued)." : "."),
      dl([
        ...Object.entries(answer.counts).map(([name, count]) => [name.charAt(0).toUpperCase() + name.slice(1), String(count), `outbox-count-${name}`]),
        ["Oldest pending", answer.oldest_pending_at ? time(answer.oldest_pending_at) : null],
      ]));
    pause.disabled = answer.paused;
    resume.disabled = !answer.paused;
  };
  const load = async () => {
    const answer = await busy(null, errors, () => get("/api/admin/outbox/status"));
    if (answer) show(answer);
  };
  const pause = button("Pause delivery", async () => {
    const answer = await busy(pause, errors, () => post("/api/admin/outbox/pause"));
    if (answer) {
      show(answer);
      notify("Outbox delivery paused.");
    }
  }, { testid: "outbox-pause", class: "danger" });
  const resume = button("Resume delivery", async () => {
    const answer = await busy(resume, errors, () => post("/api/admin/outbox/resume"));
    if (answer) {
      show(answer);
      notify("Outbox delivery resumed.");
    }
  }, { testid: "outbox-resume" });
  load();
  return section("Outbox", h("p", null, "Webhooks and mail leave through the outbox."), status,
    h("div", { class: "actions" }, pause, resume, button("Refresh", load, { class: "secondary", testid: "outbox-refresh" })), errors);
}

function dlqPanel() {
  const errors = errorSlot();
  const stats = h("div", { testid: "dlq-stats" });
  const rows = h("tbody");
  const consumer = h("input", { type: "text", testid: "dlq-filter-consumer", placeholder: "webhook:wh_…", autocomplete: "off" });
  const eventType = h("input", { type: "text", testid: "dlq-filter-event-type", placeholder: "deal.created", autocomplete: "off" });
  const more = button("Load more", () => loadPage(false), { testid: "dlq-load-more", class: "secondary", hidden: true });
  let cursor = null;
  const filters = () => ({ consumer: consumer.value.trim() || undefined, event_type: eventType.value.trim() || undefined });

  async function loadStats() {
    const answer = await busy(null, errors, () => get("/api/admin/dlq/stats"));
    if (!answer) return;
    stats.setAttribute("data-total", String(answer.total));
    replace(stats,
      h("p", null, h("strong", { testid: "dlq-total" }, String(answer.total)), " dead deliveries."),
      answer.groups.length ? h("div", { class: "table-wrap" }, h("table", null,
        h("thead", null, h("tr", null, ["Consumer", "Event type", "Count", "Oldest"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", null, answer.groups.map((g) => h("tr", null, h("td", null, g.consumer), h("td", null, g.event_type), h("td", null, String(g.count)), h("td", null, time(g.oldest_created_at))))))) : null);
  }

  async function loadPage(fresh) {
    if (fresh) {
      replace(rows);
      cursor = null;
    }
    const page = await busy(more, errors, () => get("/api/admin/dlq", { ...filters(), limit: 50, cursor: cursor || undefined }));
    if (!page) return;
    page.entries.forEach((entry) => rows.appendChild(entryRow(entry)));
    if (!rows.children.length) rows.appendChild(h("tr", null, h("td", { colspan: "7", class: "muted" }, "The dead-letter queue is empty.")));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
  }

  const reload = () => {
    loadStats();
    loadPage(true);
  };

  function entryRow(entry) {
    const retry = button("Retry", async () => {
      const done = await busy(retry, errors, async () => {
        await post(`/api/admin/dlq/${seg(entry.id)}/retry`);
        return true;
      });
      if (done) {
        notify(`${entry.id} is queued again.`);
        reload();
      }
    }, { testid: "dlq-retry" });
    const remove = button("Delete", async () => {
      const done = await busy(remove, errors, async () => {
        await del(`/api/admin/dlq/${seg(entry.id)}`);
        return true;
      });
      if (done) {
        notify(`${entry.id} deleted.`);
        reload();
      }
    }, { testid: "dlq-delete", class: "danger" });
    return h("tr", { testid: "dlq-entry", "data-id": entry.id },
      h("td", null, h("code", null, entry.id)),
      h("td", null, entry.consumer),
      h("td", null, entry.event_type),
      h("td", null, String(entry.attempts)),
      h("td", null, entry.last_error || "—"),
      h("td", null, time(entry.created_at), h("div", { class: "muted" }, `${entry.payload_bytes} bytes`)),
      h("td", null, h("div", { class: "actions wrap" }, retry, remove)));
  }

  const filterForm = h("form", { class: "toolbar", testid: "dlq-filters" },
    field("Consumer", consumer), field("Event type", eventType),
    h("div", { class: "toolbar-actions" }, h("button", { type: "submit", testid: "dlq-filter-submit" }, "Filter")));
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    loadPage(true);
  });

  const retryAll = button("Retry every matching dead delivery", async () => {
    const answer = await busy(retryAll, errors, () => post("/api/admin/dlq/retry", filters()));
    if (answer) {
      notify(`${answer.count} deliveries queued again.`);
      reload();
    }
  }, { testid: "dlq-retry-all" });

  const before = h("input", { type: "datetime-local", testid: "dlq-purge-before" });
  const confirm = typedConfirmation("PURGE", "dlq-purge", () => Boolean(before.value));
  const purge = button("Purge", async () => {
    if (!confirm.matches()) return;
    const olderThan = new Date(before.value).toISOString();
    const answer = await busy(purge, errors, () => post("/api/admin/dlq/purge", { older_than: olderThan }));
    if (answer) {
      confirm.reset();
      purge.disabled = true;
      notify(`${answer.count} dead deliveries deleted.`);
      reload();
    }
  }, { testid: "dlq-purge", class: "danger", disabled: true });
  const refreshPurge = () => {
    purge.disabled = !confirm.matches();
  };
  confirm.input.addEventListener("input", refreshPurge);
  before.addEventListener("input", refreshPurge);

  reload();
  return section("Dead-letter queue",
    h("p", null, "Deliveries that failed every attempt. Payloads are never shown, only their size."),
    stats, filterForm, errors,
    h("div", { class: "table-wrap" }, h("table", { testid: "dlq-list" },
      h("thead", null, h("tr", null, ["Id", "Consumer", "Event type", "Attempts", "Last error", "Queued", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      rows)),
    more,
    h("div", { class: "actions" }, retryAll, button("Refresh", reload, { class: "secondary", testid: "dlq-refresh" })),
    h("h3", null, "Purge"),
    field("Delete the dead deliveries queued before (local time)", before),
    confirm, purge);
}

export function streamSection() {
  const errors = errorSlot();
  const stats = h("div", { testid: "sse-stats" });
  const load = async () => {
    const answer = await busy(null, errors, () => get("/api/admin/sse/stats"));
    if (!answer) return;
    const perUser = Object.entries(answer.per_user || {});
    replace(stats,
      dl([
        ["Open streams (this instance)", String(answer.connections), "sse-connections"],
        ["Oldest open for", typeof answer.oldest_age_seconds === "number" ? `${Math.round(answer.oldest_age_seconds)} s` : null],
        ["Sent to polling since start", String(answer.shed_total)],
        ["Closed for reading too slowly", String(answer.slow_disconnects_total)],
      ]),
      perUser.length ? h("div", { class: "table-wrap" }, h("table", null,
        h("thead", null, h("tr", null, h("th", { scope: "col" }, "Principal"), h("th", { scope: "col" }, "Streams"))),
        h("tbody", null, perUser.map(([who, count]) => h("tr", null, h("td", null, who), h("td", null, String(count))))))) : null);
  };

  const count = h("input", { type: "number", min: "1", max: "1000000", inputmode: "numeric", testid: "sse-shed-count" });
  const shed = button("Shed", async () => {
    const value = count.value.trim();
    if (value && !/^[1-9][0-9]{0,6}$/.test(value)) return errors.show({ message: "The count is a whole number from 1 to 1000000 (or empty for every stream)." });
    const answer = await busy(shed, errors, () => post("/api/admin/sse/shed", value ? { count: Number(value) } : {}));
    if (answer) {
      notify(`${answer.shed} stream${answer.shed === 1 ? "" : "s"} sent to polling.`);
      load();
    }
  }, { testid: "sse-shed", class: "danger" });

  // There is no read of the degraded switch: the console shows what it last set.
  const degradedStatus = h("p", { testid: "sse-degraded-status", "data-degraded": "unknown" }, "Degraded mode: not reported by the server until it is set here.");
  const setDegraded = async (enabled, trigger) => {
    const answer = await busy(trigger, errors, () => post("/api/admin/sse/degraded", { enabled }));
    if (!answer) return;
    degradedStatus.setAttribute("data-degraded", String(answer.degraded));
    replace(degradedStatus, "Degraded mode is ", h("strong", null, answer.degraded ? "on" : "off"),
      answer.degraded ? ": streams are refused and clients poll." : ": streams are served.");
    notify(`Degraded mode ${answer.degraded ? "on" : "off"}.`);
    load();
  };
  const on = button("Turn degraded mode on", () => setDegraded(true, on), { testid: "sse-degraded-on", class: "danger" });
  const off = button("Turn degraded mode off", () => setDegraded(false, off), { testid: "sse-degraded-off" });

  load();
  return [
    section("Streams", stats, h("div", { class: "actions" }, button("Refresh", load, { class: "secondary", testid: "sse-refresh" })), errors),
    section("Shed streams",
      h("p", null, "Closes the oldest streams on this instance; each is told to poll instead (this console too, if its stream is among them)."),
      field("How many (empty: every stream)", count), shed),
    section("Degraded mode",
      h("p", null, "On every instance: open streams are sent to polling and new ones refused (503) until it is turned off."),
      degradedStatus, h("div", { class: "actions" }, on, off)),
  ];
}
