// Interceptors: one shape for unary and server-streaming calls, `(next) => next`, composed as an onion. For a unary
// call `next` resolves to the response; for a server stream it resolves when the last message has been written.
import type { CallContext, MethodInfo } from "./context.js";

/** The rest of the chain: run the call, resolve with its response (unary) or when the stream is done. */
export type Next = (request: unknown, ctx: CallContext) => Promise<unknown>;

/** A cross-cutting concern wrapped around every call. */
export type Interceptor = (next: Next) => Next;

/** Wraps `inner` in interceptors; the first interceptor is the outermost (it sees the call first and last). */
export function compose(interceptors: readonly Interceptor[], inner: Next): Next {
  return interceptors.reduceRight<Next>((next, interceptor) => interceptor(next), inner);
}

/** Applies an interceptor only to methods the predicate selects; other calls pass straight through. */
export function select(predicate: (method: MethodInfo) => boolean, interceptor: Interceptor): Interceptor {
  return (next) => {
    const wrapped = interceptor(next);
    return (request, ctx) => (predicate(ctx.method) ? wrapped(request, ctx) : next(request, ctx));
  };
}
