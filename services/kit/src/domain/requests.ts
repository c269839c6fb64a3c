// Checks every service makes on a request before its own rules: an id that must be there, and an AIP-134 update mask
// that must name known paths only.
import { DomainError, invalidArgument, type FieldViolation } from "./errors.js";
import { DomainReason } from "./reasons.js";

/** Throws INVALID_ARGUMENT when a required id is empty (proto3 sends a missing string as ""). */
export function requireId(id: string, field = "id"): void {
  if (id === "") throw invalidArgument([{ field, description: "is required" }]);
}

/**
 * Throws INVALID_ARGUMENT (reason INVALID_UPDATE_MASK) for an empty mask or any path not in `allowed`, naming the
 * unknown paths in metadata.unknown_paths. An empty mask would mean "replace everything" in some APIs; being explicit
 * avoids wiping a resource by accident.
 */
export function checkUpdateMask(paths: readonly string[], allowed: readonly string[]): void {
  const known = allowed.join(", ");
  if (paths.length === 0) {
    throw invalidUpdateMask(
      [{ field: "update_mask", description: `must name at least one path; allowed: ${known}` }],
      [],
    );
  }
  const unknown = [...new Set(paths.filter((path) => !allowed.includes(path)))];
  if (unknown.length > 0) {
    const violations = unknown.map((path) => ({
      field: "update_mask",
      description: `unknown path ${JSON.stringify(path)}; allowed: ${known}`,
    }));
    throw invalidUpdateMask(violations, unknown);
  }
}

function invalidUpdateMask(violations: FieldViolation[], unknownPaths: string[]): DomainError {
  const summary = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
  return new DomainError("invalid_argument", DomainReason.INVALID_UPDATE_MASK, `invalid update_mask: ${summary}`, {
    fieldViolations: violations,
    metadata: unknownPaths.length > 0 ? { unknown_paths: unknownPaths.join(",") } : {},
  });
}
