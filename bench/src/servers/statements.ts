import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny HTTP endpoint answering `GET /` with how many SQL statements each subgraph's Prisma adapter has sent
 * so far (`sql`, the test launcher's record of them), and `GET /?texts=1` with the count of each distinct
 * statement too: the bench reads it before and after the customers' window. Listens on 127.0.0.1, any port.
 */
export async function serveStatementCounts(subgraphs: Record<string, { sql: string[] }>): Promise<string> {
  const server = createServer((request, response) => {
    const texts = new URL(request.url ?? '/', 'http://x').searchParams.has('texts');
    const counts = Object.fromEntries(
      Object.entries(subgraphs).map(([name, subgraph]) => [
        name,
        { count: subgraph.sql.length, ...(texts ? { texts: countTexts(subgraph.sql) } : {}) },
      ]),
    );
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(counts));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

function countTexts(statements: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const statement of statements) {
    const text = statement.replace(/\s+/g, ' ').trim();
    counts[text] = (counts[text] ?? 0) + 1;
  }
  return counts;
}
