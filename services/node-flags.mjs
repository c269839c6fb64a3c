// The node flags a service bundle runs with: `npm start` (start.mjs) passes them, and so does the benchmark, which
// measures what npm start runs. Run a bundle by hand as `node $(flags) dist/users.mjs`, or set them in NODE_OPTIONS.
//
// --max-semi-space-size=8: V8's young generation is two semi-spaces that grow, under any sustained allocation, to
// 16 MB each on 64-bit Node 20, all of it resident; 8 MB each holds a StreamUsers batch's garbage as well. (4 MB was
// bimodal: in some streams of 1M users objects were promoted early and old space grew, peaking at 148-151 MB instead
// of 87-88 MB, 3 of 6 runs; 8 MB gave 96-97 MB in 3 of 3.) It caps
// only the young generation, not the heap: old space still grows as far as the workload needs.
/** Flags before the bundle's path on node's command line. */
export const SERVICE_NODE_FLAGS = ["--max-semi-space-size=8"];
