import type { ApolloGateway } from '@apollo/gateway';
import type { ApolloServerPlugin } from '@apollo/server';
import { requestError, type TokenVerifier, type Viewer } from '@shop/kit';
import {
  type DocumentNode,
  type GraphQLError,
  type GraphQLSchema,
  getNamedType,
  Kind,
  type OperationDefinitionNode,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';

/**
 * What selecting a field (or any field returning a type) needs, from the supergraph's `@authenticated` and
 * `@requiresScopes` (federation's security directives). Scopes are our roles: `[["ADMIN"]]`; the outer list is
 * "any of", each inner list "all of".
 */
export interface Requirement {
  authenticated: boolean;
  scopes: string[][][];
}

export type Requirements = ReadonlyMap<string, Requirement>;

const SECURITY_LINK =
  /(@link\(\s*url:\s*"https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes)\/v0\.1")\s*,\s*for:\s*SECURITY\s*\)/g;

/**
 * The supergraph as @apollo/gateway accepts it: the gateway refuses a supergraph whose `for: SECURITY` features it
 * does not enforce. We enforce `@authenticated` and `@requiresScopes` here (authorizationPlugin), so we declare
 * them as plain features for the planner; the directives themselves stay in the SDL.
 */
export function acceptSecurityFeatures(supergraphSdl: string): string {
  return supergraphSdl.replace(SECURITY_LINK, '$1)');
}

function stringLists(value: unknown): string[][] {
  return Array.isArray(value) ? value.map((inner) => (Array.isArray(inner) ? inner.map(String) : [])) : [];
}

/** `Type` and `Type.field` → what they require, read from the composed supergraph's SDL. */
export function readRequirements(supergraphSdl: string): Requirements {
  const requirements = new Map<string, Requirement>();
  const add = (
    coordinate: string,
    directives: readonly { name: { value: string }; arguments?: readonly unknown[] }[] | undefined,
  ) => {
    for (const directive of directives ?? []) {
      const name = directive.name.value;
      if (name !== 'authenticated' && name !== 'requiresScopes') continue;
      const requirement = requirements.get(coordinate) ?? { authenticated: false, scopes: [] };
      if (name === 'authenticated') requirement.authenticated = true;
      else {
        const argument = (directive.arguments ?? []).find(
          (arg) => (arg as { name: { value: string } }).name.value === 'scopes',
        ) as { value: Parameters<typeof literalValue>[0] } | undefined;
        if (argument) requirement.scopes.push(stringLists(literalValue(argument.value)));
      }
      requirements.set(coordinate, requirement);
    }
  };
  for (const definition of parse(supergraphSdl).definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    ) {
      continue;
    }
    const typeName = definition.name.value;
    add(typeName, definition.directives);
    for (const field of definition.fields ?? []) add(`${typeName}.${field.name.value}`, field.directives);
  }
  return requirements;
}

type ValueNode = { kind: string; value?: unknown; values?: readonly ValueNode[] };
function literalValue(node: ValueNode): unknown {
  return node.kind === Kind.LIST ? (node.values ?? []).map(literalValue) : node.value;
}

/** Whether the viewer's roles satisfy one `@requiresScopes`: some inner list whose every scope it holds. */
function satisfies(viewer: Viewer, scopes: string[][]): boolean {
  return scopes.some((all) => all.every((scope) => scope === viewer.role));
}

/** A field of an operation that has requirements: its coordinate and what it (or the type it returns) needs. */
interface RequirementCheck {
  coordinate: string;
  requirement: Requirement;
}

/**
 * Every requirement an operation meets on its way, in the order its fields are visited (fragments included, each
 * once): what the viewer is then checked against. It depends only on the document, so it is worked out once.
 */
