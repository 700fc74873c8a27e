// Hash routing (#/deals, #/deals/ID, #/approvals, #/admin/…): the server serves one page, and
// the address still names the view, so reload, back and bookmarks work.

const routes = [];

/** Registers a view for a pattern such as "/deals/:id". */
export function route(pattern, view, options = {}) {
  routes.push({ parts: pattern.split("/").filter(Boolean), view, ...options });
}

/** The path and query of a hash such as "#/deals?q=acme". */
export function parse(hash) {
  const text = hash.replace(/^#/, "");
  const [path, search = ""] = text.split("?");
  return { path: path || "/", query: Object.fromEntries(new URLSearchParams(search)) };
}

/** The route matching `path`, with its parameters; null when none does. */
export function match(path) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const candidate of routes) {
    if (candidate.parts.length !== parts.length) continue;
    const params = {};
    const ok = candidate.parts.every((part, i) => {
      if (part.startsWith(":")) {
        params[part.slice(1)] = parts[i];
        return true;
      }
      return part === parts[i];
    });
    if (ok) return { route: candidate, params };
  }
  return null;
}

/** A hash for `path` with `query` (empty values left out). */
export function href(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) if (value) params.set(key, value);
  const search = params.toString();
  return "#" + path + (search ? "?" + search : "");
}

/** Goes to `path` (a new history entry). */
export function navigate(path, query) {
  const target = href(path, query);
  if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}
