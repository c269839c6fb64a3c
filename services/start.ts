// `npm start`: UserService and OrderService, each as its own process on its own port, so Order -> User is a real
// network call. Both inherit this environment; SIGINT/SIGTERM stop both gracefully; if one dies, the other is stopped.
import { spawn, type ChildProcess } from "node:child_process";

const services = [
  { name: "users", entry: "services/users/src/main.ts" },
  { name: "orders", entry: "services/orders/src/main.ts" },
];

const children: ChildProcess[] = services.map(({ entry }) =>
  spawn(process.execPath, ["--import", "tsx", entry], { stdio: "inherit", env: process.env }),
);

let stopping = false;
function stopAll(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

let exitCode = 0;
let running = children.length;
children.forEach((child, i) =>
  child.once("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${services[i]!.name} exited (${signal ?? code}); stopping the others`);
      exitCode = 1;
      stopAll("SIGTERM");
    }
    if (--running === 0) process.exit(exitCode);
  }),
);
process.once("SIGINT", () => stopAll("SIGINT"));
process.once("SIGTERM", () => stopAll("SIGTERM"));
