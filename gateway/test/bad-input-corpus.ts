import { randomUUID } from 'node:crypto';
import {
  buildSchema,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  parse,
} from 'graphql';

// The bad-input corpus (issue 14): for every root field of the composed schema that takes input, requests whose
// arguments are valid except for one value a careless or hostile client got wrong. Operations, arguments and
// their types are read from the composed schema, so a new operation is covered without touching this file; only
// the valid values a field's arguments start from are chosen by name (a `productId` is the fixture's product).

/** A root field that takes input, where the composed supergraph says it is served and who may call it. */
export interface RootOperation {
  type: 'query' | 'mutation';
  field: GraphQLField<unknown, unknown>;
  /** The subgraph serving it (its @join__field graph). */
  subgraph: string;
  /** Whether @requiresScopes asks for the ADMIN role (otherwise a customer may call it). */
  adminOnly: boolean;
}

/** Every Query and Mutation field with arguments, from the API schema and the supergraph SDL. */
export function rootOperations(apiSdl: string, supergraphSdl: string): RootOperation[] {
  const schema = buildSchema(apiSdl);
  const supergraph = parse(supergraphSdl);
  const graphNames = new Map<string, string>();
  const served = new Map<string, { subgraph: string; adminOnly: boolean }>();
  for (const definition of supergraph.definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === 'join__Graph') {
      for (const value of definition.values ?? []) {
        const name = value.directives
          ?.find((d) => d.name.value === 'join__graph')
          ?.arguments?.find((a) => a.name.value === 'name')?.value;
        if (name?.kind === Kind.STRING) graphNames.set(value.name.value, name.value);
      }
    }
  }
  for (const definition of supergraph.definitions) {
    if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    if (definition.name.value !== 'Query' && definition.name.value !== 'Mutation') continue;
    for (const field of definition.fields ?? []) {
      const graph = field.directives
        ?.find((d) => d.name.value === 'join__field')
        ?.arguments?.find((a) => a.name.value === 'graph')?.value;
      const scopes = field.directives?.find((d) => d.name.value === 'requiresScopes');
      served.set(`${definition.name.value}.${field.name.value}`, {
        subgraph: graph?.kind === Kind.ENUM ? (graphNames.get(graph.value) ?? '') : '',
        adminOnly: scopes !== undefined && /"ADMIN"/.test(JSON.stringify(scopes)),
      });
    }
  }
  const operations: RootOperation[] = [];
  for (const [type, root] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
  ] as const) {
    for (const field of Object.values(root?.getFields() ?? {})) {
      if (field.args.length === 0) continue;
      const where = served.get(`${root?.name}.${field.name}`);
      if (!where?.subgraph) throw new Error(`no subgraph serves ${root?.name}.${field.name}`);
      operations.push({ type, field, ...where });
    }
  }
  return operations;
}

/** Real records the valid arguments point at, by GraphQL type name (`GuestCart` for a guest cart's id). */
export type FixtureIds = Record<string, string>;

/** What the valid argument values are made of. */
export interface Fixture {
  ids: FixtureIds;
  /** A cursor a list gave out. */
  cursor: string;
  refreshToken: string;
  /** The caller's current password (valid for changePassword). */
  password: string;
}

/** A value sent as JSON, or raw JSON text a serialiser would never write (`1e309`). */
export type BadValue = { json: unknown } | { raw: string };

export interface CorpusCase {
  category: string;
  /** `field(arg.path): what`. */
  label: string;
  operation: RootOperation;
  query: string;
  /** The variables as raw JSON text. */
  variables: string;
  /** A well-formed id of no record of its kind: a lookup may answer null instead of refusing. */
  wellFormedUnknownId: boolean;
}

const RAW = '__corpus_raw_value__';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT_MAX = 2 ** 31 - 1;
const RTL = '\u202E';
const ZERO_WIDTH = '\u200B';
const LONE_SURROGATE = '\uD800';
const EMOJI = '\u{1F6D2}';
const OVERSIZED = 10_001;

/** String arguments with a format (not free text): odd unicode there must be refused. */
const formatted = /^(email|sku|zipCode|country|after)$/;

/** Which fixture record an ID argument or input field names. */
function idFixture(name: string, field: GraphQLField<unknown, unknown>, ids: FixtureIds): string | undefined {
  const entity = name === 'id' ? getNamedType(field.type).name : name.replace(/Id$/, '');
  return Object.keys(ids).find((key) => key.toLowerCase().startsWith(entity.toLowerCase()));
}

