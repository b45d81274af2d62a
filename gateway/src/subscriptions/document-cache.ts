import { type DocumentNode, GraphQLError, type GraphQLSchema, parse, validate } from 'graphql';

/** A query text parsed and validated against one schema: its document, or the coded errors to answer with. */
export type CheckedDocument =
  | { document: DocumentNode; errors?: undefined }
  | { document?: undefined; errors: GraphQLError[] };

function coded(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

/**
 * Parsed and validated documents by query text, for the schema they were checked against. Subscribers mostly
 * send the same few operations (a dashboard open on many screens), so each text is parsed and validated once,
 * and every subscriber of it shares one document (and, in streams.ts, one plan). A new schema (supergraph
 * reload) empties the cache. Texts longer than `maxQueryBytes` are checked every time, so the cache stays small.
 */
export class DocumentCache {
  private schema: GraphQLSchema | undefined;
  private readonly entries = new Map<string, CheckedDocument>();

  constructor(private readonly options: { maxEntries: number; maxQueryBytes: number }) {}

  get(schema: GraphQLSchema, query: string): CheckedDocument {
    if (schema !== this.schema) {
      this.entries.clear();
      this.schema = schema;
    }
    const hit = this.entries.get(query);
    if (hit) {
      // Least recently used goes first: re-insert on every hit.
      this.entries.delete(query);
      this.entries.set(query, hit);
      return hit;
    }
    const checked = check(schema, query);
    if (query.length <= this.options.maxQueryBytes) {
      this.entries.set(query, checked);
      if (this.entries.size > this.options.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
    }
    return checked;
  }
}

function check(schema: GraphQLSchema, query: string): CheckedDocument {
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (error) {
    return {
      errors: [coded('GRAPHQL_PARSE_FAILED', error instanceof GraphQLError ? error.message : 'Syntax error')],
    };
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0)
    return { errors: invalid.map((e) => coded('GRAPHQL_VALIDATION_FAILED', e.message)) };
  return { document };
}
