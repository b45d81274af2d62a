import { z } from 'zod';
import { badUserInput } from './errors';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export interface PageArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
}

export interface Page<C> {
  take: number;
  /** The decoded cursor to continue after, if any. */
  after: C | undefined;
}

/** Opaque cursors: base64url JSON of whatever the list sorts by (e.g. [createdAt, id]). */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Validates `first` and decodes `after` against the shape the list sorts by; bad input is BAD_USER_INPUT. */
export function readPage<C>(args: PageArgs, cursorShape: z.ZodType<C>): Page<C> {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, { argument: 'first' });
  }
  if (args.after === undefined || args.after === null) return { take: first, after: undefined };
  // Node's base64url decoder skips characters outside the alphabet: without this a cursor with an RTL override
  // or a zero-width space in it would pass for the cursor it was made from.
  if (!BASE64URL.test(args.after)) {
    throw badUserInput('after is not a cursor this list gave out', { argument: 'after' });
  }
  try {
    return {
      take: first,
      after: cursorShape.parse(JSON.parse(Buffer.from(args.after, 'base64url').toString())),
    };
  } catch {
    throw badUserInput('after is not a cursor this list gave out', { argument: 'after' });
  }
}

export interface Connection<N> {
  edges: { cursor: string; node: N }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/**
 * A Relay connection from rows fetched with `take + 1`: the extra row only says there is a next page.
 */
export function toConnection<N>(
  rows: N[],
  page: Page<unknown>,
  cursorOf: (node: N) => unknown,
): Connection<N> {
  const nodes = rows.slice(0, page.take);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: rows.length > page.take,
      hasPreviousPage: page.after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

// Every row we page over was created after 1970; a cursor outside these years was not given out by us, and
// Postgres refuses some of them (it has no year 0) with an error that would fail the whole query.
const EARLIEST_CURSOR_MS = Date.UTC(1970, 0, 1);
const LATEST_CURSOR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An instant in a cursor: ISO-8601 in UTC, between 1970 and 9999. */
export const cursorInstant = z.iso.datetime().refine((text) => {
  const time = new Date(text).getTime();
  return time >= EARLIEST_CURSOR_MS && time <= LATEST_CURSOR_MS;
}, 'must be between 1970 and 9999');

/** The cursor of lists sorted newest first by (createdAt, id). */
export const createdAtCursor = z.tuple([cursorInstant, z.uuid()]);

/** Where a newest-first keyset page starts: strictly after this row. */
export interface KeysetAfter {
  createdAt: Date;
  id: string;
}

/**
 * One page of a newest-first list (createdAt desc, id desc), the one way every subgraph pages: validates
 * `first`/`after`, asks `fetch` for one row more than the page (it says whether a next page exists) strictly
 * after the cursor's row, and shapes the Relay connection with (createdAt, id) cursors.
 */
export async function newestFirstPage<N extends { id: string; createdAt: Date }>(
  args: PageArgs,
  fetch: (take: number, after: KeysetAfter | undefined) => Promise<N[]>,
): Promise<Connection<N>> {
  const page = readPage(args, createdAtCursor);
  const after = page.after && { createdAt: new Date(page.after[0]), id: page.after[1] };
  const rows = await fetch(page.take + 1, after);
  return toConnection(rows, page, (row) => [row.createdAt.toISOString(), row.id]);
}
