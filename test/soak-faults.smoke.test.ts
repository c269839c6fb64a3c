// CI's smoke run of the fault half of `npm run soak`: each scenario with tiny counts, as one test that passes only
// when the scenario's criteria held, printing its failures otherwise. Each starts its own PostgreSQL instance and its
// services on free ports, so it disturbs no other test running beside it.
import { soakSmokeSuite } from "./support/soak-smoke.js";
import { gracefulShutdown } from "../soak/scenarios/graceful-shutdown.js";
import { kill9 } from "../soak/scenarios/kill9.js";
import { postgresRestart } from "../soak/scenarios/postgres-restart.js";

soakSmokeSuite("soak smoke: faults", [kill9, postgresRestart, gracefulShutdown], 90_000);
