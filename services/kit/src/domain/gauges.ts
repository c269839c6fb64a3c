// A port for figures a process reports as gauges (open watches, queued events, pool connections): code that knows the
// figure registers a function that reads it, and the kit's metrics (metrics.ts, prom-client) call it when scraped.
// Nothing here knows Prometheus, so domain and storage code can fill it; with metrics off it is NO_GAUGES.

/** Where a process registers its gauges. */
export interface Gauges {
  /**
   * Reports `read()` as the gauge `name` (Prometheus naming: snake_case, unit suffix) each time metrics are scraped.
   * `read` must be cheap and must not throw.
   */
  add(name: string, help: string, read: () => number): void;
}

/** Gauges that go nowhere: what a process without metrics registers with. */
export const NO_GAUGES: Gauges = { add() {} };
