// The API's vocabulary as the console shows it (openapi.json: DealStage, DealStatus, Role…).

/** The pipeline, in board order. */
export const STAGES = [
  "inbound", "initial_review", "due_diligence", "negotiation", "documentation", "closing",
  "closed_won", "closed_lost", "archived",
];
/** Stages a new deal may start at (WorkingStage). */
export const WORKING_STAGES = STAGES.slice(0, 6);
export const DEAL_STATUSES = ["active", "inactive", "archived", "junk"];
export const ROLES = ["admin", "operator", "viewer"];
export const USER_STATUSES = ["active", "disabled", "pending", "erased"];
export const ACTION_STATUSES = ["pending_approval", "approved", "rejected", "expired", "completed", "failed"];

const stageLabels = {
  inbound: "Inbound", initial_review: "Initial review", due_diligence: "Due diligence",
  negotiation: "Negotiation", documentation: "Documentation", closing: "Closing",
  closed_won: "Closed – won", closed_lost: "Closed – lost", archived: "Archived",
};

/** A readable name for a stage (or any snake_case value). */
export function label(value) {
  if (value in stageLabels) return stageLabels[value];
  const text = String(value ?? "").replace(/[_.]/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The permissions of a role (README "Identity"): /api/auth/me names the role only. */
export function permissionsOf(principal) {
  const read = ["deals:read", "actions:read", "events:read"];
  const operator = [...read, "deals:write", "deals:delete", "actions:propose", "actions:approve"];
  const byRole = {
    viewer: read,
    operator,
    admin: [...operator, "audit:read", "admin:users", "admin:system"],
  };
  let permissions = byRole[principal.role] || read;
  if (principal.kind === "service") {
    // Service accounts never approve nor administer, whatever their role.
    permissions = permissions.filter((p) => ["deals:read", "actions:read", "events:read", "actions:propose"].includes(p));
  }
  return new Set(permissions);
}

/** The deal's name as people know it. */
export function dealName(deal) {
  return deal.display_name || deal.canonical_name || deal.id;
}

/** Whether `deal` passes the board's filters (the server's own rules for `q`, approximately). */
export function dealMatches(deal, filters) {
  if (filters.stage && deal.stage !== filters.stage) return false;
  if (filters.status && deal.status !== filters.status) return false;
  if (filters.q) {
    const needle = filters.q.replace(/[%_\\]/g, "").trim().toLowerCase();
    const names = `${deal.canonical_name || ""}\n${deal.display_name || ""}`.toLowerCase();
    if (needle && !names.includes(needle)) return false;
  }
  return true;
}
