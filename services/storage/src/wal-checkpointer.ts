// SQLite's WAL checkpoints on a worker thread, so the event loop never waits for one. By default the connection that
// commits runs a checkpoint itself once the WAL passes 1,000 pages: copying them into the database file and syncing it,
// inside that commit, 7-14 ms on this machine's disk for a WAL of about 1,600 frames, during which no call on the
// process is served. Here the store's connection never checkpoints (wal_autocheckpoint = 0); a worker with a connection
// of its own runs a PASSIVE checkpoint (never waiting for readers or the writer) every intervalMs. Writers go on while
// it copies; once every frame is in the database file the next commit starts the WAL again from its beginning, so the
// file stays as large as one interval's writes. If the worker fails, the store's connection checkpoints itself again.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Database } from "better-sqlite3";

/** What the worker reports after a checkpoint that copied something (tests watch these). */
export interface CheckpointReport {
  /** Frames in the WAL when it ran. */
  log: number;
  /** Frames it copied into the database file. */
  checkpointed: number;
}

export interface WalCheckpointer {
  /** Stops the worker and closes its connection; call before closing the store's own connection. */
  stop(): Promise<void>;
}

/** The default interval between background checkpoints, ms. */
const CHECKPOINT_INTERVAL_MS = 200;

// The worker's code, evaluated as CommonJS in the worker (a string, so the service bundle needs no second file).
// better-sqlite3 is loaded from the path the main thread resolved, the same copy the store uses.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
const timer = setInterval(() => {
  const [result] = db.pragma("wal_checkpoint(PASSIVE)");
  if (result.checkpointed > 0) parentPort.postMessage({ log: result.log, checkpointed: result.checkpointed });
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Moves `db`'s checkpoints to a worker thread. `db` must be a file in WAL mode (not ":memory:"). The worker does not
 * keep the process alive; `onReport` hears of each checkpoint that copied frames.
 */
export function checkpointInBackground(
  db: Database,
  options: { intervalMs?: number; onReport?: (report: CheckpointReport) => void } = {},
): WalCheckpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    workerData: {
      driver: createRequire(import.meta.url).resolve("better-sqlite3"),
      path: db.name,
      intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
    },
  });
  worker.unref();
  db.pragma("wal_autocheckpoint = 0");
  let stopping = false;
  const fallBack = () => {
    // Without the worker the WAL would grow forever: the store's connection checkpoints again, as SQLite's default.
    if (!stopping && db.open) db.pragma("wal_autocheckpoint = 1000");
  };
  worker.on("message", (report: CheckpointReport) => options.onReport?.(report));
  worker.on("error", fallBack);
  const exited = new Promise<void>((resolve) =>
    worker.once("exit", () => {
      fallBack();
      resolve();
    }),
  );
  return {
    stop: async () => {
      if (!stopping) {
        stopping = true;
        // Referenced again while it stops: otherwise a process with nothing else left to do would exit while the
        // caller still awaits this, and never run what it does after the store closes (a service's tracing flush).
        worker.ref();
        worker.postMessage("stop");
      }
      await exited;
    },
  };
}
