// Child process of the bench: the stand-in for every subgraph in gateway-bound mode. Serves
// `/<subgraph>/graphql`. In record mode it forwards each request to the real subgraph (TARGETS) and remembers the
// answer by (subgraph, request body); after `POST /__replay` it answers only from what it recorded (unknown
// bodies: 502, counted in `GET /__stats`), so the gateways, not the subgraphs, are the bottleneck.
// `GET /__recorded` lists what it recorded, in the order first asked: the subgraph, the request body and the
// answer (the bench replays our gateway's fetches for one query itself as the deep query's direct baseline).
// Env: TARGETS (JSON {name: url}), PORT.
import { createServer, type IncomingMessage } from 'node:http';

interface Recorded {
  status: number;
  contentType: string;
  body: Buffer;
}

const targets = JSON.parse(process.env.TARGETS as string) as Record<string, string>;
const recorded = new Map<string, Recorded>();
let replaying = false;
let misses = 0;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const server = createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.url === '/__replay') {
    replaying = true;
    res.end(JSON.stringify({ recorded: recorded.size }));
    return;
  }
  if (req.url === '/__recorded') {
    const list = [...recorded].map(([key, answer]) => {
      const newline = key.indexOf('\n');
      return {
        subgraph: key.slice(0, newline),
        body: key.slice(newline + 1),
        status: answer.status,
        answer: answer.body.toString('utf8'),
      };
    });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(list));
    return;
  }
  if (req.url === '/__stats') {
    res.end(JSON.stringify({ recorded: recorded.size, misses, replaying }));
    return;
  }
  const name = /^\/([\w-]+)\/graphql$/.exec(req.url ?? '')?.[1] ?? '';
  const key = `${name}\n${body.toString('utf8')}`;
  let answer = recorded.get(key);
  const target = targets[name];
  if (!answer && !replaying && target) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (typeof req.headers.authorization === 'string') headers.authorization = req.headers.authorization;
    const response = await fetch(target, { method: 'POST', headers, body: new Uint8Array(body) });
    answer = {
      status: response.status,
      contentType: response.headers.get('content-type') ?? 'application/json',
      body: Buffer.from(await response.arrayBuffer()),
    };
    if (response.ok) recorded.set(key, answer);
  }
  if (!answer) {
    misses += 1;
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"errors":[{"message":"no recorded answer"}]}');
    return;
  }
  res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': answer.body.length });
  res.end(answer.body);
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT), '127.0.0.1', resolve));
process.stdout.write(`${JSON.stringify({ ready: { url: `http://127.0.0.1:${process.env.PORT}` } })}\n`);
process.on('SIGTERM', () => process.exit(0));
