import { randomUUID } from 'node:crypto';
import {
  createLogger,
  loadSchema,
  type RequestContext,
  type Role,
  type RunningSubgraph,
  type SubgraphParts,
  startSubgraphServer,
  TokenIssuer,
  TokenVerifier,
  type Viewer,
} from '@shop/kit';
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';

export const testTokenSettings = { issuer: 'shop-supergraph/users', audience: 'shop-supergraph' };

export interface TestKeys {
  publicKeyPem: string;
  privateKeyPem: string;
  issuer: TokenIssuer;
  verifier: TokenVerifier;
  /** A signed access token for a made-up user of that role (or the given viewer). */
  tokenFor: (who: Role | Viewer) => Promise<string>;
}

/** A fresh EdDSA key pair, as the users subgraph (private) and every verifier (public) would hold. */
export async function createTestKeys(): Promise<TestKeys> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const publicKeyPem = await exportSPKI(publicKey);
  const privateKeyPem = await exportPKCS8(privateKey);
  const issuer = await TokenIssuer.fromPem(privateKeyPem, {
    ...testTokenSettings,
    accessTokenTtlSeconds: 900,
  });
  const verifier = await TokenVerifier.fromPem(publicKeyPem, testTokenSettings);
  return {
    publicKeyPem,
    privateKeyPem,
    issuer,
    verifier,
    tokenFor: (who) =>
      issuer.issueAccessToken(
        typeof who === 'string'
          ? { userId: randomUUID(), role: who, email: `${who.toLowerCase()}@example.com` }
          : who,
      ),
  };
}

export interface GraphQLResponse<D = Record<string, unknown>> {
  status: number;
  data?: D | null;
  errors?: {
    message: string;
    path?: (string | number)[];
    extensions?: { code?: string } & Record<string, unknown>;
  }[];
}

/** POSTs one GraphQL operation; `token` goes in the Authorization header. */
export async function postGraphQL<D = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<D>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<D>, 'status'>) };
}

/** Starts a subgraph in-process on a free port, built from its real parts against test infrastructure. */
export async function startTestSubgraph<TContext extends RequestContext>(options: {
  name: string;
  schemaUrl: string;
  parts: SubgraphParts<TContext>;
  verifier: TokenVerifier;
}): Promise<RunningSubgraph> {
  return startSubgraphServer<TContext>({
    name: options.name,
    port: 0,
    host: '127.0.0.1',
    typeDefs: loadSchema(options.schemaUrl),
    resolvers: options.parts.resolvers,
    tokenVerifier: options.verifier,
    logger: createLogger(options.name, process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...(options.parts.createContext ? { createContext: options.parts.createContext } : {}),
    ...(options.parts.readiness ? { readiness: options.parts.readiness } : {}),
  });
}
