// Wakes this replica's EventFeed when any replica commits an order event. A dedicated connection (LISTEN needs one
// that is never handed to anyone else, so not a pooled one) runs LISTEN on the channel the order store notifies on.
// Notifications are only a hint: the feed reads the log itself, so a lost or duplicated one costs a read, never an
// event. Hence, after a lost connection it reconnects with backoff and calls onNotify() once, for whatever was
// committed while it was away. Give the feed a pollIntervalMs too, for a connection that dies silently.
import pg from "pg";
import { mapPgError } from "@orderly/storage/postgres";
import { ORDER_EVENTS_CHANNEL } from "./postgres-order-store.js";

/** How to listen. */
export interface OrderNotificationOptions {
  /** A postgres:// URL of the database the order store writes to. */
  url: string;
  /**
   * Called on each notification with the revision it announces (committed, with everything before it), and after each
   * reconnect with none; must not throw (wire it to `(revision) => feed.notify(revision)`).
   */
  onNotify: (committedRevision?: number) => void;
  /** Told about a lost connection or a failed reconnect attempt (mapped like store errors); ignored by default. */
  onError?: (error: unknown) => void;
  /** First reconnect delay (default 100 ms); doubles per failed attempt up to maxBackoffMs (default 5000 ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long one connect attempt may take (default 2000 ms). */
  connectionTimeoutMs?: number;
}

/** A running listener. */
export interface OrderNotifications {
  /** Stops listening and reconnecting; safe to call twice. */
  close(): Promise<void>;
}

/** Connects and LISTENs (rejecting if that first attempt fails), then keeps listening until close(). */
export async function listenForOrderEvents(options: OrderNotificationOptions): Promise<OrderNotifications> {
  const minBackoffMs = options.minBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const report = options.onError ?? (() => {});
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let backoffMs = minBackoffMs;

  const connectOnce = async (): Promise<pg.Client> => {
    const next = new pg.Client({
      connectionString: options.url,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
      keepAlive: true,
    });
    // Registered before connecting: an 'error' without a listener would crash the process.
    next.on("error", (error) => lost(next, error));
    next.on("end", () => lost(next, new Error("LISTEN connection ended")));
    next.on("notification", (message) => {
      if (message.channel === ORDER_EVENTS_CHANNEL) options.onNotify(revisionOf(message.payload));
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${ORDER_EVENTS_CHANNEL}`);
      return next;
    } catch (error) {
      await next.end().catch(() => {});
      throw mapPgError(error);
    }
  };

  // Called once per client (its 'error' and 'end' both arrive); a stale client's events are ignored.
  function lost(which: pg.Client, error: unknown): void {
    if (which !== client || closed) return;
    client = undefined;
    which.end().catch(() => {});
    report(mapPgError(error));
    schedule();
  }

  function schedule(): void {
    if (closed) return;
    // Jittered so replicas that lost the database together do not reconnect in lockstep.
    const delay = backoffMs / 2 + Math.random() * (backoffMs / 2);
    backoffMs = Math.min(maxBackoffMs, backoffMs * 2);
    retry = setTimeout(() => {
      retry = undefined;
      connectOnce().then(
        (next) => {
          if (closed) {
            next.end().catch(() => {});
            return;
          }
          client = next;
          backoffMs = minBackoffMs;
          // Commits made while disconnected were announced to nobody: have the feed read the log once.
          options.onNotify();
        },
        (error: unknown) => {
          report(error);
          schedule();
        },
      );
    }, delay);
  }

  client = await connectOnce();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}

/** The revision a notification's payload announces; undefined unless it is a positive integer. */
function revisionOf(payload: string | undefined): number | undefined {
  if (payload === undefined || !/^[1-9][0-9]{0,15}$/.test(payload)) return undefined;
  const revision = Number(payload);
  return Number.isSafeInteger(revision) ? revision : undefined;
}
