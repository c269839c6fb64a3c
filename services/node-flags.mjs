// The node flags a service bundle runs with: `npm start` (start.mjs) passes them, and so does the benchmark, which
// measures what npm start runs. Run a bundle by hand as `node $(flags) dist/users.mjs`, or set them in NODE_OPTIONS.
//
// --max-semi-space-size=8: V8's young generation is two semi-spaces that grow, under any sustained allocation, to
// 16 MB each on 64-bit Node 20, all of it resident; 8 MB each holds a StreamUsers batch's garbage as well. It caps only
// the young generation, not the heap: old space still grows as far as the workload needs.
/** Flags before the bundle's path on node's command line (OrderService; UserService adds its own, below). */
export const SERVICE_NODE_FLAGS = ["--max-semi-space-size=8"];

// UserService: --no-allocation-site-pretenuring, and semi-spaces of 4 MB. The peak while streaming 1M users was
// bimodal, decided before the first call: while the process starts, V8's allocation-site pretenuring marks 19-25
// sites to allocate in old space (--trace-pretenuring --trace-pretenuring-statistics), which sites depending on when
// the startup scavenges fall. In a high process the streaming path allocates in old space from then on: 26% of the
// young generation survives every scavenge instead of 2% (--trace-gc-nvp), old space grows to 4 times its live size
// (about 80 MB) between mark-compacts, and each message costs more CPU. With 4 MB semi-spaces that happened in 10 of
// 15 streams (147-152 MB against 86-88), with 8 MB in 2 of 16 (161 MB against 96-98). Without pretenuring, 4 MB:
// 86-88 MB in 15 of 15 streams (bench/stream-rss.ts), at the same CPU per message.
/** UserService's flags before the bundle's path. */
export const USERS_NODE_FLAGS = ["--max-semi-space-size=4", "--no-allocation-site-pretenuring"];

/** The flags for a service's bundle, by service name. */
export function nodeFlagsOf(service) {
  return service === "users" ? USERS_NODE_FLAGS : SERVICE_NODE_FLAGS;
}
