import { z } from 'zod';
import { badUserInput } from './errors';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

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

/** The cursor of lists sorted newest first by (createdAt, id). */
export const createdAtCursor = z.tuple([z.iso.datetime(), z.uuid()]);
