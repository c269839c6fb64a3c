// Schema migrations, the same shape for every engine: an ordered, append-only list. A released migration is never
// edited, because databases in the field have already run it; a schema changes with a new version instead.

/** One schema step; `version` values are 1, 2, 3... in list order. */
export interface Migration {
  version: number;
  /** A short human name, for logs. */
  name: string;
  /** SQL run inside the migration's transaction. */
  sql: string;
}

/** Throws unless the versions are exactly 1, 2, 3... in list order. */
export function checkMigrationOrder(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration ${migration.name} has version ${migration.version}, expected ${index + 1}`);
    }
  });
}
