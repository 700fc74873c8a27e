// The incident playbooks: each one is run dry first (counted in a transaction that is rolled
// back), then for real only after the operator types the word shown; and the lockdown switch.

import { h, replace, dl, time, field, select, uid } from "./dom.js";
import { get, post } from "./api.js";
import { session } from "./session.js";
import { ROLES, label } from "./model.js";
import { errorSlot, busy, notify, badge, button, section, typedConfirmation } from "./ui.js";

export function incidentsSection(ctx) {
  return [
    lockdownPanel(),
    playbook(ctx, {
      key: "auth-breach",
      title: "Authentication breach",
      word: "BREACH",
      path: "/api/admin/incidents/auth-breach",
      description: "Ends every session on every instance (yours too), refuses every CSRF token issued before, forces every active person to choose a new password (one mail each), and stores the access report. Optionally revokes every API key.",
      options: () => {
        const revokeKeys = h("input", { type: "checkbox", id: uid("check"), testid: "playbook-revoke-keys" });
        const since = h("input", { type: "datetime-local", testid: "playbook-since" });
        return {
          nodes: [
            h("div", { class: "field check" }, revokeKeys, h("label", { for: revokeKeys.id }, "Also revoke every API key")),
            field("Access report from (local time; empty: the last 7 days)", since),
          ],
          inputs: [revokeKeys, since],
          values: () => ({ revoke_keys: revokeKeys.checked, since: since.value ? new Date(since.value).toISOString() : undefined }),
        };
      },
      endsSession: () => true,
      result: breachResult,
    }),
    playbook(ctx, {
      key: "revoke-sessions",
      title: "End sessions",
      word: "SESSIONS",
      path: "/api/admin/incidents/revoke-sessions",
      description: "Ends every session on every instance, or those of one role. API keys are untouched.",
      options: () => {
        const role = select({ testid: "playbook-role" }, [["", "Every role (yours too)"], ...ROLES.map((r) => [r, label(r)])], "");
        return { nodes: [field("Whose sessions", role)], inputs: [role], values: () => ({ role: role.value || undefined }) };
      },
      endsSession: (values) => !values.role || values.role === session.principal.role,
      result: countResult("session", "ended", "would end"),
    }),
    playbook(ctx, {
      key: "revoke-keys",
      title: "Revoke every API key",
      word: "KEYS",
      path: "/api/admin/incidents/revoke-keys",
      description: "Revokes every live API key; service accounts stay and may get new keys.",
      endsSession: () => false,
      result: countResult("key", "revoked", "would be revoked"),
    }),
    playbook(ctx, {
      key: "force-reset",
      title: "Force every password reset",
      word: "RESET",
      path: "/api/admin/incidents/force-reset",
      description: "Every active person must choose a new password by the link mailed to them; their sessions end (yours too).",
      endsSession: () => true,
      result: countResult("person", "must reset", "would have to reset"),
    }),
  ];
}

function lockdownPanel() {
  const errors = errorSlot();
  const status = h("p", { testid: "lockdown-status", role: "status" }, "Reading…");
  const on = button("Turn the lockdown on", () => change(true, on), { testid: "lockdown-on", class: "danger" });
  const off = button("Turn the lockdown off", () => change(false, off), { testid: "lockdown-off" });
  function show(isOn) {
    status.setAttribute("data-on", String(isOn));
    replace(status, "The lockdown is ", h("strong", null, isOn ? "on" : "off"), isOn
      ? ": only administrators are served; API keys are suspended, webhooks held, other streams closed."
      : ": everyone is served as usual.");
    on.disabled = isOn;
    off.disabled = !isOn;
  }
  async function change(value, trigger) {
    const answer = await busy(trigger, errors, () => post("/api/admin/incidents/lockdown", { on: value }));
    if (!answer) return;
    show(answer.lockdown);
    notify(answer.changed ? `The lockdown is now ${answer.lockdown ? "on" : "off"}.` : `The lockdown already was ${answer.lockdown ? "on" : "off"}.`);
  }
  busy(null, errors, () => get("/api/admin/incidents/lockdown")).then((answer) => answer && show(answer.lockdown));
  return section("Data-breach lockdown",
    h("p", null, "Contains a data breach: every instance within a second, and it survives restarts."),
    status, h("div", { class: "actions" }, on, off), errors);
}

