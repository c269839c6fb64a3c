// The benchmark's throwaway PostgreSQL databases: a run killed with SIGKILL never drops its own, so the next run drops
// every one whose creating process is gone, and leaves alone those of runs still going.
import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { benchDatabaseOwner, benchPostgresUrl, createBenchDatabase } from "../bench/lib/postgres.js";

async function databases(): Promise<string[]> {
  const client = new pg.Client({ connectionString: benchPostgresUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'orderly\\_bench\\_%'",
    );
    return rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

async function create(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: benchPostgresUrl() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

describe("benchmark databases", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const drop of cleanup) await drop();
  });

  it("reads the owning pid from a benchmark database's name, and nothing from other names", () => {
    expect(benchDatabaseOwner("orderly_bench_4242_mf3k2a_1")).toBe(4242);
    expect(benchDatabaseOwner("orderly_bench_x_1")).toBeUndefined();
    expect(benchDatabaseOwner("orderly_test_4242_mf3k2a_1")).toBeUndefined();
  });

  it("drops the databases of runs that are gone, keeps those of live runs", async () => {
    // A pid that was just in use and is not any more.
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    const orphan = `orderly_bench_${gone}_orphan_1`;
    const live = `orderly_bench_${process.pid}_live_1`;
    await create(orphan);
    await create(live);
    cleanup.push(async () => {
      const client = new pg.Client({ connectionString: benchPostgresUrl() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${orphan}`);
      await client.query(`DROP DATABASE IF EXISTS ${live}`);
      await client.end();
    });

    const fresh = await createBenchDatabase();
    cleanup.push(() => fresh.drop());

    const after = await databases();
    expect(after).not.toContain(orphan);
    expect(after).toContain(live);
    expect(after).toContain(fresh.name);
  });
});
