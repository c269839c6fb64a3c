// Deadline and cancellation propagation across hops. A server handler runs inside a call scope (the kit enters it);
// any Orderly client call made inside inherits the remaining deadline and the cancellation of the incoming call,
// so no handler can forget to pass them on.
//
// A scope is only worth entering when something may read it: an Orderly client. Entering one turns on Node's async
// hooks for the whole process (every promise then carries the store), so the kit enters scopes only once a client
// exists in the process (callScopesWanted); a service that calls nobody never pays for them. A client created while
// a call is already running is not seen by that call: create clients at start-up, as the services do.
import { AsyncLocalStorage } from "node:async_hooks";

/** What an outgoing call inherits from the call being served. */
export interface CallScope {
  /** The incoming call's deadline; outgoing calls get at most the time left. */
  readonly deadline?: Date;
  /** Fires when the incoming call is cancelled or its deadline passes. */
  readonly signal?: AbortSignal;
}

const storage = new AsyncLocalStorage<CallScope>();
let wanted = false;

/** Declares that code in this process reads call scopes (every Orderly client does, when it is created). */
export function wantCallScopes(): void {
  wanted = true;
}

/** True once something in this process reads call scopes: only then do server calls enter one. */
export function callScopesWanted(): boolean {
  return wanted;
}

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