function playbook(ctx, spec) {
  const errors = errorSlot();
  const options = spec.options ? spec.options() : { nodes: [], inputs: [], values: () => ({}) };
  const result = h("div", { testid: "playbook-result", "aria-live": "polite" });
  let dryRunDone = false;
  const confirm = typedConfirmation(spec.word, "playbook", () => dryRunDone);
  const run = button(`Run “${spec.title}” for real`, runForReal, { testid: "playbook-run", class: "danger", disabled: true });
  const refresh = () => {
    run.disabled = !confirm.matches();
  };
  confirm.input.addEventListener("input", refresh);
  // Changed options need a new dry run: what was counted is no longer what would run.
  for (const input of options.inputs) {
    input.addEventListener("change", () => {
      dryRunDone = false;
      confirm.reset();
      refresh();
    });
  }
  const dry = button("Dry run: count what it would do", async () => {
    const answer = await busy(dry, errors, () => post(spec.path, { ...options.values(), dry_run: true }));
    if (!answer) return;
    dryRunDone = true;
    replace(result, spec.result(answer));
    refresh();
    confirm.input.focus();
  }, { testid: "playbook-dry-run" });

  async function runForReal() {
    if (!confirm.matches()) return;
    const values = options.values();
    const answer = await busy(run, errors, () => post(spec.path, { ...values, dry_run: false }));
    if (!answer) return;
    replace(result, spec.result(answer));
    dryRunDone = false;
    confirm.reset();
    refresh();
    if (spec.endsSession(values)) {
      ctx.app.signedOut(`“${spec.title}” ran: your session ended with the others.${answer.report_id ? ` Access report ${answer.report_id}.` : ""}`);
    } else {
      notify(`“${spec.title}” ran.`);
    }
  }

  return h("section", { class: "panel playbook", testid: "playbook", "data-playbook": spec.key },
    h("h2", null, spec.title),
    h("p", null, spec.description),
    options.nodes,
    h("ol", { class: "steps" },
      h("li", null, dry),
      h("li", null, confirm),
      h("li", null, run)),
    errors, result);
}

function countResult(noun, done, would) {
  return (answer) => h("p", { class: "callout", "data-dry-run": String(answer.dry_run) },
    badge(answer.dry_run ? "Dry run" : "Done", answer.dry_run ? "info" : "warning"), " ",
    `${answer.count} ${noun}${answer.count === 1 ? "" : "s"} ${answer.dry_run ? would : done}.`);
}

function breachResult(answer) {
  const report = answer.report || {};
  const top = (list) => (list || []).slice(0, 5).map((item) => `${item.value} (${item.count})`).join(", ") || "none";
  return h("div", { class: "callout", "data-dry-run": String(answer.dry_run) },
    h("p", null, badge(answer.dry_run ? "Dry run: nothing changed" : "Done", answer.dry_run ? "info" : "warning")),
    dl([
      [answer.dry_run ? "Sessions that would end" : "Sessions ended", String(answer.sessions_revoked), "breach-sessions"],
      [answer.dry_run ? "API keys that would be revoked" : "API keys revoked", String(answer.api_keys_revoked)],
      [answer.dry_run ? "Password resets that would be forced" : "Password resets forced", String(answer.password_resets_forced)],
      ["Mails", String(answer.mails_queued)],
      ["Signing keys' generation", String(answer.key_generation)],
      ["Stored access report", answer.report_id],
    ]),
    h("h3", null, "Access report"),
    dl([
      ["Window", [time(report.since), " – ", time(report.until)]],
      ["Writes and sign-ins", `${(report.writes || []).length}${report.truncated ? " (truncated)" : ""}`],
      ["Sessions seen", String((report.sessions || []).length)],
      ["API keys used", String((report.key_uses || []).length)],
      ["Addresses", top(report.addresses)],
      ["User agents", top(report.user_agents)],
    ]));
}
