// Deadline and cancellation propagation across hops. A server handler runs inside a call scope (the kit enters it);
// any Orderly client call made inside inherits the remaining deadline and the cancellation of the incoming call,
// so no handler can forget to pass them on.
import { AsyncLocalStorage } from "node:async_hooks";

/** What an outgoing call inherits from the call being served. */
export interface CallScope {
  /** The incoming call's deadline; outgoing calls get at most the time left. */
  readonly deadline?: Date;
  /** Fires when the incoming call is cancelled or its deadline passes. */
  readonly signal?: AbortSignal;
}

const storage = new AsyncLocalStorage<CallScope>();

/** Runs fn with scope as the ambient call scope of everything it starts. */
export function runInCallScope<T>(scope: CallScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The ambient call scope, if this code runs on behalf of an incoming call. */
export function currentCallScope(): CallScope | undefined {
  return storage.getStore();
}

/** The earlier of two optional deadlines. */
export function earliestDeadline(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() <= b.getTime() ? a : b;
}

/** Runs fn outside any call scope: for work shared by several incoming calls, which none of them may cancel alone. */
export function outsideCallScope<T>(fn: () => T): T {
  return storage.exit(fn);
}
