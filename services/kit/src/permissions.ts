// Who may do what (docs/product.md#who-may-do-what), as one table. Methods name the permission they need in the
// contract; this file only answers how far a caller's roles reach for it. Nothing here knows about tokens or gRPC.

/**
 * The permissions each role grants. "<resource>:*" grants every action on the resource; "<permission>:own" grants the
 * permission only on resources the caller owns (their user id equals the token's `sub`).
 */
export const ROLE_PERMISSIONS = {
  admin: ["users:*", "orders:*"],
  support: ["users:read", "orders:read", "orders:update", "orders:cancel"],
  user: ["users:read:own", "users:update:own", "orders:create:own", "orders:read:own", "orders:cancel:own"],
  // Service-to-service callers (OrderService checking that a user exists) act under their own identity.
  service: ["users:read"],
} as const satisfies Record<string, readonly string[]>;

/** A role Orderly knows. */
export type Role = keyof typeof ROLE_PERMISSIONS;

/** How far a permission reaches: every resource, or only the caller's own. */
export type Reach = "all" | "own";

// A Map, not the object: a token's roles are untrusted input, and "constructor" or "__proto__" must grant nothing.
const grantsByRole: ReadonlyMap<string, readonly string[]> = new Map(Object.entries(ROLE_PERMISSIONS));

/** The widest reach any of the roles gives for the permission (e.g. "orders:read"); undefined when none grants it. */
export function reachOf(roles: readonly string[], permission: string): Reach | undefined {
  const separator = permission.indexOf(":");
  // An empty or malformed permission is a contract mistake; fail closed rather than match a wildcard by accident.
  if (separator <= 0 || separator === permission.length - 1) return undefined;
  const wildcard = `${permission.slice(0, separator)}:*`;
  const own = `${permission}:own`;
  let reach: Reach | undefined;
  for (const role of roles) {
    for (const grant of grantsByRole.get(role) ?? []) {
      if (grant === permission || grant === wildcard) return "all";
      if (grant === own) reach = "own";
    }
  }
  return reach;
}
