// Who is acting, as the domain sees it: no tokens, no roles, no gRPC. The server kit derives it from the verified
// caller and the method's declared permission.

/** The caller of a domain operation and how far their permission reaches. */
export interface Access {
  /** The caller's id (the token's `sub`), e.g. "usr_01J..." or "svc-orders". */
  readonly subject: string;
  /** True when the caller holds only the ":own" form of the permission: they may touch only resources they own. */
  readonly ownOnly: boolean;
}

/** True when the caller may see or change a resource owned by ownerId. */
export function mayAccess(access: Access, ownerId: string): boolean {
  return !access.ownOnly || access.subject === ownerId;
}
