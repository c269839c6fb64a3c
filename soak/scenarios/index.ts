// The rows of `npm run soak`, in the order they run and appear in the table. One import per line, a plain array.
import type { Scenario } from "../scenario.js";
import { kill9 } from "./kill9.js";
import { postgresRestart } from "./postgres-restart.js";
import { gracefulShutdown } from "./graceful-shutdown.js";
import { hostileTokens } from "./hostile-tokens.js";
import { authzMatrix } from "./authz-matrix.js";
import { fuzz } from "./fuzz.js";
import { slowConsumers } from "./slow-consumers.js";

/** Every scenario of the harness. */
export const scenarios: readonly Scenario[] = [
  // One row per line (the comment keeps Prettier from joining them), so branches that add rows merge line by line.
  kill9,
  postgresRestart,
  gracefulShutdown,
  hostileTokens,
  authzMatrix,
  fuzz,
  slowConsumers,
];