const textByName: Record<string, string> = {
  sku: 'CORPUS-1',
  name: 'Corpus',
  street: '1 Main St',
  city: 'Boston',
  state: 'MA',
  zipCode: '02101',
  country: 'US',
  idempotencyKey: `corpus-${randomUUID()}`,
  newPassword: 'correct horse battery',
  search: 'corpus',
};

const intByName: Record<string, number> = {
  first: 1,
  quantity: 1,
  availableQuantity: 10,
  reorderQuantity: 10,
};

interface Context {
  field: GraphQLField<unknown, unknown>;
  fixture: Fixture;
}

/** A valid value of `type` for the argument or input field `name`. */
function validValue(name: string, type: GraphQLInputType, context: Context): unknown {
  if (isNonNullType(type)) return validValue(name, type.ofType, context);
  if (isListType(type)) return [validValue(name, type.ofType, context)];
  if (isInputObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type))
        .map((f) => [f.name, validValue(f.name, f.type, context)]),
    );
  }
  if (isEnumType(type)) return type.getValues()[0]?.value;
  switch (type.name) {
    case 'ID': {
      const fixture = idFixture(name, context.field, context.fixture.ids);
      return fixture ? context.fixture.ids[fixture] : randomUUID();
    }
    case 'Int':
      return intByName[name] ?? 5;
    case 'Decimal':
      return '1.00';
    case 'Boolean':
      return false;
    case 'String':
      if (name === 'after') return context.fixture.cursor;
      if (name === 'refreshToken') return context.fixture.refreshToken;
      if (name === 'email') {
        // A new account's, so a registration is refused for the bad value, not because the email is taken.
        return context.field.name === 'register' ? `corpus-${randomUUID()}@example.com` : 'test@example.com';
      }
      if (/password/i.test(name)) return textByName[name] ?? context.fixture.password;
      return textByName[name] ?? 'corpus';
    default:
      return 'corpus';
  }
}

interface Bad {
  category: string;
  what: string;
  value: BadValue;
  wellFormedUnknownId?: boolean;
}

const json = (category: string, what: string, value: unknown): Bad => ({
  category,
  what,
  value: { json: value },
});
const raw = (category: string, what: string, text: string): Bad => ({ category, what, value: { raw: text } });

