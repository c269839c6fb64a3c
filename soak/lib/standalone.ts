// A UserService and an OrderService on their own SQLite files, with the auth settings a row chooses (the abuse rows
// never need PostgreSQL: a refused token or a bad body stops before the store). Registered for the exit backstop.
import { join } from "node:path";
import { startServiceProcess, tempDataDir, type ServiceProcess } from "../../test/support/service-process.js";
import { serviceBundles } from "./bundles.js";
import { registerCleanup } from "./cleanup.js";
import { writeFileSync } from "node:fs";

/** The two services of one row. */
export interface Pair {
  readonly users: ServiceProcess;
  readonly orders: ServiceProcess;
  /** Everything both wrote (stdout lines and stderr), for checks that nothing secret reached it. */
  output(): string;
  saveLogs(dir: string, label: string): void;
  stop(): Promise<void>;
}

/** Starts UserService, then OrderService pointed at it, both with `env` (auth settings, SERVICE_TOKEN_FILE, ...). */
export async function startPair(env: Record<string, string>): Promise<Pair> {
  const bundles = await serviceBundles();
  const started: ServiceProcess[] = [];
  const launch = async (entry: string, extra: Record<string, string>) => {
    const service = await startServiceProcess(entry, { DATA_DIR: tempDataDir(), ...env, ...extra });
    const unregister = registerCleanup(() => {
      if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill("SIGKILL");
    });
    service.child.once("exit", unregister);
    started.push(service);
    return service;
  };
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const users = await launch(bundles.users, { USERS_ADDRESS: "127.0.0.1:0" });
    const orders = await launch(bundles.orders, { ORDERS_ADDRESS: "127.0.0.1:0", USERS_TARGET: users.address });
    return {
      users,
      orders,
      output: () => started.map((s) => [...s.output.stdoutLines, s.output.stderr].join("\n")).join("\n"),
      saveLogs(dir, label) {
        for (const [name, s] of [
          ["users", users],
          ["orders", orders],
        ] as const)
          writeFileSync(
            join(dir, `${label}-${name}-${s.child.pid}.log`),
            [...s.output.stdoutLines, s.output.stderr].join("\n"),
          );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
