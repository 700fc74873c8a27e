// Service accounts (the agents) and their API keys: create, list, disable; mint, rotate and
// revoke keys. A new key is shown once, with a copy button, and never again.

import { h, replace, time, field, select, randomKey } from "./dom.js";
import { get, post, del, request, seg } from "./api.js";
import { ROLES, label } from "./model.js";
import { errorSlot, busy, notify, badge, button, section, secretOnce } from "./ui.js";

export function serviceAccountsSection() {
  const errors = errorSlot();
  const list = h("ul", { class: "plain accounts", testid: "sa-list" });
  const items = new Map();

  function put(account) {
    const node = accountItem(account, put);
    const old = items.get(account.id);
    items.set(account.id, node);
    if (old) old.replaceWith(node);
    else list.appendChild(node);
  }

  const load = async () => {
    const answer = await busy(null, errors, () => get("/api/admin/service-accounts"));
    if (!answer) return;
    items.clear();
    replace(list);
    answer.service_accounts.forEach(put);
    if (!answer.service_accounts.length) list.appendChild(h("li", { class: "muted" }, "No service accounts yet."));
  };
  load();
  return [
    section("New service account", createForm(put)),
    section("Service accounts",
      h("p", null, "Whatever its role, an agent's key may only read deals, actions and events and propose actions; a person approves."),
      errors, list),
  ];
}

function createForm(onCreated) {
  const name = h("input", { type: "text", maxlength: "200", autocomplete: "off", testid: "sa-create-name" });
  const role = select({ testid: "sa-create-role" }, ROLES.map((r) => [r, label(r)]), "operator");
  const submit = h("button", { type: "submit", testid: "sa-create-submit" }, "Create");
  const errors = errorSlot();
  let idempotencyKey = randomKey();
  const form = h("form", { class: "form inline-form", testid: "sa-create-form", novalidate: true }, field("Name", name), field("Role", role), submit, errors);
  form.addEventListener("input", () => {
    idempotencyKey = randomKey();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) return errors.show({ message: "Name the service account (the agent it is for)." });
    const created = await busy(submit, errors, async () =>
      (await request("POST", "/api/admin/service-accounts", { body: { name: name.value.trim(), role: role.value }, idempotencyKey })).data);
    if (created) {
      form.reset();
      idempotencyKey = randomKey();
      notify(`Service account ${created.name} created. Mint it a key below.`);
      onCreated(created);
    }
  });
  return form;
}

function accountItem(account, put) {
  const base = `/api/admin/service-accounts/${seg(account.id)}`;
  const errors = errorSlot();
  const keysPanel = h("div", { class: "keys", hidden: true });
  const secretSlot = h("div");
  const keyList = h("ul", { class: "plain", testid: "api-key-list" });

  const loadKeys = async () => {
    const answer = await busy(null, errors, () => get(`${base}/keys`));
    if (!answer) return;
    replace(keyList, answer.keys.length ? answer.keys.map(keyItem) : h("li", { class: "muted" }, "No keys."));
  };

  function keyItem(key) {
    const live = !key.revoked_at;
    const revoke = live ? button("Revoke", async () => {
      const done = await busy(revoke, errors, async () => {
        await del(`${base}/keys/${seg(key.id)}`);
        return true;
      });
      if (done) {
        notify(`Key ${key.id} revoked.`);
        loadKeys();
      }
    }, { testid: "api-key-revoke", class: "danger" }) : null;
    const rotate = live && account.is_active ? button("Rotate", async () => {
      const answer = await busy(rotate, errors, () => post(`${base}/keys/${seg(key.id)}/rotate`, {}));
      if (!answer) return;
      showSecret(answer.key, `The new key replacing ${answer.replaces} (the old one works until ${new Date(answer.old_key_expires_at).toLocaleString()})`);
      loadKeys();
    }, { testid: "api-key-rotate", class: "secondary" }) : null;
    return h("li", { testid: "api-key-item", "data-key-id": key.id, "data-revoked": String(!live), class: "key" },
      h("p", null, h("code", null, key.id), " ", live ? badge("Live", "ok") : badge("Revoked", "muted")),
      h("p", { class: "muted" },
        "Created ", time(key.created_at), key.created_by ? ` by ${key.created_by}` : "",
        key.expires_at ? [" · expires ", time(key.expires_at)] : "",
        " · last used ", key.last_used_at ? time(key.last_used_at) : "never",
        key.revoked_at ? [" · revoked ", time(key.revoked_at)] : "",
        key.replaced_by ? ` · replaced by ${key.replaced_by}` : ""),
      h("div", { class: "actions" }, rotate, revoke));
  }

  function showSecret(secret, title) {
    replace(secretSlot, secret
      ? secretOnce(title, secret, "new-api-key")
      : h("p", { class: "callout" }, "The key was already minted by this request: it is never shown twice. Revoke it and mint another if it was not stored."));
  }

  const days = h("input", { type: "number", min: "1", max: "365", inputmode: "numeric", testid: "sa-key-expires-days" });
  let mintKey = randomKey();
  days.addEventListener("input", () => {
    mintKey = randomKey();
  });
  const mint = button("Mint a key", async () => {
    const value = days.value.trim();
    if (value && !/^[1-9][0-9]{0,2}$/.test(value)) return errors.show({ message: "The lifetime is a number of days from 1 to 365 (empty: the maximum)." });
    const answer = await busy(mint, errors, async () =>
      (await request("POST", `${base}/keys`, { body: value ? { expires_in_days: Number(value) } : undefined, idempotencyKey: mintKey })).data);
    if (!answer) return;
    mintKey = randomKey();
    showSecret(answer.key, `New key ${answer.id} for ${account.name}`);
    loadKeys();
  }, { testid: "sa-key-create" });

  const toggle = button("Keys", async () => {
    keysPanel.hidden = !keysPanel.hidden;
    toggle.setAttribute("aria-expanded", String(!keysPanel.hidden));
    if (!keysPanel.hidden) await loadKeys();
  }, { testid: "sa-keys-toggle", class: "secondary", "aria-expanded": "false" });

  const disable = account.is_active ? button("Disable (revokes every key)", async () => {
    const done = await busy(disable, errors, async () => {
      await post(`${base}/disable`);
      return true;
    });
    if (done) {
      notify(`${account.name} disabled; its keys are revoked.`);
      put({ ...account, is_active: false });
    }
  }, { testid: "sa-disable", class: "danger" }) : null;

  keysPanel.append(
    account.is_active ? h("div", { class: "inline-form" }, field("Lifetime in days (empty: the maximum)", days), mint) : null,
    secretSlot, keyList);
  return h("li", { testid: "sa-item", "data-sa-id": account.id, "data-active": String(account.is_active), class: "account" },
    h("h3", null, account.name, " ", badge(label(account.role), "role"), " ", account.is_active ? badge("Active", "ok") : badge("Disabled", "muted")),
    h("p", { class: "muted" }, h("code", null, account.id), " · created ", time(account.created_at)),
    h("div", { class: "actions" }, toggle, disable),
    errors, keysPanel);
}