/** The values of `type` that must be refused for `name` (leaf types; input objects and lists as wholes). */
function badValues(name: string, type: GraphQLInputType, context: Context): Bad[] {
  const bad: Bad[] = [];
  if (isNonNullType(type)) {
    bad.push(json('null for non-null', 'null', null));
    type = type.ofType;
  }
  if (isListType(type)) {
    const element = validValue(name, type.ofType, context);
    bad.push(
      json('wrong type', 'a string for a list', 'corpus'),
      json('batched and huge', 'an empty list', []),
      json('null for non-null', 'a list of null', [null]),
      json('batched and huge', 'the same element twice', [element, element]),
      json(
        'batched and huge',
        '10,000 elements',
        Array.from({ length: 10_000 }, () => element),
      ),
    );
    return bad;
  }
  const named: GraphQLNamedType = type;
  if (isInputObjectType(named)) {
    bad.push(
      json('wrong type', 'a string for an input object', 'corpus'),
      json('wrong type', 'a list for an input object', []),
      json('wrong type', 'an unknown field', { ...(validValue(name, named, context) as object), bogus: 1 }),
    );
    if (Object.values(named.getFields()).some((f) => isNonNullType(f.type))) {
      bad.push(json('null for non-null', 'an empty object', {}));
    }
    return bad;
  }
  if (isEnumType(named)) {
    const first = String(named.getValues()[0]?.value);
    bad.push(
      json('wrong type', 'an unknown enum value', 'NOT_A_VALUE'),
      json('wrong type', 'a lower-case enum value', first.toLowerCase()),
      json('wrong type', 'a number for an enum', 0),
      json('odd unicode', 'an enum value with a zero-width space', `${first}${ZERO_WIDTH}`),
    );
    return bad;
  }
  if (!isScalarType(named)) return bad;
  const objects = [json('wrong type', 'an object', { value: 1 })];
  switch (named.name) {
    case 'Int':
      bad.push(
        ...objects,
        json('wrong type', 'a numeric string', '1'),
        json('huge and negative numbers', 'a fraction', 1.5),
        json('huge and negative numbers', '-1', -1),
        json('huge and negative numbers', 'the largest Int', INT_MAX),
        json('huge and negative numbers', '1,000,001', 1_000_001),
        json('int overflow', '2^31', INT_MAX + 1),
        json('int overflow', '-2^31 - 1', -INT_MAX - 2),
        raw('int overflow', '1e20', '1e20'),
        raw('nan-like and exponents', '1e309 (Infinity once parsed)', '1e309'),
        json('nan-like and exponents', '"NaN"', 'NaN'),
        json('nan-like and exponents', '"Infinity"', 'Infinity'),
        json('nan-like and exponents', '"0x10"', '0x10'),
      );
      break;
    case 'Decimal':
      bad.push(
        ...objects,
        json('wrong type', 'a float', 0.1),
        raw('nan-like and exponents', '1e-3 as a number', '1e-3'),
        ...['1e309', '-0', '0x10', '1.0e2', '12.345', 'NaN', 'Infinity'].map((text) =>
          json('nan-like and exponents', `"${text}"`, text),
        ),
        ...['-1.00', '0', '0.00', '99999999999999999999.99', '999999999999999999', '10000000000.00'].map(
          (text) => json('huge and negative numbers', `"${text}"`, text),
        ),
        json('wrong type', 'an empty string', ''),
        json('wrong type', 'a decimal comma', '1,00'),
        json('odd unicode', 'Arabic-Indic digits', '\u0661.\u0660\u0660'),
        json('odd unicode', 'full-width digits', '\uFF11.00'),
      );
      break;
    case 'Boolean':
      bad.push(
        ...objects,
        json('wrong type', '"true"', 'true'),
        json('wrong type', '1', 1),
        json('wrong type', '"yes"', 'yes'),
      );
      break;
    case 'ID': {
      const fixture = idFixture(name, context.field, context.fixture.ids);
      const mine = fixture ? context.fixture.ids[fixture] : undefined;
      const other = Object.entries(context.fixture.ids).find(([key]) => key !== fixture)?.[1];
      const uuid = randomUUID();
      bad.push(
        json('wrong type', 'an object', { value: 1 }),
        json('malformed ids', 'an empty id', ''),
        json('malformed ids', 'not a UUID', 'not-a-uuid'),
        json('malformed ids', 'a truncated id', (mine ?? uuid).slice(0, -1)),
        json('malformed ids', 'an SQL fragment', `${mine ?? uuid}' OR '1'='1`),
        json('oversized strings', `${OVERSIZED} characters`, 'a'.repeat(OVERSIZED)),
        json('odd unicode', 'an RTL override in a UUID', `${RTL}${mine ?? uuid}`),
        json('odd unicode', 'an emoji', EMOJI),
        json('nul bytes', 'a NUL in a UUID', `${mine ?? uuid}\u0000`),
      );
      // 32 hex digits are a UUID's digits, and also the shape of an id that is not a UUID (a guest cart's).
      if (UUID.test(mine ?? uuid))
        bad.push(json('malformed ids', 'a UUID without dashes', uuid.replaceAll('-', '')));
      if (other) {
        bad.push({ ...json('malformed ids', 'the UUID of another type', other), wellFormedUnknownId: true });
      }
      bad.push({
        ...json('malformed ids', 'the nil UUID', '00000000-0000-0000-0000-000000000000'),
        wellFormedUnknownId: true,
      });
      break;
    }
    default: {
      // String and any other scalar: wrong types, sizes, NUL and invalid UTF-16 everywhere; odd characters and the
      // empty string where the value has a format.
      bad.push(
        ...objects,
        json('wrong type', 'a number', 12345),
        json('oversized strings', `${OVERSIZED} characters`, 'a'.repeat(OVERSIZED)),
        json('nul bytes', 'a NUL', 'corpus\u0000'),
        json('odd unicode', 'a lone surrogate', `corpus${LONE_SURROGATE}`),
      );
      if (formatted.test(name)) {
        bad.push(
          json('wrong type', 'an empty string', ''),
          json('odd unicode', 'an RTL override', `${RTL}${String(validValue(name, named, context))}`),
          json(
            'odd unicode',
            'a zero-width space',
            `${String(validValue(name, named, context))}${ZERO_WIDTH}`,
          ),
          json('odd unicode', 'an emoji', EMOJI),
        );
      }
      if (name === 'after') {
        const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
        bad.push(
          json('malformed cursors', 'not base64', '%%%'),
          json('malformed cursors', 'base64 of text', Buffer.from('corpus').toString('base64url')),
          json('malformed cursors', 'an object', cursor({ id: 1 })),
          json('malformed cursors', 'an empty list', cursor([])),
          json('malformed cursors', 'the wrong shape', cursor([1, 2, 3])),
          json('malformed cursors', 'an invalid date', cursor(['2026-13-45T99:00:00.000Z', randomUUID()])),
          json('malformed cursors', 'year 0000', cursor(['0000-01-01T00:00:00.000Z', randomUUID()])),
          json('malformed cursors', 'a non-UUID id', cursor(['2026-01-01T00:00:00.000Z', 'x'])),
          json(
            'malformed cursors',
            'a huge cursor',
            cursor(['2026-01-01T00:00:00.000Z', 'x'.repeat(50_000)]),
          ),
        );
      }
    }
  }
  return bad;
}

