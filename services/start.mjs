// `npm start` (after `npm run build`): UserService and OrderService, each as its own process on its own port, so
// Order -> User is a real network call. Both run the built bundles with plain node and inherit this environment;
// SIGINT/SIGTERM stop both gracefully; if one dies, the other is stopped. Plain JavaScript, so it needs no loader.
import { spawn } from "node:child_process";

const services = [
  { name: "users", entry: "dist/users.mjs" },
  { name: "orders", entry: "dist/orders.mjs" },
];

const children = services.map(({ entry }) =>
  spawn(process.execPath, ["--enable-source-maps", entry], { stdio: "inherit", env: process.env }),
);

let stopping = false;
/** Sends signal to every child still running. */
function stopAll(signal) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

let exitCode = 0;
let running = children.length;
children.forEach((child, i) =>
  child.once("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${services[i].name} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      stopAll("SIGTERM");
    }
    if (--running === 0) process.exit(exitCode);
  }),
);
process.once("SIGINT", () => stopAll("SIGINT"));
process.once("SIGTERM", () => stopAll("SIGTERM"));
