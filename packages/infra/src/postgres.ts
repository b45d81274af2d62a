import { readdirSync } from 'node:fs';
import { ensureDatabase, withDatabase } from '@shop/db';
import pg from 'pg';
import { commandExists, run, waitUntil } from './process';

export async function postgresAnswers(postgresUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Starts the machine's own PostgreSQL cluster (Debian's pg_ctlcluster); returns its version and name. */
export async function startMachinePostgres(
  postgresUrl: string,
): Promise<{ version: string; cluster: string }> {
  if (!commandExists('pg_ctlcluster')) {
    throw new Error(
      'PostgreSQL does not answer and pg_ctlcluster is missing: install postgresql or set POSTGRES_URL',
    );
  }
  const version = readdirSync('/etc/postgresql').sort().at(-1);
  if (version === undefined) throw new Error('no cluster under /etc/postgresql');
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
  await waitUntil('PostgreSQL', () => postgresAnswers(postgresUrl), { timeoutMs: 30_000 });
  return { version, cluster: 'main' };
}

export function stopMachinePostgres(version: string, cluster: string): void {
  run('pg_ctlcluster', ['--skip-systemctl-redirect', version, cluster, 'stop']);
}

/** Creates each database that does not exist yet; returns the ones it created. */
export async function ensureDatabases(postgresUrl: string, names: readonly string[]): Promise<string[]> {
  const created: string[] = [];
  for (const name of names) if (await ensureDatabase(withDatabase(postgresUrl, name))) created.push(name);
  return created;
}
