import { randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** One email the sink received, as the web mailbox and the tests read it. */
export interface ReceivedMail {
  id: string;
  from: string;
  /** Every envelope recipient (RCPT TO). */
  to: string[];
  subject: string;
  text: string;
  html: string;
  receivedAt: string;
}

export interface LocalMailOptions {
  /** 0 for a free port. */
  smtpPort: number;
  httpPort: number;
  host?: string;
  /** Delays every accepted message this long before answering (a slow server, for tests). */
  answerDelayMs?: number;
}

/**
 * A stand-in for an SMTP relay in development and tests: accepts any message (and any login), keeps it in
 * memory, and shows it on a small web page (`/`, `/messages/<id>`) and as JSON (`/api/messages`).
 * `stopSmtp()`/`startSmtp()` take the SMTP side down and back up on the same port (the "SMTP down" case).
 */
export class LocalMail {
  readonly messages: ReceivedMail[] = [];
  /** SMTP connections accepted since start (a pooled client reuses its connections). */
  smtpConnections = 0;
  private smtp: SMTPServer | undefined;
  private http: Server | undefined;
  private smtpPortInUse = 0;
  private httpPortInUse = 0;
  answerDelayMs: number;

  constructor(private readonly options: LocalMailOptions) {
    this.answerDelayMs = options.answerDelayMs ?? 0;
  }

  get smtpPort(): number {
    return this.smtpPortInUse;
  }

  get httpPort(): number {
    return this.httpPortInUse;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  async start(): Promise<this> {
    await this.startSmtp();
    this.http = createServer((request, response) =>
      this.serve(request.method ?? 'GET', request.url ?? '/', response),
    );
    await new Promise<void>((resolve, reject) => {
      this.http?.once('error', reject);
      this.http?.listen(this.options.httpPort, this.host, () => resolve());
    });
    this.httpPortInUse = (this.http.address() as AddressInfo).port;
    return this;
  }

  /** Starts accepting mail (again, on the same port once it had one). */
  async startSmtp(): Promise<void> {
    if (this.smtp) return;
    const server = new SMTPServer({
      authOptional: true,
      // Plain SMTP on a local port: no certificate to manage.
      disabledCommands: ['STARTTLS'],
      logger: false,
      // stopSmtp() drops the connections a pooled client keeps open at once (421) instead of after 30 s, so
      // "SMTP down" is down for them too.
      closeTimeout: 50,
      onConnect: (_session, callback) => {
        this.smtpConnections += 1;
        callback();
      },
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anyone' }),
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then(async (parsed) => {
            if (this.answerDelayMs > 0)
              await new Promise((resolve) => setTimeout(resolve, this.answerDelayMs));
            this.messages.push({
              id: randomUUID(),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((recipient) => recipient.address),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              receivedAt: new Date().toISOString(),
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      },
    });
    server.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.smtpPortInUse || this.options.smtpPort, this.host, () => resolve());
    });
    this.smtpPortInUse = (server.server.address() as AddressInfo).port;
    this.smtp = server;
  }

  /** Stops accepting mail: connections are refused until `startSmtp()`. */
  async stopSmtp(): Promise<void> {
    const server = this.smtp;
    this.smtp = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async stop(): Promise<void> {
    await this.stopSmtp();
    const http = this.http;
    this.http = undefined;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }

  /** Messages to `address` (any of the envelope recipients), oldest first. */
  to(address: string): ReceivedMail[] {
    const wanted = address.toLowerCase();
    return this.messages.filter((message) => message.to.some((to) => to.toLowerCase() === wanted));
  }

  private serve(method: string, url: string, response: ServerResponse): void {
    const [status, type, body] = this.answer(method, url.split('?')[0] ?? '/');
    response.writeHead(status, {
      'content-type': `${type}; charset=utf-8`,
      // The page shows untrusted mail: no scripts of its own, the mail's HTML only in a sandboxed frame.
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; img-src data:",
      'x-content-type-options': 'nosniff',
    });
    response.end(body);
  }

  /** [status, content type, body] of a request to the web mailbox. */
  private answer(method: string, path: string): [number, string, string] {
    if (path === '/api/messages' && method === 'GET') {
      return [200, 'application/json', JSON.stringify(this.messages)];
    }
    if (path === '/api/messages' && method === 'DELETE') {
      this.messages.length = 0;
      return [200, 'application/json', '{"ok":true}'];
    }
    if (method !== 'GET') return [405, 'text/plain', 'method not allowed'];
    if (path === '/') return [200, 'text/html', listPage(this.messages)];
    const match = /^\/messages\/([0-9a-f-]{36})$/.exec(path);
    const message = match ? this.messages.find((candidate) => candidate.id === match[1]) : undefined;
    if (message) return [200, 'text/html', messagePage(message)];
    return [404, 'text/plain', 'not found'];
  }
}

/** Starts a sink: SMTP and web mailbox. */
export function startLocalMail(options: LocalMailOptions): Promise<LocalMail> {
  return new LocalMail(options).start();
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );
}

const style =
  'body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%}' +
  'td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}iframe{width:100%;height:60vh;border:1px solid #ccc}' +
  'pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}';

function listPage(messages: readonly ReceivedMail[]): string {
  const rows = [...messages]
    .reverse()
    .map(
      (message) =>
        `<tr><td>${escapeHtml(message.receivedAt)}</td><td>${escapeHtml(message.to.join(', '))}</td>` +
        `<td><a href="/messages/${message.id}">${escapeHtml(message.subject || '(no subject)')}</a></td></tr>`,
    )
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Mailbox (local)</title><style>${style}</style></head>
<body><h1>Mailbox (local)</h1><p>${messages.length} message(s), newest first. Kept in memory until the process stops.</p>
<table><thead><tr><th>Received</th><th>To</th><th>Subject</th></tr></thead><tbody>${rows}</tbody></table></body></html>`;
}

function messagePage(message: ReceivedMail): string {
  // srcdoc + an empty sandbox: the mail's HTML renders without scripts, forms or access to this page.
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(message.subject)}</title><style>${style}</style></head>
<body><p><a href="/">← all messages</a></p><h1>${escapeHtml(message.subject)}</h1>
<p>From ${escapeHtml(message.from)} to ${escapeHtml(message.to.join(', '))} at ${escapeHtml(message.receivedAt)}</p>
<h2>HTML</h2><iframe sandbox="" srcdoc="${escapeHtml(message.html)}"></iframe>
<h2>Text</h2><pre>${escapeHtml(message.text)}</pre></body></html>`;
}
