// The service bundles every scenario runs, built once per process as `npm start` builds them (services/build.ts: plain
// node, no tsx loader), into a fresh directory under dist/ so the bundles' external packages resolve from
// node_modules and parallel runs (CI's vitest files) never overwrite each other's files.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bundle, SERVICES } from "../../services/build.js";
import { REPO_ROOT } from "./repo.js";

/** Where the bundles of this process are. */
export interface ServiceBundles {
  readonly dir: string;
  /** The UserService bundle. */
  readonly users: string;
  /** The OrderService bundle. */
  readonly orders: string;
}

let built: Promise<ServiceBundles> | undefined;

/** The bundles, built on the first call (later calls share that build). */
export function serviceBundles(): Promise<ServiceBundles> {
  built ??= build();
  return built;
}

/** Deletes this process's bundles (the next serviceBundles() builds again). */
export async function removeBundles(): Promise<void> {
  const pending = built;
  built = undefined;
  const bundles = await pending?.catch(() => undefined);
  if (bundles) rmSync(bundles.dir, { recursive: true, force: true });
}

async function build(): Promise<ServiceBundles> {
  // bundle() reads proto/gen relative to the working directory: the harness and vitest both run from the root.
  if (process.cwd() !== REPO_ROOT) throw new Error(`run the soak harness from the repository root (${REPO_ROOT})`);
  mkdirSync("dist", { recursive: true });
  const dir = mkdtempSync(join("dist", "soak-"));
  await Promise.all(SERVICES.map((service) => bundle(`services/${service}/src/main.ts`, join(dir, `${service}.mjs`))));
  return {
    dir: join(REPO_ROOT, dir),
    users: join(REPO_ROOT, dir, "users.mjs"),
    orders: join(REPO_ROOT, dir, "orders.mjs"),
  };
}
