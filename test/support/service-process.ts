// Starts an Orderly service as its own process (as `npm start` does), on port 0, and finds its port in the
// "listening" log line. End-to-end tests use it, so they talk to the service only over the network.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { TEST_AUTH, testToken } from "@orderly/kit/testing";

/** A service process under test. */
export interface ServiceProcess {
  address: string;
  port: number;
  child: ChildProcess;
  /** Every log line the process wrote. */
  logs: Record<string, unknown>[];
  /** Everything the process wrote, as it wrote it: each stdout line (log or not), and stderr. */
  readonly output: { readonly stdoutLines: readonly string[]; readonly stderr: string };
  /** SIGTERM, and wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: the process dies without a word. */
  kill(): Promise<void>;
}

/**
 * Environment that makes a service accept testToken() tokens, with SERVICE_TOKEN_FILE holding a service-role token
 * (as `npm start` provides one in development), so OrderService can call UserService.
 */
export async function testAuthEnv(): Promise<Record<string, string>> {
  const key = TEST_AUTH.key as { kind: "secret"; secret: string };
  const tokenFile = join(mkdtempSync(join(tmpdir(), "orderly-svc-token-")), "svc-orders.token");
  writeFileSync(tokenFile, await testToken("svc-orders", ["service"], { expiresInSeconds: 24 * 3600 }), {
    mode: 0o600,
  });
  return {
    JWT_SECRET: key.secret,
    JWT_ISSUER: TEST_AUTH.issuer,
    JWT_AUDIENCE: TEST_AUTH.audience,
    SERVICE_TOKEN_FILE: tokenFile,
  };
}

/** A fresh data directory. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "orderly-e2e-"));
}

/**
 * Runs `entry` (a TypeScript main under tsx, or a built .mjs bundle on plain node) with `args`, and resolves once it
 * logged "listening" `listening` times (more than once for a launcher of several services).
 */
export async function startServiceProcess(
  entry: string,
  env: Record<string, string>,
  options: { args?: readonly string[]; listening?: number } = {},
): Promise<ServiceProcess> {
  const args = [
    ...(entry.endsWith(".mjs") ? ["--enable-source-maps", entry] : ["--import", "tsx", entry]),
    ...(options.args ?? []),
  ];
  let listening = options.listening ?? 1;
  const child = spawn(process.execPath, args, {
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const stdoutLines: string[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start in 20 s: ${stderr}`)), 20_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      stdoutLines.push(line);
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "listening" && --listening === 0) {
          clearTimeout(timer);
          resolve(entry.port as number);
        }
      } catch {
        // not a log line
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before listening: ${stderr}${stdoutLines.slice(-3).join("\n")}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    address: `127.0.0.1:${port}`,
    port,
    child,
    logs,
    output: {
      stdoutLines,
      get stderr() {
        return stderr;
      },
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