/** Sets `value` at `path` inside a copy of `root`. */
function withValue(
  root: Record<string, unknown>,
  path: (string | number)[],
  value: unknown,
): Record<string, unknown> {
  const copy = structuredClone(root);
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1) as string | number] = value;
  return copy;
}

/** The argument paths to corrupt: every argument, and inside input objects (first element of a list) every field. */
function inputPaths(
  name: string,
  type: GraphQLInputType,
  path: (string | number)[],
): { path: (string | number)[]; name: string; type: GraphQLInputType }[] {
  const here = [{ path, name, type }];
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const element = isNonNullType(inner.ofType) ? inner.ofType.ofType : inner.ofType;
    if (isInputObjectType(element)) return [...here, ...inputPaths(name, inner.ofType, [...path, 0])];
    return here;
  }
  if (!isInputObjectType(inner)) return here;
  return [
    ...here,
    ...Object.values(inner.getFields()).flatMap((f) => inputPaths(f.name, f.type, [...path, f.name])),
  ];
}

/**
 * The operation text calling `field` with every argument as a variable of the argument's own type, or `inline`
 * written into the document as a literal instead.
 */
export function operationText(operation: RootOperation, inline?: { arg: string; literal: string }): string {
  const { field } = operation;
  const variables = field.args.filter((a) => a.name !== inline?.arg);
  const declarations = variables.map((a: GraphQLArgument) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = field.args
    .map((a) => `${a.name}: ${a.name === inline?.arg ? inline.literal : `$${a.name}`}`)
    .join(', ');
  const named = getNamedType(field.type);
  const selection = isScalarType(named) || isEnumType(named) ? '' : ' { __typename }';
  return `${operation.type} Corpus${declarations ? `(${declarations})` : ''} { ${field.name}(${args})${selection} }`;
}

/** Variables as JSON text, with a raw JSON token where `value` asks for one. */
function variablesText(
  variables: Record<string, unknown>,
  path: (string | number)[],
  value: BadValue,
): string {
  if ('json' in value) return JSON.stringify(withValue(variables, path, value.json));
  return JSON.stringify(withValue(variables, path, RAW)).replace(JSON.stringify(RAW), value.raw);
}

/** Valid values of an operation's required arguments: what its cases start from. */
export function validVariables(operation: RootOperation, fixture: Fixture): Record<string, unknown> {
  const context: Context = { field: operation.field, fixture };
  const valid: Record<string, unknown> = {};
  for (const arg of operation.field.args) {
    if (isNonNullType(arg.type)) valid[arg.name] = validValue(arg.name, arg.type, context);
  }
  return valid;
}

/** Every bad-argument case of one operation. */
export function argumentCases(operation: RootOperation, fixture: Fixture): CorpusCase[] {
  const context: Context = { field: operation.field, fixture };
  const valid = validVariables(operation, fixture);
  const query = operationText(operation);
  const cases: CorpusCase[] = [];
  for (const arg of operation.field.args) {
    for (const { path, name, type } of inputPaths(arg.name, arg.type, [arg.name])) {
      const variables = valid;
      for (const bad of badValues(name, type, context)) {
        cases.push({
          category: bad.category,
          label: `${operation.field.name}(${path.join('.')}): ${bad.what}`,
          operation,
          query,
          variables: variablesText(variables, path, bad.value),
          wellFormedUnknownId: bad.wellFormedUnknownId ?? false,
        });
      }
    }
  }
  return cases;
}

/** An Int argument given as an out-of-range literal in the document itself (not a variable). */
export function literalOverflowCase(operation: RootOperation, fixture: Fixture): CorpusCase | undefined {
  const context: Context = { field: operation.field, fixture };
  const intArg = operation.field.args.find((a) => getNamedType(a.type).name === 'Int');
  if (!intArg) return undefined;
  const valid: Record<string, unknown> = {};
  for (const arg of operation.field.args) {
    if (arg !== intArg && isNonNullType(arg.type)) valid[arg.name] = validValue(arg.name, arg.type, context);
  }
  return {
    category: 'int overflow',
    label: `${operation.field.name}(${intArg.name}): the literal 2147483648`,
    operation,
    query: operationText(operation, { arg: intArg.name, literal: '2147483648' }),
    variables: JSON.stringify(valid),
    wellFormedUnknownId: false,
  };
}
