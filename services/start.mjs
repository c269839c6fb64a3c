// `npm start` (after `npm run build`): UserService and OrderService, each as its own process on its own port, so
// Order -> User is a real network call. Both run the built bundles with plain node and inherit this environment;
// SIGINT/SIGTERM stop both gracefully; if one dies, the other is stopped. Plain JavaScript, so it needs no loader.
//
//   node services/start.mjs [--dev] [--dist DIR] [users] [orders]      (no names: both)
//
// --dev runs the TypeScript sources under tsx instead of the bundles. OrderService calls UserService with a token of
// its own, read from SERVICE_TOKEN_FILE. Services never mint tokens; in development, when that variable is unset,
// this launcher writes one (subject svc-orders, role service, one hour) to DATA_DIR/svc-orders.token with the dev-token
// tool and renews it every half hour. In production (NODE_ENV=production) it mints nothing: the file must be given.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import { nodeFlagsOf } from "./node-flags.mjs";
import { parseArgs } from "node:util";

const ALL = ["users", "orders"];
const TOKEN_TTL_SECONDS = 3600;

const { values, positionals } = parseArgs({
  options: { dev: { type: "boolean", default: false }, dist: { type: "string", default: "dist" } },
  allowPositionals: true,
});
const names = positionals.length > 0 ? positionals : ALL;
for (const name of names) {
  if (!ALL.includes(name)) fail(`unknown service "${name}"; choose from ${ALL.join(", ")}`);
}

/** The command line that runs an entry point: its bundle on plain node, or its source under tsx with --dev. */
function commandOf(bundle, source, args = []) {
  return values.dev
    ? [process.execPath, ["--import", "tsx", source, ...args]]
    : [
        process.execPath,
        [...nodeFlagsOf(basename(bundle, ".mjs")), "--enable-source-maps", join(values.dist, bundle), ...args],
      ];
}

function fail(message) {
  console.error(`start: ${message}`);
  process.exit(2);
}

const env = { ...process.env };
let renewal;
if (names.includes("orders") && !env.SERVICE_TOKEN_FILE?.trim()) {
  if (env.NODE_ENV === "production") {
    fail('SERVICE_TOKEN_FILE must name OrderService\'s token file in production (a token with the role "service")');
  }
  env.SERVICE_TOKEN_FILE = resolve(env.DATA_DIR ?? "data", "svc-orders.token");
  await writeServiceToken(env.SERVICE_TOKEN_FILE);
  renewal = setInterval(
    () =>
      writeServiceToken(env.SERVICE_TOKEN_FILE).catch((error) => {
        console.error(`start: could not renew the development service token: ${error.message}`);
      }),
    (TOKEN_TTL_SECONDS * 1000) / 2,
  );
}

/**
 * Mints a development service token with the dev-token tool and swaps it into place atomically (readable by us only).
 */
async function writeServiceToken(file) {
  const [command, args] = commandOf("dev-token.mjs", "services/kit/src/dev-token-cli.ts", [
    "--sub",
    "svc-orders",
    "--roles",
    "service",
    "--ttl",
    String(TOKEN_TTL_SECONDS),
  ]);
  const { stdout } = await promisify(execFile)(command, args, { env });
  mkdirSync(resolve(file, ".."), { recursive: true });
  writeFileSync(`${file}.next`, stdout, { mode: 0o600 });
  renameSync(`${file}.next`, file);
}

const children = names.map((name) => {
  const [command, args] = commandOf(`${name}.mjs`, `services/${name}/src/main.ts`);
  return spawn(command, args, { stdio: "inherit", env });
});

let stopping = false;
/** Sends signal to every child still running. */
function stopAll(signal) {
  if (stopping) return;
  stopping = true;
  clearInterval(renewal);
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

let exitCode = 0;
let running = children.length;
children.forEach((child, i) =>
  child.once("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${names[i]} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      stopAll("SIGTERM");
    }
    if (--running === 0) process.exit(exitCode);
  }),
);
process.once("SIGINT", () => stopAll("SIGINT"));
process.once("SIGTERM", () => stopAll("SIGTERM"));
