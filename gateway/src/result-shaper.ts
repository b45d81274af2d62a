import type { GraphQLError } from 'graphql';
import { requireFromGateway } from './subscriptions/internals';

/**
 * @apollo/gateway 2.14.4's `computeResponse` (dist/resultShaping.js: the answer cut to what the client selected,
 * `__typename` filled in, nulls bubbled up to the nearest nullable field, invalid leaves refused), with what it
 * looks up per selection and per object — the @skip/@include directives, the response name, the field's
 * definition — read once per operation into plain steps. Same algorithm, same errors; in the gateway's profile
 * those lookups were most of its 6 % of the CPU.
 */

// federation-internals' schema elements, as far as shaping uses them (opaque otherwise).
type FederationType = { name: string; ofType?: FederationType };
type FederationSchema = { type(name: string): FederationType | undefined };
interface FederationSelection {
  kind: 'FieldSelection' | 'FragmentSelection';
  element: {
    name: string;
    responseName(): string;
    definition: { type: FederationType; isSchemaIntrospectionField(): boolean };
    typeCondition?: FederationType;
    appliedDirectivesOf(directive: unknown): { arguments(): { if: unknown } }[];
  };
  selectionSet?: FederationSelectionSet;
}
interface FederationSelectionSet {
  selections(): readonly FederationSelection[];
}
interface FederationOperation {
  schema(): FederationSchema & {
    skipDirective(): unknown;
    includeDirective(): unknown;
    schemaDefinition: { rootType(kind: unknown): FederationType };
  };
  rootKind: unknown;
  selectionSet: FederationSelectionSet;
  collectDefaultedVariableValues(): Record<string, unknown>;
}

const federation = requireFromGateway('@apollo/federation-internals') as {
  isNonNullType(type: FederationType): boolean;
  isListType(type: FederationType): boolean;
  isCompositeType(type: FederationType): boolean;
  isObjectType(type: FederationType | undefined): boolean;
  isSubtype(maybeSuper: FederationType, maybeSub: FederationType): boolean;
  isValidLeafValue(schema: FederationSchema, value: unknown, type: FederationType): boolean;
  Variable: new (...args: never[]) => { name: string };
  ERRORS: { INVALID_GRAPHQL: { err(message: string, options: { path: (string | number)[] }): GraphQLError } };
};

type Data = Record<string, unknown>;
/** A @skip/@include condition: absent, a literal, or the name of the variable that holds it. */
type Condition = { literal: unknown } | { variable: string } | undefined;

interface FieldStep {
  kind: 'field';
  responseName: string;
  typename: boolean;
  introspection: boolean;
  type: FederationType;
  selections: Step[] | undefined;
  skip: Condition;
  include: Condition;
}
interface FragmentStep {
  kind: 'fragment';
  typeCondition: FederationType | undefined;
  selections: Step[];
  skip: Condition;
  include: Condition;
}
type Step = FieldStep | FragmentStep;

interface Parameters {
  schema: FederationSchema;
  variables: Data;
  errors: GraphQLError[];
}

const BUBBLE = true;

function hasOwn(object: Data, key: string): boolean {
  return Object.hasOwn(object, key);
}

/** The steps of one operation, compiled once; `shape` per response. */
export class ResultShaper {
  private readonly schema: ReturnType<FederationOperation['schema']>;
  private readonly defaults: Record<string, unknown>;
  private readonly rootType: FederationType;
  private readonly steps: Step[];

  constructor(operation: unknown) {
    const federated = operation as FederationOperation;
    this.schema = federated.schema();
    this.defaults = federated.collectDefaultedVariableValues();
    this.rootType = this.schema.schemaDefinition.rootType(federated.rootKind);
    this.steps = this.compile(federated.selectionSet);
  }

  /** As computeResponse({ operation, variables, input }). */
  shape(
    input: Data | null | undefined,
    variables: Data | undefined,
  ): { data: Data | null | undefined; errors: GraphQLError[] } {
    if (!input) return { data: input, errors: [] };
    const parameters: Parameters = {
      schema: this.schema,
      variables: Object.assign(Object.create(null), this.defaults, variables),
      errors: [],
    };
    const data: Data = Object.create(null);
    const bubbled = applySteps(input, this.steps, data, parameters, [], this.rootType);
    return { data: bubbled ? null : data, errors: parameters.errors };
  }

