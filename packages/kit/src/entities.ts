import {
  type ConstDirectiveNode,
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  type GraphQLNamedType,
  type GraphQLSchema,
  GraphQLString,
  type GraphQLType,
  getNamedType,
  isEnumType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
} from 'graphql';
import { requestError } from './errors';

/** An entity type of a subgraph and the field sets of its @key directives. */
interface EntityType {
  type: GraphQLNamedType;
  keys: SelectionSetNode[];
}

function isKeyDirective(directive: ConstDirectiveNode): boolean {
  // `@key` as imported by `@link`, or under its default namespaced name when not imported.
  return directive.name.value === 'key' || directive.name.value === 'federation__key';
}

function keyFieldSet(directive: ConstDirectiveNode): SelectionSetNode | undefined {
  const fields = directive.arguments?.find((argument) => argument.name.value === 'fields')?.value;
  if (fields?.kind !== Kind.STRING) return undefined;
  const operation = parse(`{ ${fields.value} }`).definitions[0] as OperationDefinitionNode;
  return operation.selectionSet;
}

/** The entity types of a subgraph schema, read from the @key directives on its types' AST nodes. */
export function entityTypesOf(schema: GraphQLSchema): Map<string, EntityType> {
  const entities = new Map<string, EntityType>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const nodes = [type.astNode, ...type.extensionASTNodes].filter((node) => node != null);
    const keys = nodes
      .flatMap((node) => node.directives ?? [])
      .filter(isKeyDirective)
      .map(keyFieldSet)
      .filter((keySet) => keySet !== undefined);
    if (keys.length > 0) entities.set(type.name, { type, keys });
  }
  return entities;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a value is what a leaf (scalar or enum) key field of this type holds in a representation. */
function fitsLeaf(type: GraphQLNamedType, value: unknown): boolean {
  // ID keys are strings: graphql-js would turn a number into one, but no id of ours is a number.
  if (type.name === GraphQLID.name || type.name === GraphQLString.name) return typeof value === 'string';
  if (type.name === GraphQLInt.name) return Number.isInteger(value);
  if (type.name === GraphQLFloat.name) return typeof value === 'number' && Number.isFinite(value);
  if (type.name === GraphQLBoolean.name) return typeof value === 'boolean';
  if (isEnumType(type)) return typeof value === 'string' && type.getValue(value) !== undefined;
  if (isScalarType(type)) {
    try {
      type.parseValue(value);
      return true;
    } catch {
      return false;
    }
  }
  return false;
}

function fitsType(type: GraphQLType, value: unknown, selectionSet: SelectionSetNode | undefined): boolean {
  if (value === null || value === undefined) return false;
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    return Array.isArray(value) && value.every((item) => fitsType(inner.ofType, item, selectionSet));
  }
  const named = getNamedType(inner);
  if (selectionSet) return isPlainObject(value) && fitsKey(named, value, selectionSet);
  return fitsLeaf(named, value);
}

/** Whether a representation holds every field of one key, each of the right type. */
function fitsKey(type: GraphQLNamedType, value: Record<string, unknown>, key: SelectionSetNode): boolean {
  if (!isObjectType(type) && !isInterfaceType(type)) return false;
  const fields = type.getFields();
  return key.selections.every((selection) => {
    if (selection.kind !== Kind.FIELD) return false;
    const field = fields[selection.name.value];
    return field !== undefined && fitsType(field.type, value[selection.name.value], selection.selectionSet);
  });
}

/** Why a representation cannot be resolved by this subgraph, or undefined when it can. */
export function representationProblem(
  entities: Map<string, EntityType>,
  representation: unknown,
): string | undefined {
  if (!isPlainObject(representation)) return 'is not an object';
  const typename = representation.__typename;
  if (typeof typename !== 'string') return 'has no __typename';
  const entity = entities.get(typename);
  if (!entity) return 'names a type that is not an entity of this service';
  if (!entity.keys.some((key) => fitsKey(entity.type, representation, key))) {
    return `lacks the key fields of ${typename}, or holds them with the wrong types`;
  }
  return undefined;
}

/**
 * Checks every `_entities` representation before any reference resolver runs: each must be an object whose
 * `__typename` names an entity type of this subgraph and that holds the fields of one of its @key directives,
 * each of its declared type (an ID is a string). Otherwise the whole request is refused (BAD_USER_INPUT, 400):
 * resolvers may trust `id` to be a string. Works for representations sent as variables or as literals.
 */
export function guardEntityRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  if (!field) return;
  const entities = entityTypesOf(schema);
  const resolve = field.resolve;
  field.resolve = (source, args, context, info) => {
    const representations: unknown = args.representations;
    if (!Array.isArray(representations)) {
      throw requestError('BAD_USER_INPUT', 'representations must be a list');
    }
    for (const [index, representation] of representations.entries()) {
      const problem = representationProblem(entities, representation);
      if (problem) {
        throw requestError('BAD_USER_INPUT', `Representation ${index} ${problem}`, {
          extensions: { argument: 'representations', index },
        });
      }
    }
    return resolve ? resolve(source, args, context, info) : undefined;
  };
}
