import { buildSchema, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { acceptSecurityFeatures, authorizationRefusal, readRequirements } from './authorization';

// As composition writes them into the supergraph (join directives left out).
const supergraphSdl = `
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)
  @link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)
{ query: Query mutation: Mutation }
type Query {
  products: [Product!]!
  me: User @authenticated
  secrets: [Secret!]!
}
type Mutation { createProduct(name: String!): Product! @requiresScopes(scopes: [["ADMIN"]]) }
type Product { id: ID! name: String! stock: Int @requiresScopes(scopes: [["ADMIN"], ["STAFF", "CUSTOMER"]]) }
type User { id: ID! }
type Secret @authenticated { id: ID! }
`;
const apiSchema = buildSchema(`
type Query { products: [Product!]! me: User secrets: [Secret!]! }
type Mutation { createProduct(name: String!): Product! }
type Product { id: ID! name: String! stock: Int }
type User { id: ID! }
type Secret { id: ID! }
`);
const requirements = readRequirements(supergraphSdl);
const customer = { userId: 'u1', role: 'CUSTOMER', email: 'c@example.com' } as const;
const admin = { userId: 'u2', role: 'ADMIN', email: 'a@example.com' } as const;

function refusal(query: string, viewer?: typeof customer | typeof admin) {
  const document = parse(query);
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode => definition.kind === 'OperationDefinition',
  );
  if (!operation) throw new Error('no operation');
  const error = authorizationRefusal(requirements, apiSchema, document, operation, viewer);
  return (
    error && { code: error.extensions.code, status: (error.extensions.http as { status: number }).status }
  );
}

describe('declarative authorisation from the supergraph', () => {
  it('reads @authenticated and @requiresScopes of fields and types', () => {
    expect(requirements.get('Query.me')).toEqual({ authenticated: true, scopes: [] });
    expect(requirements.get('Mutation.createProduct')).toEqual({
      authenticated: false,
      scopes: [[['ADMIN']]],
    });
    expect(requirements.get('Secret')).toEqual({ authenticated: true, scopes: [] });
    expect(requirements.has('Query.products')).toBe(false);
  });

  it('lets anyone select what needs nothing', () => {
    expect(refusal('{ products { id name } }')).toBeUndefined();
  });

  it('refuses an anonymous caller with UNAUTHENTICATED (401), in fragments and through a returned type too', () => {
    const unauthenticated = { code: 'UNAUTHENTICATED', status: 401 };
    expect(refusal('{ me { id } }')).toEqual(unauthenticated);
    expect(refusal('query { ...F } fragment F on Query { products { id } me { id } }')).toEqual(
      unauthenticated,
    );
    expect(refusal('{ secrets { id } }')).toEqual(unauthenticated);
    expect(refusal('mutation { createProduct(name: "x") { id } }')).toEqual(unauthenticated);
    expect(refusal('{ me { id } }', customer)).toBeUndefined();
  });

  it('refuses a caller without the scope with FORBIDDEN (403); roles are the scopes', () => {
    const forbidden = { code: 'FORBIDDEN', status: 403 };
    expect(refusal('mutation { createProduct(name: "x") { id } }', customer)).toEqual(forbidden);
    expect(refusal('mutation { createProduct(name: "x") { id } }', admin)).toBeUndefined();
    // Any of the inner lists, each in full: a CUSTOMER without STAFF does not satisfy ["STAFF", "CUSTOMER"].
    expect(refusal('{ products { stock } }', customer)).toEqual(forbidden);
    expect(refusal('{ products { stock } }', admin)).toBeUndefined();
  });

  it('declares the security features as plain ones for @apollo/gateway, keeping the directives', () => {
    const accepted = acceptSecurityFeatures(supergraphSdl);
    expect(accepted).not.toMatch(/for: SECURITY/);
    expect(accepted).toContain('@link(url: "https://specs.apollo.dev/authenticated/v0.1")');
    expect(readRequirements(accepted)).toEqual(requirements);
  });
});
