/** The configured store: PostgreSQL when a DSN is set, else SQLite under the data dir. Migrated. */
import type { ServerConfig } from '../config/config';
import { PostgresStore } from './postgres-store';
import { SqliteStore } from './sqlite-store';
import type { SnapshotStore } from './store';

export async function openStore(c: Pick<ServerConfig, 'postgresDsn' | 'dataDir'>): Promise<SnapshotStore> {
  const store = c.postgresDsn ? new PostgresStore(c.postgresDsn) : new SqliteStore(c.dataDir);
  await store.migrate();
  return store;
}
