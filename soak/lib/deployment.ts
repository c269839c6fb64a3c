// The services as a scenario runs them: the bundles `npm start` runs, as separate processes on loopback port 0, on one
// PostgreSQL (UserService replicas first, then OrderService replicas pointed at all of them), with test auth so the
// harness can mint tokens. Every process is registered for the exit backstop (killed by its pid).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { testToken } from "@orderly/kit/testing";
import {
  startServiceProcess,
  tempDataDir,
  testAuthEnv,
  type ServiceProcess,
} from "../../test/support/service-process.js";
import { serviceBundles } from "./bundles.js";
import { registerCleanup } from "./cleanup.js";
import { startPrivatePostgres, type PrivatePostgres } from "./private-postgres.js";

export type { ServiceProcess };

/** Services running on one database. */
export interface Deployment {
  readonly users: readonly ServiceProcess[];
  /** OrderService replicas, in the order they were listening; a replica started again replaces its entry. */
  readonly orders: readonly ServiceProcess[];
  /** A token with the admin role, valid for the whole run. */
  readonly adminToken: string;
  /** Starts another OrderService replica (on `address`, e.g. a killed replica's old one; default port 0). */
  startOrders(address?: string): Promise<ServiceProcess>;
  /** SIGTERM to every process still running (SIGKILL after 15 s); resolves when all exited. */
  stop(): Promise<void>;
  /** Writes each process's output (its log lines, then stderr) to `<dir>/<service>-<pid>.log`. */
  saveLogs(dir: string): void;
}

/** What to start. */
export interface DeploymentOptions {
  databaseUrl: string;
  usersReplicas?: number;
  ordersReplicas?: number;
  /** Extra environment for every OrderService replica (e.g. SHUTDOWN_GRACE_MS). */
  ordersEnv?: Record<string, string>;
}

/** Starts UserService and OrderService replicas on `databaseUrl`; stops what started if a later start fails. */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const bundles = await serviceBundles();
  const common = { ...(await testAuthEnv()), DATABASE_URL: options.databaseUrl, DATA_DIR: tempDataDir() };
  const started: { name: string; service: ServiceProcess }[] = [];
  const users: ServiceProcess[] = [];
  const orders: ServiceProcess[] = [];
  const launch = async (name: string, entry: string, env: Record<string, string>): Promise<ServiceProcess> => {
    const service = await startServiceProcess(entry, env);
    const unregister = registerCleanup(() => {
      if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill("SIGKILL");
    });
    service.child.once("exit", unregister);
    started.push({ name, service });
    return service;
  };
  let usersTarget = "";
  const startOrders = async (address = "127.0.0.1:0") => {
    const replica = await launch("orders", bundles.orders, {
      ...common,
      ...options.ordersEnv,
      ORDERS_ADDRESS: address,
      USERS_TARGET: usersTarget,
    });
    const replaced = orders.findIndex((o) => o.address === replica.address);
    if (replaced >= 0) orders[replaced] = replica;
    else orders.push(replica);
    return replica;
  };
  const stop = async () => {
    await Promise.all(
      started.map(async ({ service }) => {
        const timer = setTimeout(() => void service.kill(), 15_000);
        await service.stop();
        clearTimeout(timer);
      }),
    );
  };
  try {
    for (let i = 0; i < (options.usersReplicas ?? 1); i++)
      users.push(await launch("users", bundles.users, { ...common, USERS_ADDRESS: "127.0.0.1:0" }));
    usersTarget = users.map((u) => u.address).join(",");
    await Promise.all(Array.from({ length: options.ordersReplicas ?? 1 }, () => startOrders()));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    users,
    orders,
    adminToken: await testToken("soak-admin", ["admin"], { expiresInSeconds: 4 * 3600 }),
    startOrders,
    stop,
    saveLogs(dir) {
      for (const { name, service } of started) {
        const text = [...service.output.stdoutLines, service.output.stderr].join("\n");
        writeFileSync(join(dir, `${name}-${service.child.pid}.log`), text);
      }
    },
  };
}

/**
 * Runs `work` on services started on a private PostgreSQL instance; afterwards stops both, whatever happened, and
 * leaves the services' and the database's logs in `logDir`.
 */
export async function onPrivatePostgres<T>(
  options: Omit<DeploymentOptions, "databaseUrl">,
  logDir: string,
  work: (deployment: Deployment, database: PrivatePostgres) => Promise<T>,
): Promise<T> {
  const database = await startPrivatePostgres();
  let deployment: Deployment | undefined;
  try {
    deployment = await startDeployment({ ...options, databaseUrl: database.url });
    return await work(deployment, database);
  } finally {
    await deployment?.stop();
    deployment?.saveLogs(logDir);
    database.saveLog(logDir);
    await database.destroy();
  }
}
