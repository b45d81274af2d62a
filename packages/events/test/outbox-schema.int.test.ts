import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { eventsMigrationsDir, handleOnce, OutboxRelay, outboxTransaction } from '@shop/events';
import {
  createTestDatabase,
  createTestKafka,
  type TestDatabase,
  type TestKafka,
  testLogger,
  waitFor,
} from '@shop/testing';
import { createLedgerClient, ledgerProjectDir } from '@shop/testing/fixture';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The fixture's schema.prisma declares OutboxEvent and ProcessedEvent: the models a subgraph copies to read
// the events tables through Prisma. Their columns, keys and indexes must be exactly what @shop/events'
// migration creates. Prisma's schema engine (which could diff the two) cannot run here, so the models are
// read from schema.prisma with a parser for the few constructs they use; anything else fails loudly.

interface ColumnShape {
  column: string;
  type: string;
  precision: number | null;
  nullable: boolean;
  default: string | null;
}

interface IndexShape {
  name: string;
  primary: boolean;
  unique: boolean;
  columns: string[];
}

interface TableShape {
  table: string;
  columns: ColumnShape[];
  indexes: IndexShape[];
}

function modelShape(schema: string, model: string): TableShape {
  const body = new RegExp(`^model ${model} \\{\\n([^}]*)^\\}`, 'm').exec(schema)?.[1];
  if (body === undefined) throw new Error(`schema.prisma has no model ${model}`);
  const fields: { name: string; column: ColumnShape; id: boolean }[] = [];
  let table = model;
  let compositeId: string[] | undefined;
  const indexFields: string[][] = [];
  const list = (text: string) => text.split(',').map((name) => name.trim());
  for (const line of body.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('//')) continue;
    const block = /^@@(\w+)\((.*)\)$/.exec(line);
    if (block) {
      const [, attribute, args = ''] = block;
      if (attribute === 'map') table = JSON.parse(args);
      else if (attribute === 'id') compositeId = list(args.replace(/^\[|\]$/g, ''));
      else if (attribute === 'index') indexFields.push(list(args.replace(/^\[|\]$/g, '')));
      else throw new Error(`unsupported @@${attribute} in ${model}`);
      continue;
    }
    const field = /^(\w+)\s+(\w+)(\?)?\s*(.*)$/.exec(line);
    if (!field) throw new Error(`cannot read "${line}" in ${model}`);
    const [, name = '', prismaType = '', optional, attributes = ''] = field;
    let column = name;
    let nativeType: string | undefined;
    let nativeArgs: string | undefined;
    let dbDefault: string | null = null;
    let id = false;
    for (const [, attribute = '', args] of attributes.matchAll(/@([\w.]+)(?:\(([^)]*)\))?/g)) {
      if (attribute === 'id') id = true;
      else if (attribute === 'map') column = JSON.parse(args ?? '');
      else if (attribute.startsWith('db.')) [nativeType, nativeArgs] = [attribute.slice(3), args];
      else if (attribute === 'default') {
        const value = args ?? '';
        dbDefault =
          value === 'autoincrement(' || value === 'autoincrement()'
            ? 'nextval'
            : value === 'now(' || value === 'now()'
              ? 'CURRENT_TIMESTAMP'
              : /^-?\d+$/.test(value)
                ? value
                : expect.fail(`unsupported default ${value} in ${model}.${name}`);
      } else throw new Error(`unsupported @${attribute} in ${model}.${name}`);
    }
    const types: Record<string, string> = {
      'String/': 'text',
      'String/Uuid': 'uuid',
      'BigInt/': 'bigint',
      'Int/': 'integer',
      'Json/': 'jsonb',
      'DateTime/': 'timestamp without time zone',
      'DateTime/Timestamptz': 'timestamp with time zone',
    };
    const type = types[`${prismaType}/${nativeType ?? ''}`];
    if (type === undefined) throw new Error(`unsupported type ${prismaType} @db.${nativeType} in ${model}`);
    const precision = prismaType === 'DateTime' ? Number(nativeArgs ?? 3) : null;
    fields.push({
      name,
      id,
      column: { column, type, precision, nullable: optional === '?', default: dbDefault },
    });
  }
  const columnOf = (name: string) => {
    const found = fields.find((f) => f.name === name);
    if (!found) throw new Error(`${model} has no field ${name}`);
    return found.column.column;
  };
  const primaryKey = compositeId ?? fields.filter((f) => f.id).map((f) => f.name);
  return {
    table,
    columns: fields.map((f) => f.column),
    indexes: [
      { name: `${table}_pkey`, primary: true, unique: true, columns: primaryKey.map(columnOf) },
      ...indexFields.map((names) => {
        const columns = names.map(columnOf);
        return { name: `${table}_${columns.join('_')}_idx`, primary: false, unique: false, columns };
      }),
    ].sort((a, b) => a.name.localeCompare(b.name)),
  };
}

