// Shared pieces of the views: error boxes, notices, busy buttons, typed confirmations,
// the show-once secret box.

import { h, replace, field } from "./dom.js";

/** An error as the operator sees it: the server's message, the field, the request id. */
export function errorBox(error) {
  const message = error && error.message ? error.message : "Something went wrong.";
  const parts = [h("p", { testid: "error-message" }, message)];
  if (error && error.field) parts.push(h("p", { class: "muted" }, `Field: ${error.field}${error.detail ? ` (${error.detail})` : ""}`));
  else if (error && error.detail) parts.push(h("p", { class: "muted" }, error.detail));
  if (error && error.retryAfter) parts.push(h("p", { class: "muted" }, `Try again in ${error.retryAfter} s.`));
  if (error && error.requestId) {
    parts.push(h("p", { class: "muted" }, "Request id for support: ", h("code", { testid: "error-request-id" }, error.requestId)));
  }
  return h("div", { class: "error", role: "alert", testid: "error", "data-code": error && error.code }, parts);
}

/** A slot that shows one error (or nothing) in place. */
export function errorSlot() {
  const slot = h("div", { class: "error-slot" });
  slot.show = (error) => replace(slot, error ? errorBox(error) : null);
  slot.clear = () => replace(slot);
  return slot;
}

let noticeRegion = null;
export function setNoticeRegion(el) {
  noticeRegion = el;
}

/** A short message read out by screen readers (the aria-live region) and shown briefly. */
export function notify(text, kind = "info") {
  if (!noticeRegion) return;
  const item = h("p", { class: ["notice", `notice-${kind}`], testid: "notice" }, text);
  noticeRegion.appendChild(item);
  // A burst (many live events) keeps the newest few on screen.
  while (noticeRegion.children.length > 3) noticeRegion.firstElementChild.remove();
  setTimeout(() => item.remove(), 8000);
}

/**
 * Runs `task` with `button` disabled, showing errors in `slot`. Resolves to the task's value,
 * or undefined when it failed (the error is shown).
 */
export async function busy(button, slot, task) {
  if (button) button.disabled = true;
  if (slot) slot.clear();
  try {
    return await task();
  } catch (error) {
    if (slot) slot.show(error);
    else notify(error.message || "Something went wrong.", "error");
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** A button. */
export function button(text, onClick, attrs = {}) {
  return h("button", { type: "button", ...attrs, onClick }, text);
}

/** A page heading that receives focus when the view opens (screen readers hear the change). */
export function heading(text, attrs = {}) {
  return h("h1", { tabindex: "-1", class: "view-title", ...attrs }, text);
}

/** A section with its own heading. */
export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", null, title), children);
}

/**
 * A typed confirmation: the action button stays disabled until the input holds `word`
 * exactly. `ready()` tells whether the earlier step (a dry run) has been done.
 */
export function typedConfirmation(word, testPrefix, ready = () => true) {
  const input = h("input", { type: "text", autocomplete: "off", spellcheck: "false", testid: `${testPrefix}-confirm-input` });
  const wrap = h("div", { class: "confirm" },
    h("p", null, "To confirm, type ", h("strong", { testid: `${testPrefix}-confirm-word`, class: "confirm-word" }, word), " below."),
    field(`Type ${word} to confirm`, input));
  wrap.matches = () => ready() && input.value.trim() === word;
  wrap.input = input;
  wrap.reset = () => { input.value = ""; };
  return wrap;
}

/** A secret shown once (an API key): read-only, with a copy button, gone when dismissed. */
export function secretOnce(title, secret, testPrefix) {
  const output = h("input", { type: "text", readonly: true, value: secret, testid: `${testPrefix}-value`, class: "secret", spellcheck: "false" });
  const status = h("span", { class: "muted", role: "status" });
  const box = h("div", { class: "secret-box", testid: testPrefix, role: "region", "aria-label": title },
    h("h3", null, title),
    h("p", null, "It is shown this once: copy it now. The server keeps only its hash."),
    field("Secret", output),
    h("div", { class: "actions" },
      button("Copy", async () => {
        status.textContent = (await copyText(secret, output)) ? "Copied." : "Copy failed: select the text and copy it.";
      }, { testid: `${testPrefix}-copy` }),
      button("I have stored it", () => box.remove(), { testid: `${testPrefix}-dismiss` }),
      status));
  return box;
}

async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    input.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    }
  }
}

/** A small status badge. */
export function badge(text, kind, attrs = {}) {
  return h("span", { class: ["badge", kind && `badge-${kind}`], ...attrs }, text);
}