function requirementChecks(
  requirements: Requirements,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
): RequirementCheck[] {
  const checks: RequirementCheck[] = [];
  if (requirements.size === 0) return checks;
  const fragments = new Map(
    document.definitions.flatMap((definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [],
    ),
  );
  const visited = new Set<string>();
  const check = (node: OperationDefinitionNode | NonNullable<ReturnType<typeof fragments.get>>) => {
    const typeInfo = new TypeInfo(schema);
    visit(
      node,
      visitWithTypeInfo(typeInfo, {
        Field() {
          const parent = typeInfo.getParentType();
          const field = typeInfo.getFieldDef();
          if (!parent || !field) return;
          const coordinate = `${parent.name}.${field.name}`;
          for (const requirement of [
            requirements.get(coordinate),
            requirements.get(getNamedType(field.type).name),
          ]) {
            if (requirement) checks.push({ coordinate, requirement });
          }
        },
        FragmentSpread(spread) {
          const name = spread.name.value;
          const fragment = fragments.get(name);
          if (!fragment || visited.has(name)) return;
          visited.add(name);
          check(fragment);
        },
      }),
    );
  };
  check(operation);
  return checks;
}

/** The first check the viewer fails, as its refusal (UNAUTHENTICATED without a viewer, else FORBIDDEN). */
function refusalOf(
  checks: readonly RequirementCheck[],
  viewer: Viewer | undefined,
): GraphQLError | undefined {
  for (const { coordinate, requirement } of checks) {
    if ((requirement.authenticated || requirement.scopes.length > 0) && !viewer) {
      return requestError('UNAUTHENTICATED', `You must be signed in to select ${coordinate}`, {
        status: 401,
      });
    }
    if (viewer && requirement.scopes.some((scopes) => !satisfies(viewer, scopes))) {
      return requestError('FORBIDDEN', `You are not allowed to select ${coordinate}`, { status: 403 });
    }
  }
  return undefined;
}

/**
 * The refusal for an operation selecting something its caller may not: UNAUTHENTICATED (401) for an anonymous
 * caller, FORBIDDEN (403) for a signed-in one without the scope; undefined when everything is allowed. Every
 * field is checked, in fragments too, against its own requirements and those of the type it returns.
 */
export function authorizationRefusal(
  requirements: Requirements,
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  viewer: Viewer | undefined,
): GraphQLError | undefined {
  return refusalOf(requirementChecks(requirements, schema, document, operation), viewer);
}

/**
 * Requirement checks per parsed document and operation. Apollo Server hands the same DocumentNode for the same
 * query text (its document store), so a repeated operation is walked once; an entry is used only with the
 * requirements and schema it was worked out for (a reloaded supergraph has new ones).
 */
class RequirementChecksCache {
  private readonly byDocument = new WeakMap<
    DocumentNode,
    Map<
      OperationDefinitionNode,
      { requirements: Requirements; schema: GraphQLSchema; checks: RequirementCheck[] }
    >
  >();

  checksFor(
    requirements: Requirements,
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
  ): RequirementCheck[] {
    let byOperation = this.byDocument.get(document);
    if (!byOperation) {
      byOperation = new Map();
      this.byDocument.set(document, byOperation);
    }
    const known = byOperation.get(operation);
    if (known && known.requirements === requirements && known.schema === schema) return known.checks;
    const checks = requirementChecks(requirements, schema, document, operation);
    byOperation.set(operation, { requirements, schema, checks });
    return checks;
  }
}

const requirementsByGateway = new WeakMap<ApolloGateway, { current: Requirements }>();

/** The requirements of the supergraph a gateway has loaded now (kept current across reloads). */
export function requirementsOf(gateway: ApolloGateway): Requirements {
  let holder = requirementsByGateway.get(gateway);
  if (!holder) {
    const created: { current: Requirements } = { current: new Map() };
    gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
      created.current = readRequirements(coreSupergraphSdl);
    });
    requirementsByGateway.set(gateway, created);
    holder = created;
  }
  return holder.current;
}

/**
 * Honours `@authenticated` and `@requiresScopes` of the composed supergraph before anything is planned
 * (@apollo/gateway itself ignores them): an operation selecting a field its caller may not is refused whole.
 * The subgraphs still check every field themselves; this only stops a refused operation at the door.
 */
export function authorizationPlugin<TContext extends { authorization?: string | undefined }>(options: {
  gateway: ApolloGateway;
  tokenVerifier: TokenVerifier;
}): ApolloServerPlugin<TContext> {
  requirementsOf(options.gateway); // listens from now on, before the first supergraph loads
  const cache = new RequirementChecksCache();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue, document, operation, schema }) {
          if (!operation) return;
          const viewer = await options.tokenVerifier.fromAuthorizationHeader(contextValue.authorization);
          const checks = cache.checksFor(requirementsOf(options.gateway), schema, document, operation);
          const refusal = refusalOf(checks, viewer);
          if (refusal) throw refusal;
        },
      };
    },
  };
}