async function databaseShape(client: pg.Client, table: string): Promise<TableShape> {
  const { rows: columns } = await client.query<ColumnShape>(
    `SELECT column_name AS column, data_type AS type, datetime_precision AS precision,
            is_nullable = 'YES' AS nullable, column_default AS default
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1
      ORDER BY ordinal_position`,
    [table],
  );
  const { rows: indexes } = await client.query<IndexShape>(
    `SELECT i.relname AS name, ix.indisprimary AS primary, ix.indisunique AS unique,
            array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index ix
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_class i ON i.oid = ix.indexrelid
       CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
      WHERE t.relname = $1
      GROUP BY i.relname, ix.indisprimary, ix.indisunique`,
    [table],
  );
  return {
    table,
    columns: columns.map((c) => ({
      ...c,
      // A BIGSERIAL's default names its sequence: what matters is that it draws from one.
      default: c.default?.startsWith('nextval(') ? 'nextval' : c.default,
    })),
    indexes: indexes.sort((a, b) => a.name.localeCompare(b.name)),
  };
}

describe("@shop/events' migration and the fixture's OutboxEvent/ProcessedEvent models", () => {
  const logger = testLogger('outbox-schema');
  const schema = readFileSync(path.join(ledgerProjectDir, 'prisma', 'schema.prisma'), 'utf8');
  let db: TestDatabase;
  let kafka: TestKafka;

  beforeAll(async () => {
    // The events fragment alone, applied by @shop/db's runner (the testkit migrates its templates with it).
    [db, kafka] = await Promise.all([createTestDatabase([eventsMigrationsDir]), createTestKafka()]);
  });
  afterAll(async () => {
    await kafka?.cleanup();
    await db?.drop();
  });

  it('agree column for column: types, nullability, defaults, primary keys and indexes', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows: tables } = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      expect(tables.map((t) => t.table_name)).toEqual([
        '_prisma_migrations',
        'outbox_events',
        'processed_events',
      ]);
      for (const model of ['OutboxEvent', 'ProcessedEvent']) {
        const expected = modelShape(schema, model);
        expect(await databaseShape(client, expected.table)).toEqual(expected);
      }
    } finally {
      await client.end();
    }
  });

  it('carry the outbox transaction, the relay and handleOnce, read back through the Prisma models', async () => {
    const prisma = createLedgerClient(db.url);
    const relay = new OutboxRelay({
      databaseUrl: db.url,
      connection: kafka.connection,
      logger,
      pollIntervalMs: 50,
    });
    try {
      const topic = await kafka.readTopic(kafka.connection.topic('order.cancelled'));
      const orderId = randomUUID();
      const [event] = await outboxTransaction(prisma, { source: 'orders' }, (_tx, enqueue) =>
        enqueue({
          type: 'order.cancelled',
          data: { orderId, userId: randomUUID(), reason: 'CUSTOMER_REQUEST' },
        }),
      );
      if (!event) throw new Error('nothing enqueued');
      relay.start();

      await waitFor('the event on its topic', () =>
        topic.messages.some((m) => m.headers?.['event-id']?.toString() === event.id),
      );
      const row = await waitFor('the row marked published', async () => {
        const found = await prisma.outboxEvent.findUniqueOrThrow({ where: { id: event.id } });
        return found.publishedAt ? found : undefined;
      });
      expect(row).toMatchObject({ topic: 'order.cancelled', key: orderId, attempts: 1, lastError: null });
      expect(row.envelope).toEqual(JSON.parse(JSON.stringify(event)));

      let runs = 0;
      const work = async () => void runs++;
      expect(await handleOnce(prisma, 'mailer', event, work)).toBe('processed');
      expect(await handleOnce(prisma, 'mailer', event, work)).toBe('duplicate');
      expect(runs).toBe(1);
      expect(await prisma.processedEvent.findMany({ where: { eventId: event.id } })).toEqual([
        { consumerGroup: 'mailer', eventId: event.id, processedAt: expect.any(Date) },
      ]);
    } finally {
      await relay.stop();
      await prisma.$disconnect();
    }
  });
});
