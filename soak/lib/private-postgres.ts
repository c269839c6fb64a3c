// A PostgreSQL instance of the scenario's own: initdb into a temporary directory, a free loopback port, its own socket
// directory. Scenarios restart and load it at will without touching the machine's shared cluster, which other
// engineers' tests (and CI's parallel vitest files) use at the same time. The server runs as the `postgres` user when
// the harness runs as root (PostgreSQL refuses to run as root), else as the current user.
import { execFile, execFileSync } from "node:child_process";
import { chownSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./net.js";
import { registerCleanup } from "./cleanup.js";

const run = promisify(execFile);

/** A private PostgreSQL server. */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  /** Stops it (`pg_ctl stop -m fast`: sessions are terminated, as in an operator's restart). */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** Copies its server log to `<dir>/postgres.log`. */
  saveLog(dir: string): void;
  /** Stops it at once and deletes its directory; safe to call twice. */
  destroy(): Promise<void>;
}

/** Where Debian installs the server binaries: the newest /usr/lib/postgresql/<version>/bin, or PG_BIN. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0])
    throw new Error(
      "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql), or set PG_BIN",
    );
  return join(root, versions[0], "bin");
}

/** initdb, then start on a free port; the caller must destroy() it (a process-exit hook does too, as a backstop). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const home = mkdtempSync(join(tmpdir(), "orderly-soak-pg-"));
  if (asRoot) chownSync(home, ...postgresIds());
  const data = join(home, "data");
  const log = join(home, "server.log");
  const commandLine = (tool: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, tool), ...args]] : [join(bin, tool), args];
  const pgCommand = (tool: string, args: string[]) => run(...commandLine(tool, args));

  let port = 0;
  const ctl = (action: string, extra: string[] = []) =>
    pgCommand("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "60", ...extra, action]);
  const serverOptions = () => ["-o", `-p ${port} -k ${home} -c listen_addresses=127.0.0.1`];
  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    unregister();
    await ctl("stop", ["-m", "immediate"]).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  };
  const unregister = registerCleanup(() => {
    destroyed = true;
    // Synchronous on purpose: this also runs from process.on("exit").
    try {
      execFileSync(...commandLine("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]), { stdio: "ignore" });
    } catch {
      // already stopped
    }
    rmSync(home, { recursive: true, force: true });
  });

  try {
    await pgCommand("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
    // A port picked free can be taken before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await ctl("start", serverOptions());
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    const tail = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
    await destroy();
    throw new Error(`could not start a private PostgreSQL: ${(error as Error).message}\n${tail}`, { cause: error });
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await ctl("stop", ["-m", "fast"]);
    },
    start: async () => {
      await ctl("start", serverOptions());
    },
    saveLog: (dir) => {
      if (existsSync(log)) copyFileSync(log, join(dir, "postgres.log"));
    },
    destroy,
  };
}

function postgresIds(): [number, number] {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const fields = line?.split(":");
  if (!fields) throw new Error("running as root, but there is no postgres user to run PostgreSQL as");
  return [Number(fields[2]), Number(fields[3])];
}
