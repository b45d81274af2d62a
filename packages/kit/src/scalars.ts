import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const DECIMAL = /^-?\d{1,18}(\.\d{1,18})?$/;

function parseDecimal(value: unknown): string {
  if (typeof value === 'string' && DECIMAL.test(value)) return value;
  // Integers are exact; any other number may already have lost precision on its way here.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw new GraphQLError('Decimal must be a string such as "99.99"', {
    extensions: { code: 'BAD_USER_INPUT' },
  });
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
      return parseDecimal(ast.kind === Kind.INT ? Number(ast.value) : ast.value);
    throw new GraphQLError('Decimal must be a string such as "99.99"', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
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

function parseDateTime(value: unknown): string {
  const text = typeof value === 'string' ? toIsoString(value) : undefined;
  if (text === undefined) {
    throw new GraphQLError('DateTime must be an ISO-8601 string such as "2026-02-01T09:30:00.000Z"', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
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
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});
