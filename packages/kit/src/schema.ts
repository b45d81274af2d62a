import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DocumentNode } from 'graphql';
import { gql } from 'graphql-tag';
import { DateTimeScalar, DecimalScalar } from './scalars';

/** The SDL every subgraph shares (Money, PageInfo, Decimal, DateTime), kept in one file. */
export const commonSchemaPath = fileURLToPath(new URL('../schema/common.graphql', import.meta.url));

/** Resolvers of the shared scalars; the launcher adds them to every subgraph's resolver map. */
export const commonResolvers = { Decimal: DecimalScalar, DateTime: DateTimeScalar } as const;

/** A subgraph's full SDL: its own schema.graphql followed by the shared types. */
export function subgraphSdl(schemaPath: string): string {
  const own = readFileSync(schemaPath, 'utf8');
  return `${own.trimEnd()}\n\n${readFileSync(commonSchemaPath, 'utf8')}`;
}

/** The same, parsed, for buildSubgraphSchema. */
export function loadSchema(schemaPath: string): DocumentNode {
  return gql(subgraphSdl(schemaPath));
}
