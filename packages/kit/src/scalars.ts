import {
  GraphQLError,
  GraphQLScalarType,
  type GraphQLSchema,
  isScalarType,
  Kind,
  type ValueNode,
} from 'graphql';

const DECIMAL = /^-?\d{1,18}(\.\d{1,18})?$/;

// A refused input value: BAD_USER_INPUT, located at the literal when it was one.
function invalid(message: string, node?: ValueNode): GraphQLError {
  return new GraphQLError(message, {
    ...(node ? { nodes: node } : {}),
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

function parseDecimal(value: unknown, node?: ValueNode): string {
  if (typeof value === 'string' && DECIMAL.test(value)) return value;
  // Integers are exact; any other number may already have lost precision on its way here.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw invalid('Decimal must be a string such as "99.99"', node);
}

/**
 * Exact decimal numbers (money) as strings: "99.99". Resolvers return strings (or decimal objects, which
 * are printed with toString); inputs reach resolvers as validated strings, never floats.
 */
export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number serialised as a string, e.g. "99.99". Never a float.',
  serialize: (value) => {
    const text = typeof value === 'object' && value !== null ? String(value) : value;
    if (typeof text === 'string' && DECIMAL.test(text)) return text;
    if (typeof text === 'number' && Number.isFinite(text)) return String(text);
    throw new GraphQLError(`Decimal cannot represent ${String(value)}`);
  },
  parseValue: parseDecimal,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT)
      return parseDecimal(ast.kind === Kind.INT ? Number(ast.value) : ast.value, ast);
    throw invalid('Decimal must be a string such as "99.99"', ast);
  },
});

/** Money as the contract shapes it: `{ amount: "99.99", currency: "USD" }`, two decimals always. */
export function money(amount: { toFixed(digits: number): string } | string, currency: string) {
  return { amount: typeof amount === 'string' ? amount : amount.toFixed(2), currency };
}

function toIsoString(value: unknown): string | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  return date !== undefined && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

// Years 0001 to 9999: what ISO-8601 writes with four digits and Postgres stores (it has no year 0).
const STORABLE_ISO = /^(?!0000)\d{4}-/;

function parseDateTime(value: unknown, node?: ValueNode): string {
  const text = typeof value === 'string' ? toIsoString(value) : undefined;
  if (text === undefined || !STORABLE_ISO.test(text)) {
    throw invalid(
      'DateTime must be an ISO-8601 string between years 0001 and 9999, such as "2026-02-01T09:30:00.000Z"',
      node,
    );
  }
  return text;
}

/** Points in time as ISO-8601 strings in UTC; resolvers may return Dates or such strings. */
export const DateTimeScalar = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An instant in time as an ISO-8601 string in UTC, e.g. "2026-02-01T12:00:00.000Z".',
  serialize: (value) => {
    const text = toIsoString(value);
    if (text === undefined) throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
    return text;
  },
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined, ast),
});

/** The custom scalars every subgraph shares, by name. */
export const kitScalars: readonly GraphQLScalarType[] = [DecimalScalar, DateTimeScalar];

/**
 * Gives a schema's custom scalars named like the kit's (Decimal, DateTime) the kit's parsing and serialising.
 * A gateway's schema, built from the supergraph SDL, knows these scalars only by name and would pass any value
 * through to a subgraph; with this it refuses an invalid one itself (BAD_USER_INPUT, 400) before planning.
 * Changes the schema's scalar types in place.
 */
export function applyKitScalars(schema: GraphQLSchema): void {
  for (const scalar of kitScalars) {
    const type = schema.getType(scalar.name);
    if (!isScalarType(type) || type === scalar) continue;
    type.serialize = scalar.serialize;
    type.parseValue = scalar.parseValue;
    type.parseLiteral = scalar.parseLiteral;
  }
}
