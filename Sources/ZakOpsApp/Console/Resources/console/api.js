// Every call to the API goes through request(): same-origin cookie, the CSRF token on unsafe
// methods, errors turned into ApiError with the server's message and request id.

const unsafe = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let csrfToken = null;
const hooks = { unauthorized: () => {}, resetRequired: () => {} };

/** An error answer: `message` is the server's fixed text; never the raw body. */
export class ApiError extends Error {
  constructor(status, error, requestId, retryAfter) {
    super(error.message || `The server answered HTTP ${status}.`);
    this.status = status;
    this.code = error.code || "HTTP_" + status;
    this.field = error.field;
    this.detail = error.detail;
    this.requestId = error.request_id || requestId || null;
    this.retryAfter = retryAfter;
  }
}

export function setCsrfToken(token) {
  csrfToken = token;
}

/** What to do when the session is gone (401) or a password must be changed first. */
export function setHooks({ unauthorized, resetRequired }) {
  if (unauthorized) hooks.unauthorized = unauthorized;
  if (resetRequired) hooks.resetRequired = resetRequired;
}

/** The query string of `query`, leaving out empty values. */
function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? "?" + text : "";
}

/**
 * Sends one request. Options: `query`, `body` (JSON), `ifMatch`, `idempotencyKey`, `quiet`
 * (no sign-out on 401: the login and password forms read their own 401s).
 * Resolves to { status, data, etag, requestId }.
 */
export async function request(method, path, options = {}) {
  const response = await send(method, path, options);
  if (response.status === 403 && unsafe.has(method) && !options.retried) {
    // A refused CSRF token (rotated keys, a new session elsewhere): fetch a fresh one and
    // try once more. A refused request changed nothing, so repeating it is safe.
    const error = await errorOf(response);
    if (error.code === "CSRF_FAILED" && (await refreshCsrf())) {
      return request(method, path, { ...options, retried: true });
    }
    throw handle(error, options);
  }
  if (!response.ok) throw handle(await errorOf(response), options);
  const text = response.status === 204 ? "" : await response.text();
  return {
    status: response.status,
    data: text ? JSON.parse(text) : null,
    etag: response.headers.get("ETag"),
    requestId: response.headers.get("X-Request-ID"),
  };
}

async function send(method, path, options) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  if (unsafe.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  if (options.ifMatch) headers["If-Match"] = options.ifMatch;
  if (options.idempotencyKey) headers["Idempotency-Key"] = options.idempotencyKey;
  try {
    return await fetch(path + queryString(options.query), init);
  } catch {
    throw new ApiError(0, { code: "NETWORK", message: "The server could not be reached. Check the connection and try again." });
  }
}

async function errorOf(response) {
  const requestId = response.headers.get("X-Request-ID");
  const retryAfter = response.headers.get("Retry-After");
  let error = {};
  try {
    const body = await response.json();
    if (body && typeof body.error === "object" && body.error) error = body.error;
  } catch {
    // Not the API's error shape (a proxy's page): the status is all we can say.
  }
  return new ApiError(response.status, error, requestId, retryAfter);
}

function handle(error, options) {
  if (!options.quiet) {
    if (error.code === "UNAUTHORIZED") hooks.unauthorized(error);
    if (error.code === "PASSWORD_RESET_REQUIRED") hooks.resetRequired(error);
  }
  return error;
}

/** Fetches a new CSRF token for the current session; false when there is no session. */
export async function refreshCsrf() {
  try {
    const response = await send("GET", "/api/auth/csrf", {});
    if (!response.ok) return false;
    csrfToken = (await response.json()).csrf_token;
    return true;
  } catch {
    return false;
  }
}

export const get = async (path, query, options) => (await request("GET", path, { ...options, query })).data;
export const post = async (path, body, options) => (await request("POST", path, { ...options, body })).data;
export const patch = async (path, body, options) => (await request("PATCH", path, { ...options, body })).data;
export const del = async (path, options) => (await request("DELETE", path, options)).data;

/** A path segment from data, encoded so an id can never change the path. */
export const seg = (value) => encodeURIComponent(String(value));
