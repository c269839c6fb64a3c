// The load generators' side of the protocol with bench/lib/processes.ts: the config arrives as JSON in BENCH_CONFIG;
// marks (e.g. the start and end of the measured window, so the runner can read server CPU right then) and the final
// result leave as JSON lines on stdout.

/** The config the runner passed, as parsed JSON; each load generator states the shape it was started with. */
export function loadConfig(): unknown {
  const raw = process.env.BENCH_CONFIG;
  if (!raw) throw new Error("BENCH_CONFIG is not set: run this through bench/run.ts");
  return JSON.parse(raw);
}

/** Tells the runner that a named moment has come (e.g. "start", "end"). */
export function mark(name: string): void {
  process.stdout.write(`${JSON.stringify({ mark: name })}\n`);
}

/** Sends the result and ends the process. */
export function finish(result: unknown): never {
  process.stdout.write(`${JSON.stringify({ result })}\n`);
  process.exit(0);
}

/** Runs main; any failure is printed and exits 1, so the runner fails loudly. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}
