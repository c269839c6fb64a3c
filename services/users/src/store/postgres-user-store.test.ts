import { afterAll, describe, expect, it } from "vitest";
import pg from "pg";
import { DomainError } from "@orderly/kit/domain";
import { dropSchema, describePostgres, freshSchema, pgTestUrl, startOutageProxy } from "@orderly/storage/testing";
import type { UserRecord, UserStore } from "../domain/user-store.js";
import { openPostgresUserStore } from "./postgres-user-store.js";
import { describeUserStoreContract } from "./user-store.contract.js";

const url = pgTestUrl();
const schemas: string[] = [];
function schemaFor(prefix: string): string {
  const schema = freshSchema(prefix);
  schemas.push(schema);
  return schema;
}
afterAll(async () => {
  for (const schema of schemas) await dropSchema(url, schema);
});

function recordOf(n: number): UserRecord {
  return {
    id: `usr_${n}`,
    email: `u${n}@example.com`,
    profile: { firstName: "F", lastName: "L", avatarUrl: "", preferences: { a: "b" } },
    now: new Date(1_700_000_000_123),
    etag: `e${n}`,
  };
}

function unavailable(): unknown {
  return expect.objectContaining({ kind: "unavailable", reason: "STORE_UNAVAILABLE", retryAfterMs: 1000 });
}

describePostgres("postgres user store", () => {
  // Each contract test gets an empty schema of its own, so tests cannot see each other's rows.
  describeUserStoreContract("postgres", () => openPostgresUserStore({ url, schema: schemaFor("users_contract") }));

  describe("postgres specifics", () => {
    it("stores emails lower-case under a unique index on lower(email), and times with millisecond precision", async () => {
      const schema = schemaFor("users_pg");
      const store = await openPostgresUserStore({ url, schema });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await store.create({ ...recordOf(1), email: "Mixed@Example.COM" });
        // A writer that bypasses the store's lower-casing still cannot duplicate an address.
        const raw = client.query(
          `INSERT INTO ${schema}.users (id, email, create_time, update_time, etag) VALUES ('usr_x', 'MIXED@example.com', now(), now(), 'e')`,
        );
        await expect(raw).rejects.toMatchObject({ code: "23505" });
        const { rows } = await client.query<{ email: string; ms: string }>(
          `SELECT email, (extract(epoch FROM create_time) * 1000)::bigint::text AS ms FROM ${schema}.users`,
        );
        expect(rows).toEqual([{ email: "mixed@example.com", ms: "1700000000123" }]);
        expect((await store.get("usr_1"))?.createTime.getTime()).toBe(1_700_000_000_123);
      } finally {
        await client.end();
        await store.close();
      }
    });

    it("keeps rows across re-opens and applies migrations once when replicas open together", async () => {
      const schema = schemaFor("users_race");
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresUserStore({ url, schema, max: 2 })));
      await stores[0]!.create(recordOf(1));
      expect((await stores[3]!.get("usr_1"))?.email).toBe("u1@example.com");
      await Promise.all(stores.map((s) => s.close()));
      const reopened = await openPostgresUserStore({ url, schema });
      expect((await reopened.get("usr_1"))?.email).toBe("u1@example.com");
      await reopened.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ version: number }>(
        `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
      );
      await client.end();
      expect(rows).toEqual([{ version: 1 }]);
    });

    it("lets exactly one of two replicas win a compare-and-set", async () => {
      const schema = schemaFor("users_cas");
      const [a, b] = await Promise.all([
        openPostgresUserStore({ url, schema }),
        openPostgresUserStore({ url, schema }),
      ]);
      try {
        const user = await a.create(recordOf(1));
        const results = await Promise.all([
          a.update({ ...user, profile: { ...user.profile, firstName: "A" }, etag: "from-a" }, user.etag),
          b.update({ ...user, profile: { ...user.profile, firstName: "B" }, etag: "from-b" }, user.etag),
        ]);
        const winners = results.filter((r) => r !== undefined);
        expect(winners).toHaveLength(1);
        expect(await a.get("usr_1")).toEqual(winners[0]);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it("rejects opening a store on a port nothing listens on as STORE_UNAVAILABLE", async () => {
      const started = Date.now();
      const error = await openPostgresUserStore({
        url: "postgres://postgres@127.0.0.1:1/postgres",
        schema: "users",
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toEqual(unavailable());
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it("fails every method with STORE_UNAVAILABLE while the database is down and recovers without reopening", async () => {
      const proxy = await startOutageProxy();
      const store: UserStore = await openPostgresUserStore({
        url: proxy.urlFor(url),
        schema: schemaFor("users_outage"),
        connectionTimeoutMs: 1000,
      });
      try {
        const user = await store.create(recordOf(1));
        await proxy.down();
        const calls: [string, () => Promise<unknown>][] = [
          ["create", () => store.create(recordOf(2))],
          ["get", () => store.get("usr_1")],
          ["getMany", () => store.getMany(["usr_1"])],
          ["list", () => store.list({ filter: {}, limit: 5 })],
          [
            "scanBatches",
            async () => {
              for await (const _ of store.scanBatches({})) {
                /* drain */
              }
            },
          ],
          ["update", () => store.update({ ...user, etag: "e-new" }, user.etag)],
          ["delete", () => store.delete("usr_1", undefined)],
        ];
        for (const [name, call] of calls) {
          const error = await call().then(
            () => `${name} succeeded`,
            (e: unknown) => e,
          );
          expect(error, name).toEqual(unavailable());
        }
        await proxy.up();
        expect(await store.get("usr_1")).toEqual(user);
        expect((await store.create(recordOf(2))).id).toBe("usr_2");
      } finally {
        await store.close();
        await proxy.close();
      }
    });
  });
});
