// Who is signed in, and the calls that change it. The session itself is the HttpOnly cookie;
// the page keeps only the principal and the CSRF token (in memory, never in storage).

import { request, get, post, setCsrfToken, refreshCsrf, ApiError } from "./api.js";
import { permissionsOf } from "./model.js";

export const session = {
  principal: null,
  permissions: new Set(),
  can(permission) {
    return this.permissions.has(permission);
  },
  get isAdmin() {
    return this.can("admin:users") || this.can("admin:system") || this.can("audit:read");
  },
};

function adopt(principal) {
  session.principal = principal;
  session.permissions = principal ? permissionsOf(principal) : new Set();
  return principal;
}

/** Reads the current principal (null when signed out) and a CSRF token for it. */
export async function loadSession() {
  try {
    const principal = await get("/api/auth/me", undefined, { quiet: true });
    // After a reload the login's token is gone: the session hands out a fresh one.
    if (!(await refreshCsrf())) return adopt(null);
    return adopt(principal);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return adopt(null);
    throw error;
  }
}

/** Signs in; `totp` only when the server asked for it (401 TOTP_REQUIRED). */
export async function signIn(email, password, totp) {
  const body = { email, password };
  if (totp) body.totp = totp;
  const { data } = await request("POST", "/api/auth/login", { body, quiet: true });
  setCsrfToken(data.csrf_token);
  // The login answer has no must_reset_password: /me tells it.
  return adopt(await get("/api/auth/me", undefined, { quiet: true }));
}

/** Ends the session on the server (also when it already ended) and forgets it here. */
export async function signOut() {
  try {
    await post("/api/auth/logout", undefined, { quiet: true });
  } catch {
    // Already gone: the cookie is cleared either way.
  }
  forget();
}

/** Forgets the session locally (after a 401, or a playbook that ended it). */
export function forget() {
  setCsrfToken(null);
  adopt(null);
}

/** Changes one's own password; the other sessions end (the server's rule). */
export async function changePassword(current, next) {
  await request("POST", "/api/auth/password/change", { body: { current_password: current, new_password: next }, quiet: true });
  return adopt(await get("/api/auth/me", undefined, { quiet: true }));
}
