// The deal's editable fields, shared by the create and edit forms, and the request bodies
// built from them (CreateDealRequest, UpdateDealRequest: only what changed is sent).

import { h, field, select } from "./dom.js";
import { WORKING_STAGES, DEAL_STATUSES, label } from "./model.js";

const FIGURES = [["asking_price", "Asking price"], ["ebitda", "EBITDA"], ["revenue", "Revenue"]];

/** A client-side refusal, shown like the server's (message and field). */
export class FormProblem extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

/** The fields; `create` adds the starting stage. Returns { element, fill(deal), read(), inputs }. */
export function dealFields({ create }) {
  const input = (name, attrs = {}) => h("input", { type: "text", name, testid: `deal-field-${name}`, ...attrs });
  const inputs = {
    canonical_name: input("canonical_name", { required: true, maxlength: "200", autocomplete: "off" }),
    display_name: input("display_name", { maxlength: "200", autocomplete: "off" }),
    stage: create ? select({ name: "stage", testid: "deal-field-stage" }, WORKING_STAGES.map((s) => [s, label(s)]), "inbound") : null,
    status: select({ name: "status", testid: "deal-field-status" }, DEAL_STATUSES.map((s) => [s, label(s)]), "active"),
    broker_name: input("broker_name", { autocomplete: "off" }),
    broker_email: input("broker_email", { inputmode: "email", autocomplete: "off" }),
    asking_price: input("asking_price", { inputmode: "decimal" }),
    ebitda: input("ebitda", { inputmode: "decimal" }),
    revenue: input("revenue", { inputmode: "decimal" }),
    company_info: h("textarea", { name: "company_info", rows: "5", testid: "deal-field-company_info", spellcheck: "false" }),
  };
  const element = h("div", { class: "deal-fields" },
    h("fieldset", null, h("legend", null, "Deal"),
      field("Name (canonical)", inputs.canonical_name, "1 to 200 characters."),
      field("Display name", inputs.display_name, create ? "Optional; the canonical name when left empty." : undefined),
      inputs.stage ? field("Starting stage", inputs.stage) : null,
      field("Status", inputs.status)),
    h("fieldset", null, h("legend", null, "Broker"),
      field("Broker name", inputs.broker_name),
      field("Broker e-mail", inputs.broker_email, "Both empty: no broker.")),
    h("fieldset", null, h("legend", null, "Figures"),
      FIGURES.map(([name, text]) => field(text, inputs[name], "A plain number such as 1250000.50; empty clears it."))),
    h("fieldset", null, h("legend", null, "Company information"),
      field("Company information (JSON object)", inputs.company_info, "A JSON object, at most 5 levels deep and 16 KB.")));

  let baseline = null;
  function fill(deal) {
    baseline = deal;
    inputs.canonical_name.value = deal.canonical_name || "";
    inputs.display_name.value = deal.display_name || "";
    inputs.status.value = deal.status || "active";
    inputs.broker_name.value = (deal.broker && deal.broker.name) || "";
    inputs.broker_email.value = (deal.broker && deal.broker.email) || "";
    for (const [name] of FIGURES) inputs[name].value = figureText(deal.metrics && deal.metrics[name]);
    inputs.company_info.value = companyText(deal.company_info);
  }

  /** The body of POST /api/deals. */
  function createBody() {
    const body = { canonical_name: required(inputs.canonical_name.value, "canonical_name", "Give the deal a name.") };
    const display = inputs.display_name.value.trim();
    if (display) body.display_name = display;
    body.stage = inputs.stage.value;
    body.status = inputs.status.value;
    const broker = brokerInput();
    if (broker) body.broker = broker;
    const metrics = {};
    for (const [name, text] of FIGURES) {
      const value = figure(inputs[name].value, name, text);
      if (value !== null) metrics[name] = value;
    }
    if (Object.keys(metrics).length) body.metrics = metrics;
    const info = companyInfo(inputs.company_info.value);
    if (info) body.company_info = info;
    return body;
  }

  /** The body of PATCH /api/deals/{id}: the fields that differ from the deal the form was filled with. */
  function patchBody() {
    const deal = baseline;
    const body = {};
    const name = required(inputs.canonical_name.value, "canonical_name", "The deal needs a name.");
    if (name !== deal.canonical_name) body.canonical_name = name;
    const display = inputs.display_name.value.trim();
    if (display !== (deal.display_name || "")) {
      if (!display) throw new FormProblem("The display name cannot be emptied; give one.", "display_name");
      body.display_name = display;
    }
    if (inputs.status.value !== deal.status) body.status = inputs.status.value;
    const broker = brokerInput();
    const before = deal.broker || {};
    const after = broker || {};
    if ((before.name || "") !== (after.name || "") || (before.email || "") !== (after.email || "")) {
      body.broker = broker; // null removes the broker
    }
    const metrics = {};
    for (const [key, text] of FIGURES) {
      const value = figure(inputs[key].value, key, text);
      const old = deal.metrics && typeof deal.metrics[key] === "number" ? deal.metrics[key] : null;
      if (value !== old) metrics[key] = value; // null clears it
    }
    if (Object.keys(metrics).length) body.metrics = metrics;
    if (inputs.company_info.value.trim() !== companyText(deal.company_info).trim()) {
      body.company_info = companyInfo(inputs.company_info.value) || {};
    }
    return body;
  }

  function brokerInput() {
    const broker = {};
    const brokerName = inputs.broker_name.value.trim();
    const brokerEmail = inputs.broker_email.value.trim();
    if (brokerName) broker.name = brokerName;
    if (brokerEmail) {
      if (!/^[^@\s]+@[^@\s]+$/.test(brokerEmail)) throw new FormProblem("The broker's e-mail needs one @ with text on both sides.", "broker.email");
      broker.email = brokerEmail;
    }
    return Object.keys(broker).length ? broker : null;
  }

  return { element, fill, createBody, patchBody, inputs };
}

function required(value, name, message) {
  const text = value.trim();
  if (!text) throw new FormProblem(message, name);
  return text;
}

function figureText(value) {
  return typeof value === "number" ? String(value) : "";
}

// The server refuses strings such as "$1,000": only plain decimal numbers are sent.
function figure(text, name, title) {
  const value = text.trim();
  if (!value) return null;
  if (!/^-?[0-9]+(\.[0-9]+)?$/.test(value)) throw new FormProblem(`${title} must be a plain number such as 1250000.50 (no currency sign or separators).`, `metrics.${name}`);
  return Number(value);
}

function companyText(info) {
  return info && Object.keys(info).length ? JSON.stringify(info, null, 2) : "";
}

function companyInfo(text) {
  if (!text.trim()) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FormProblem("Company information must be valid JSON, such as {\"sector\": \"software\"}.", "company_info");
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new FormProblem("Company information must be a JSON object ({…}).", "company_info");
  }
  return value;
}