  private compile(selectionSet: FederationSelectionSet): Step[] {
    const skipDirective = this.schema.skipDirective();
    const includeDirective = this.schema.includeDirective();
    const conditionOf = (selection: FederationSelection, directive: unknown): Condition => {
      const applied = selection.element.appliedDirectivesOf(directive)[0];
      if (!applied) return undefined;
      const value = applied.arguments().if;
      return value instanceof federation.Variable ? { variable: value.name } : { literal: value };
    };
    return selectionSet.selections().map((selection): Step => {
      const skip = conditionOf(selection, skipDirective);
      const include = conditionOf(selection, includeDirective);
      const { element } = selection;
      if (selection.kind === 'FieldSelection') {
        return {
          kind: 'field',
          responseName: element.responseName(),
          typename: element.name === '__typename',
          introspection: element.definition.isSchemaIntrospectionField(),
          type: element.definition.type,
          selections: selection.selectionSet && this.compile(selection.selectionSet),
          skip,
          include,
        };
      }
      return {
        kind: 'fragment',
        typeCondition: element.typeCondition,
        selections: this.compile(selection.selectionSet as FederationSelectionSet),
        skip,
        include,
      };
    });
  }
}

function conditionValue(condition: { literal: unknown } | { variable: string }, variables: Data): unknown {
  if ('literal' in condition) return condition.literal;
  const value = variables[condition.variable];
  if (value === undefined || typeof value !== 'boolean') {
    throw new Error(`Unexpected value ${value} for variable $${condition.variable} of @skip/@include`);
  }
  return value;
}

function skipped(step: Step, variables: Data): boolean {
  return Boolean(
    (step.skip && conditionValue(step.skip, variables)) ||
      (step.include && !conditionValue(step.include, variables)),
  );
}

function typeConditionApplies(
  schema: FederationSchema,
  typeCondition: FederationType | undefined,
  typename: string | undefined,
  parentType: FederationType,
): boolean {
  if (!typeCondition) return true;
  if (typename) {
    const type = schema.type(typename);
    return !!type && federation.isSubtype(typeCondition, type);
  }
  return federation.isSubtype(typeCondition, parentType);
}

/** applySelectionSet: true when a null has to bubble up past this object. */
function applySteps(
  input: Data,
  steps: Step[],
  output: Data,
  parameters: Parameters,
  path: (string | number)[],
  parentType: FederationType,
): boolean {
  for (const step of steps) {
    if ((step.skip || step.include) && skipped(step, parameters.variables)) continue;
    if (step.kind === 'field') {
      const { responseName } = step;
      const outputValue = output[responseName];
      if (step.introspection) {
        if (outputValue === undefined) throw new Error('introspection is answered by Apollo’s executor');
        continue;
      }
      let inputValue = (hasOwn(input, responseName) ? input[responseName] : undefined) ?? null;
      if (step.typename) {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== '__typename') inputValue = input.__typename ?? null;
          const type =
            inputValue !== null && typeof inputValue === 'string'
              ? (parameters.schema.type(inputValue) ?? parentType)
              : parentType;
          if (!federation.isObjectType(type)) return BUBBLE;
          output[responseName] = type.name;
        }
        continue;
      }
      path.push(responseName);
      const { updated, isInvalid } = updateOutputValue(
        outputValue,
        step.type,
        inputValue,
        step.selections,
        path,
        parameters,
        parentType,
      );
      output[responseName] = updated;
      path.pop();
      if (isInvalid) return BUBBLE;
    } else {
      const typename = input.__typename;
      if (typename && typeof typename !== 'string') {
        throw new Error(`Got unexpected value for __typename: ${typename}`);
      }
      if (
        typeConditionApplies(
          parameters.schema,
          step.typeCondition,
          typename as string | undefined,
          parentType,
        )
      ) {
        const bubbled = applySteps(
          input,
          step.selections,
          output,
          parameters,
          path,
          step.typeCondition ?? parentType,
        );
        if (bubbled) return BUBBLE;
      }
    }
  }
  return false;
}

function pathLastElementDescription(
  path: (string | number)[],
  currentType: FederationType,
  parentType: FederationType,
): string {
  const element = path[path.length - 1];
  return typeof element === 'string'
    ? `field ${parentType}.${element}`
    : `array element of type ${currentType} at index ${element}`;
}

