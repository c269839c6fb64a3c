// A backstop for what a scenario starts (service processes, PostgreSQL instances): each registers a synchronous
// cleanup, run when the process exits or the harness is interrupted, so nothing outlives a crashed or aborted run.
// Scenarios still clean up themselves in `finally`; this only catches what they could not.
const cleanups = new Set<() => void>();
let installed = false;

/** Registers `cleanup` (synchronous, must not throw); returns its unregister function. */
export function registerCleanup(cleanup: () => void): () => void {
  install();
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}

/** Runs and forgets every registered cleanup. */
export function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // a backstop must not stop the others
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once("exit", runCleanups);
}
