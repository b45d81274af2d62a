import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';

/** One GraphQL request as the load generator sends it. */
export interface GraphQLRequest {
  query: string;
  variables?: Record<string, unknown>;
  token?: string;
}

function headersOf(request: GraphQLRequest): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
  };
}

/** One request, the JSON answer (throws on a non-JSON answer). */
export async function send(
  url: string,
  request: GraphQLRequest,
): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: headersOf(request),
    body: JSON.stringify({ query: request.query, variables: request.variables ?? {} }),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text), text };
  } catch {
    throw new Error(`${url} answered ${response.status} with non-JSON: ${text.slice(0, 200)}`);
  }
}

/** The `data` of one request; throws on GraphQL errors (for setting up a scenario's data). */
export async function dataOf(
  url: string,
  request: GraphQLRequest,
): Promise<Record<string, Record<string, unknown>>> {
  const { body } = await send(url, request);
  const { data, errors } = body as { data?: Record<string, Record<string, unknown>>; errors?: unknown };
  if (!data || errors) throw new Error(`${request.query.slice(0, 40)}…: ${JSON.stringify(errors)}`);
  return data;
}

/**
 * Fails unless `url` answers `request` with exactly `expected` (as `{ data }`, no errors); returns the answer's
 * exact text, which every answer under load must then repeat byte for byte (runLoad's `expectBody`).
 */
export async function expectAnswer(
  where: string,
  url: string,
  request: GraphQLRequest,
  expected: unknown,
): Promise<string> {
  const answer = await send(url, request);
  if (answer.status !== 200 || !isDeepStrictEqual(answer.body, { data: expected })) {
    throw new Error(
      `${where} gave a wrong answer (${answer.status}):\n${JSON.stringify(answer.body).slice(0, 1500)}\nexpected:\n${JSON.stringify({ data: expected }).slice(0, 1500)}`,
    );
  }
  return answer.text;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers, connection errors, timeouts and answers whose body differs from the verified one. */
  errors: number;
  durationSeconds: number;
}

/** Fixed-concurrency load (autocannon) for `seconds`, one request shape, keep-alive connections. */
export async function runLoad(
  url: string,
  request: GraphQLRequest,
  options: { connections: number; seconds: number; expectBody?: string | undefined },
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: 'POST',
    headers: headersOf(request),
    body: JSON.stringify({ query: request.query, variables: request.variables ?? {} }),
    connections: options.connections,
    duration: options.seconds,
    ...(options.expectBody === undefined ? {} : { expectBody: options.expectBody }),
  });
  const durationSeconds = result.duration || options.seconds;
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / durationSeconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + (result.mismatches ?? 0),
    durationSeconds,
  };
}
