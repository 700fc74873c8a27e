// The one way the console builds its page: elements and text nodes only. Whatever came from
// the server becomes a Text node or an attribute value, never markup, so a deal named
// `<img src=x onerror=alert(1)>` shows exactly those characters (the checklist's output
// encoding). The CSP forbids inline handlers and styles, so h() refuses them as well.

const forbidden = new Set(["style", "innerhtml", "outerhtml", "srcdoc"]);

/** Creates `tag` with attributes (`class`, `testid`, `onClick`-style listeners, properties
 * `value`/`checked`/`selected`, others as attributes) and children (nodes, strings, arrays). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    const lower = key.toLowerCase();
    if (forbidden.has(lower)) throw new Error(`h(): ${key} is not allowed`);
    if (lower.startsWith("on")) {
      // Listeners only as functions: a string would be an inline handler.
      if (typeof value !== "function") throw new Error(`h(): ${key} must be a function`);
      el.addEventListener(lower.slice(2), value);
    } else if (key === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value);
    } else if (key === "testid") {
      el.setAttribute("data-testid", String(value));
    } else if (key === "value" || key === "checked" || key === "selected") {
      el[key] = key === "value" ? String(value) : Boolean(value);
    } else if (key === "href") {
      el.setAttribute("href", safeHref(String(value)));
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children: nodes as they are, anything else as text. */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces every child of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Links stay inside the console or go to plain web addresses; never `javascript:`.
function safeHref(href) {
  return /^(#|\/(?!\/)|https?:\/\/)/i.test(href) ? href : "#/";
}

let counter = 0;
/** A unique element id, for label/input pairs and aria references. */
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled form control: the label is tied to the control by id. */
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintEl = h("small", { class: "hint", id: uid("hint") }, hint);
    control.setAttribute("aria-describedby", hintEl.id);
    parts.push(hintEl);
  }
  return h("div", { class: "field" }, parts);
}

/** A <select> with `options` as [value, label] pairs (or plain values). */
export function select(attrs, options, current) {
  return h("select", attrs, options.map((option) => {
    const [value, label] = Array.isArray(option) ? option : [option, option];
    return h("option", { value, selected: value === current }, label);
  }));
}

/** A definition list of [term, value] pairs, skipping empty values. */
export function dl(pairs, attrs) {
  return h("dl", { class: "facts", ...attrs }, pairs
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([term, value, testid]) => [h("dt", null, term), h("dd", { testid }, value)]));
}

/** A time element showing a server timestamp in the reader's locale. */
export function time(stamp) {
  if (!stamp) return "—";
  const date = new Date(stamp);
  const text = Number.isNaN(date.getTime()) ? String(stamp) : date.toLocaleString();
  return h("time", { datetime: String(stamp), title: String(stamp) }, text);
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
/** A money figure (no currency is recorded, so none is shown). */
export function money(value) {
  return typeof value === "number" ? numberFormat.format(value) : "—";
}

/** A random Idempotency-Key: a retried submission of the same form creates nothing twice. */
export function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
