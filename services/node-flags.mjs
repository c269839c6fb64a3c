// The node flags a service bundle runs with: `npm start` (start.mjs) passes them, and so does the benchmark, which
// measures what npm start runs. Run a bundle by hand as `node $(flags) dist/users.mjs`, or set them in NODE_OPTIONS.
//
// --max-semi-space-size=8: V8's young generation is two semi-spaces that grow, under any sustained allocation, to
// 16 MB each on 64-bit Node 20, all of it resident; 8 MB each holds a StreamUsers batch's garbage as well. The peak
// while streaming 1M users is bimodal (some streams promote objects early and old space grows): with 4 MB it was
// 148-152 MB instead of 87-88 in 6 of 9 streams, with 8 MB 161 MB instead of 96-97 in 1 of 6; without the flag
// 111-112. It caps only the young generation, not the heap: old space still grows as far as the workload needs.
/** Flags before the bundle's path on node's command line. */
export const SERVICE_NODE_FLAGS = ["--max-semi-space-size=8"];
