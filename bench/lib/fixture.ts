// The benchmark's users: one deterministic User per index, seeded into the real SQLite store for Orderly and produced
// from the same function by the bare server, so both answer with byte-identical messages.
import Database from "better-sqlite3";
import type { User } from "@orderly/proto/orderly/user/v1/user";
import { openSqliteUserStore } from "@orderly/users";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BASE_TIME_MS = Date.UTC(2025, 0, 1);

function base32(value: number, width: number): string {
  let out = "";
  for (let rest = value; out.length < width; rest = Math.floor(rest / 32)) out = CROCKFORD[rest % 32]! + out;
  return out;
}

/** The id of user `index`: "usr_" + a ULID (creation time, then the index), so ids sort in index order. */
export function fixtureUserId(index: number): string {
  return `usr_${base32(BASE_TIME_MS + index, 10)}${base32(index, 16)}`;
}

/** User `index` as the wire message. */
export function fixtureUser(index: number): User {
  const time = new Date(BASE_TIME_MS + index);
  return {
    id: fixtureUserId(index),
    email: `user${index}@bench.example.com`,
    profile: {
      firstName: `First${index}`,
      lastName: `Last${index}`,
      avatarUrl: `https://img.example.com/u/${index}.png`,
      preferences: { locale: "en-GB", theme: index % 2 ? "dark" : "light" },
    },
    createTime: time,
    updateTime: time,
    etag: index.toString(16).padStart(16, "0"),
  };
}

/**
 * Creates `path` with the store's own schema (opened once through openSqliteUserStore), then bulk-inserts users
 * 0..count-1.
 */
export async function seedUsers(path: string, count: number): Promise<void> {
  await (await openSqliteUserStore({ path })).close();
  const db = new Database(path);
  try {
    db.pragma("synchronous = OFF");
    const insert = db.prepare(
      `INSERT INTO users (id, email, first_name, last_name, avatar_url, preferences, create_time, update_time, etag)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    db.transaction(() => {
      for (let index = 0; index < count; index++) {
        const user = fixtureUser(index);
        const profile = user.profile!;
        const time = user.createTime!.getTime();
        insert.run(
          user.id,
          user.email,
          profile.firstName,
          profile.lastName,
          profile.avatarUrl,
          JSON.stringify(profile.preferences),
          time,
          time,
          user.etag,
        );
      }
    })();
    db.pragma("wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}
