// The one thing Orders needs to know about users. A port, so the domain never reads the Users tables: the gRPC adapter
// implements it by calling UserService, and turns transport failures into DomainErrors (unavailable,
// deadline_exceeded) itself.

/** Answers whether a user exists. */
export interface UserDirectory {
  /**
   * True when the user exists; rejects (rather than answering false) when it cannot find out. `signal` and `deadline`
   * are the asking call's: the check stops with the first, and asks UserService for no more time than the second.
   */
  exists(userId: string, signal?: AbortSignal, deadline?: Date): Promise<boolean>;
}
