import { Agent, request as httpRequest } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import { percentile } from './harness';

/** One GraphQL request as the load generator sends it. */
export interface GraphQLRequest {
  query: string;
  variables?: Record<string, unknown>;
  token?: string;
}

/** A GraphQL POST's headers, with the bearer token when there is one (as a gateway forwards it). */
export function headersOf(token: string | undefined): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

/** One request, the JSON answer (throws on a non-JSON answer). */
export async function send(
  url: string,
  request: GraphQLRequest,
): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: headersOf(request.token),
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
    headers: headersOf(request.token),
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

// Below: the bench's own load generator, for what autocannon cannot do. autocannon's `overallRate` gives each
// connection a quota per second, so every connection sends its quota back to back at the start of each second (a
// burst of `connections` requests at once, i.e. queueing again), records latency in whole milliseconds and pads
// it with coordinated-omission samples at a 1 ms expected interval; and it sends one request shape, not a plan.

/** One POST the generator sends, with the exact answer text it must get back (status 200). */
export interface Call {
  url: string;
  headers: Record<string, string>;
  body: string;
  expectText: string;
}

/** A query plan replayed by the generator: a subgraph fetch, fetches one after another, or fetches at once. */
export type PlanStep =
  | { kind: 'fetch'; call: Call }
  | { kind: 'sequence'; steps: PlanStep[] }
  | { kind: 'parallel'; steps: PlanStep[] };

/** The call a gateway subject is loaded with: `request` as one POST that must answer `expectText`. */
export function callOf(url: string, request: GraphQLRequest, expectText: string): Call {
  return {
    url,
    headers: headersOf(request.token),
    body: JSON.stringify({ query: request.query, variables: request.variables ?? {} }),
    expectText,
  };
}

/** How long past its load's end a request may still take before it is cut off (and counted as an error). */
const GRACE_MS = 10_000;

/** Keep-alive node:http POSTs; false for a wrong status, a body other than the expected one, or a failure. */
class CallClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  /** Each call's body and headers, built once. */
  private readonly prepared = new Map<Call, { body: Buffer; headers: Record<string, string> }>();

  call(call: Call): Promise<boolean> {
    let prepared = this.prepared.get(call);
    if (!prepared) {
      const body = Buffer.from(call.body);
      prepared = { body, headers: { ...call.headers, 'content-length': String(body.length) } };
      this.prepared.set(call, prepared);
    }
    const { body, headers } = prepared;
    return new Promise<boolean>((resolve) => {
      const request = httpRequest(call.url, { method: 'POST', agent: this.agent, headers }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve(response.statusCode === 200 && text === call.expectText));
        response.on('error', () => resolve(false));
      });
      request.on('error', () => resolve(false));
      request.end(body);
    });
  }

  /** Ends every request still waiting `GRACE_MS` after `work` should have ended (they count as errors). */
  async within<T>(endsAt: number, work: Promise<T>): Promise<T> {
    const cutOff = setTimeout(() => this.agent.destroy(), Math.max(0, endsAt - performance.now()) + GRACE_MS);
    try {
      return await work;
    } finally {
      clearTimeout(cutOff);
    }
  }

  /** Every fetch of `step`, sequence steps one after another, parallel ones at once; true if all answered right. */
  async run(step: PlanStep): Promise<boolean> {
    if (step.kind === 'fetch') return this.call(step.call);
    if (step.kind === 'parallel') {
      return (await Promise.all(step.steps.map((inner) => this.run(inner)))).every(Boolean);
    }
    let ok = true;
    for (const inner of step.steps) ok = (await this.run(inner)) && ok;
    return ok;
  }

  close(): void {
    this.agent.destroy();
  }
}

function resultOf(latenciesMs: number[], errors: number, durationSeconds: number): LoadResult {
  const sorted = latenciesMs.sort((a, b) => a - b);
  return {
    requests: sorted.length,
    requestsPerSecond: sorted.length / durationSeconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors,
    durationSeconds,
  };
}

/**
 * Closed loop, like autocannon's: `connections` loops each running `step` again as soon as it finished, for
 * `seconds`. One request (iteration) is the whole step, timed from its first send to its last answer.
 */
export async function runStepLoad(
  step: PlanStep,
  options: { connections: number; seconds: number },
): Promise<LoadResult> {
  const client = new CallClient();
  const latenciesMs: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      if (await client.run(step)) latenciesMs.push(performance.now() - sent);
      else errors += 1;
    }
  };
  try {
    await client.within(deadline, Promise.all(Array.from({ length: options.connections }, loop)));
  } finally {
    client.close();
  }
  return resultOf(latenciesMs, errors, (performance.now() - started) / 1000);
}

/**
 * Open loop at a fixed rate: `step` started every 1/`ratePerSecond` s for `seconds`, evenly spaced, whether or
 * not earlier ones have answered (no bursts, no pause when the server is slow); latency from each start to its
 * last answer, in fractions of a millisecond.
 */
export async function runStepAtRate(
  step: PlanStep,
  options: { ratePerSecond: number; seconds: number },
): Promise<LoadResult> {
  const client = new CallClient();
  const latenciesMs: number[] = [];
  let errors = 0;
  const intervalMs = 1000 / options.ratePerSecond;
  const total = Math.max(1, Math.round(options.ratePerSecond * options.seconds));
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  try {
    for (let i = 0; i < total; i++) {
      const wait = started + i * intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const sent = performance.now();
      inFlight.push(
        client.run(step).then((ok) => {
          if (ok) latenciesMs.push(performance.now() - sent);
          else errors += 1;
        }),
      );
    }
    await client.within(performance.now(), Promise.all(inFlight));
  } finally {
    client.close();
  }
  return resultOf(latenciesMs, errors, (total * intervalMs) / 1000);
}
