// One row of `npm run soak`: a fault or an abuse the services must survive, run against real processes on loopback,
// bounded in count and time, judged by a criterion that can fail. The harness (soak/run.ts) runs the scenarios one
// after another and prints one table row each; `--smoke` shrinks every count so CI can run them all in seconds.

/** What a scenario is given. */
export interface ScenarioOptions {
  /** Tiny counts and short times (CI); the figures then show only that the scenario works. */
  readonly smoke: boolean;
  /** A fresh directory for data files, logs and anything else the scenario writes. */
  readonly workDir: string;
  /** Progress lines for the operator (stderr). */
  readonly log: (line: string) => void;
}

/** What a scenario found. */
export interface ScenarioResult {
  /** True when every criterion held. */
  readonly passed: boolean;
  /** The figures measured, in the order the README table shows them, e.g. { "acknowledged": 10000, "lost": 0 }. */
  readonly figures: Readonly<Record<string, string | number>>;
  /** One line for the table's "result" column, e.g. "10,000 acknowledged, 0 lost, 0 duplicates". */
  readonly summary: string;
  /** What broke a criterion, one line each; empty when passed. */
  readonly failures: readonly string[];
}

/** A fault or abuse scenario. */
export interface Scenario {
  /** Short id used on the command line (`npm run soak -- --only kill9,fuzz`). */
  readonly id: string;
  /** The table's "scenario" column. */
  readonly title: string;
  /** The table's "criterion" column: what must hold for the row to pass. */
  readonly criterion: string;
  run(options: ScenarioOptions): Promise<ScenarioResult>;
}
