// 5. What each kit interceptor costs per call (microbenchmark in its own process), so a regression points at its cause.
import type { InterceptorResult } from "../load/interceptors.js";
import { PINNING, runLoad } from "../lib/processes.js";
import type { Row, SuiteReport } from "../lib/report.js";
import { spread } from "../lib/stats.js";
import type { SuiteContext } from "./context.js";

/** Runs the microbenchmark; one table row per case. */
export async function interceptorsSuite(ctx: SuiteContext): Promise<SuiteReport> {
  ctx.progress("interceptor microbenchmark");
  // On the server core: this is server-side work, and the runner itself sits on the load core.
  const result = await runLoad<InterceptorResult>(
    "bench/load/interceptors.ts",
    { runs: ctx.runs, ...ctx.profile.micro },
    undefined,
    PINNING?.server,
  );
  const rows: Row[] = Object.entries(result)
    .filter(([name]) => name !== "baseline")
    .map(([name, { perCallUs, net }]) => ({
      benchmark: `5. ${net ? "interceptor: " : ""}${name}`,
      unit: "µs/call",
      orderly: spread(perCallUs),
      target: "-",
      digits: 2,
    }));
  return {
    name: "interceptors",
    rows,
    details: [
      `Interceptors (in process, a no-op handler, ${ctx.profile.micro.budgetMs} ms per case per run; interceptor rows are net of the same loop`,
      `  around the bare no-op, ${spread(result.baseline!.perCallUs).median.toFixed(2)} µs/call; "kit call" rows go through bindService with a fake grpc-js call):`,
    ],
    data: result,
  };
}
