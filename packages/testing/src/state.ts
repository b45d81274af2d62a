import { createHash } from 'node:crypto';
import type { KafkaConnection } from '@shop/events';
import type { Redis } from 'ioredis';
import pg from 'pg';

// Whole-system state for drills: a digest of every table and every Redis key of a test supergraph, whether
// its outboxes are drained, and how far behind a consumer group is. Two equal snapshots mean nothing changed.

/** Rows and a digest of every row, per table (migration bookkeeping aside). */
export type DatabaseSnapshot = Record<string, { rows: number; digest: string }>;

/** Every table of one database: its row count and an md5 of its rows in a fixed order. */
export async function snapshotDatabase(url: string): Promise<DatabaseSnapshot> {
  return withClient(url, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'
       ORDER BY table_name`,
    );
    const snapshot: DatabaseSnapshot = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ rows: number; digest: string | null }>(
        `SELECT count(*)::int AS rows, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS digest
         FROM ${pg.escapeIdentifier(name)} t`,
      );
      snapshot[name] = { rows: rows[0]?.rows ?? 0, digest: rows[0]?.digest ?? '' };
    }
    return snapshot;
  });
}

/** Outbox rows not yet published (every Postgres subgraph has the table). */
export async function unpublishedOutboxRows(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL',
    );
    return rows[0]?.n ?? 0;
  });
}

/** One query against a test database (assertions on rows a GraphQL API does not show). */
export async function queryDatabase<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  return withClient(url, async (client) => (await client.query<R>(text, values)).rows);
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * A digest of every key under the client's key prefix (its type and serialised value, TTLs aside), by key
 * without the prefix.
 */
export async function snapshotRedis(redis: Redis): Promise<Record<string, string>> {
  const prefix = String(redis.options.keyPrefix ?? '');
  const raw = redis.duplicate({ keyPrefix: '' });
  try {
    const snapshot: Record<string, string> = {};
    let cursor = '0';
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      for (const key of keys) {
        const dumped = await raw.dumpBuffer(key);
        if (dumped) snapshot[key.slice(prefix.length)] = createHash('md5').update(dumped).digest('hex');
      }
      cursor = next;
    } while (cursor !== '0');
    return snapshot;
  } finally {
    raw.disconnect();
  }
}

/**
 * Messages of `topics` a consumer group has not committed yet (`groupId` and topics with their prefix). A
 * partition the group never committed counts from its oldest message, so a group that has not started yet
 * is as far behind as the topics are long. Without `topics`, the topics the group has committed offsets on
 * (a group of @shop/events commits its start offsets when it first joins).
 */
export async function consumerGroupLag(
  connection: KafkaConnection,
  groupId: string,
  topics?: readonly string[],
): Promise<number> {
  const admin = connection.kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets(topics ? { groupId, topics: [...topics] } : { groupId });
    let lag = 0;
    for (const { topic, partitions } of committed) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const offset = Number(partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
        lag += Number(end.high) - Math.max(offset, Number(end.low));
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The consumer groups whose names start with `prefix` (a test supergraph's Kafka prefix), feeds' groups
 * (`feed.*`, per instance, deleted when they stop) aside.
 */
export async function consumerGroupsOf(connection: KafkaConnection, prefix: string): Promise<string[]> {
  const admin = connection.kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    return groups
      .map((group) => group.groupId)
      .filter((groupId) => groupId.startsWith(prefix) && !groupId.slice(prefix.length).startsWith('feed.'))
      .sort();
  } finally {
    await admin.disconnect();
  }
}