interface Updated {
  updated: unknown;
  isInvalid?: boolean;
  hasErrors?: boolean;
}

function updateOutputValue(
  outputValue: unknown,
  type: FederationType,
  inputValue: unknown,
  selections: Step[] | undefined,
  path: (string | number)[],
  parameters: Parameters,
  parentType: FederationType,
): Updated {
  if (outputValue === null || (outputValue !== undefined && !selections)) return { updated: outputValue };
  if (federation.isNonNullType(type)) {
    const inner = type.ofType as FederationType;
    const { updated, hasErrors } = updateOutputValue(
      outputValue,
      inner,
      inputValue,
      selections,
      path,
      parameters,
      parentType,
    );
    if (updated === null) {
      if (!hasErrors) {
        parameters.errors.push(
          federation.ERRORS.INVALID_GRAPHQL.err(
            `Cannot return null for non-nullable ${pathLastElementDescription(path, inner, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
      }
      return { updated, isInvalid: true, hasErrors: true };
    }
    return { updated };
  }
  if (inputValue === null) return { updated: null };
  if (federation.isListType(type)) {
    if (!Array.isArray(inputValue)) {
      throw new Error(`Invalid non-list value ${inputValue} returned by subgraph for list type ${type}`);
    }
    if (outputValue !== undefined && !Array.isArray(outputValue)) {
      throw new Error(`Invalid non-list value ${outputValue} returned by subgraph for list type ${type}`);
    }
    const outputList: unknown[] =
      outputValue === undefined ? new Array(inputValue.length).fill(undefined) : outputValue;
    if (inputValue.length !== outputList.length) {
      throw new Error(
        `[${inputValue}].length (${inputValue.length}) !== [${outputList}].length (${outputList.length})`,
      );
    }
    let shouldNullify = false;
    let hasErrors = false;
    const inner = type.ofType as FederationType;
    const updated = outputList.map((outputElement, index) => {
      path.push(index);
      const element = updateOutputValue(
        outputElement,
        inner,
        inputValue[index],
        selections,
        path,
        parameters,
        parentType,
      );
      path.pop();
      shouldNullify ||= !!element.isInvalid;
      hasErrors ||= !!element.hasErrors;
      return element.updated;
    });
    return { updated: shouldNullify ? null : updated, hasErrors };
  }
  if (federation.isCompositeType(type)) {
    if (!selections) throw new Error(`Invalid empty selection set for composite type ${type}`);
    if (typeof inputValue !== 'object') {
      throw new Error(
        `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`,
      );
    }
    if (outputValue !== undefined && typeof outputValue !== 'object') {
      throw new Error(
        `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`,
      );
    }
    const object = inputValue as Data;
    const inputTypename = object.__typename;
    if (inputTypename !== undefined && typeof inputTypename !== 'string') {
      throw new Error(`Invalid non-string value ${inputTypename} for __typename at ${path}`);
    }
    let objectType = type;
    if (inputTypename) {
      const typenameType = parameters.schema.type(inputTypename);
      if (!typenameType || !federation.isCompositeType(typenameType)) {
        parameters.errors.push(
          federation.ERRORS.INVALID_GRAPHQL.err(
            `Invalid __typename found for object at ${pathLastElementDescription(path, type, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
        return { updated: null, hasErrors: true };
      }
      objectType = typenameType;
    }
    const outputObject = (outputValue === undefined ? Object.create(null) : outputValue) as Data;
    const bubbled = applySteps(object, selections, outputObject, parameters, path, objectType);
    return { updated: bubbled ? null : outputObject, hasErrors: bubbled };
  }
  if (outputValue !== undefined)
    throw new Error(`Excepted output to be undefined but got ${type} for type ${type}`);
  const isValidValue = federation.isValidLeafValue(parameters.schema, inputValue, type);
  if (!isValidValue) {
    parameters.errors.push(
      federation.ERRORS.INVALID_GRAPHQL.err(
        `Invalid value found for ${pathLastElementDescription(path, type, parentType)}.`,
        { path: Array.from(path) },
      ),
    );
  }
  return { updated: isValidValue ? inputValue : null, hasErrors: !isValidValue };
}
