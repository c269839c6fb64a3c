// CI's smoke run of the abuse half of `npm run soak` (hostile tokens, the authorization matrix, fuzzed bodies, slow
// consumers): each scenario with small counts, as one test that passes only when the scenario's criteria held,
// printing its failures otherwise. Like the fault half (soak-faults.smoke.test.ts), rows that need PostgreSQL start
// their own instance, and every service runs on free loopback ports.
import { soakSmokeSuite } from "./support/soak-smoke.js";
import { authzMatrix } from "../soak/scenarios/authz-matrix.js";
import { fuzz } from "../soak/scenarios/fuzz.js";
import { hostileTokens } from "../soak/scenarios/hostile-tokens.js";
import { slowConsumers } from "../soak/scenarios/slow-consumers.js";

soakSmokeSuite("soak smoke: abuse", [hostileTokens, authzMatrix, fuzz, slowConsumers], 120_000);
