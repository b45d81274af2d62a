import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalMail, startLocalMail } from './local-mail';
import { Mailer } from './mailer';

let mail: LocalMail;
let mailer: Mailer;
beforeAll(async () => {
  mail = await startLocalMail({ smtpPort: 0, httpPort: 0 });
  mailer = new Mailer({
    host: mail.host,
    port: mail.smtpPort,
    secure: false,
    user: '',
    pass: '',
    from: 'shop@example.com',
    timeoutMs: 2_000,
    maxConnections: 2,
  });
});
afterAll(async () => {
  mailer?.close();
  await mail?.stop();
});

const email = (to: string) => ({ to, subject: `for ${to}`, html: '<p>hi</p>', text: 'hi' });

describe('Mailer: a pool of SMTP connections', () => {
  it('sends many messages over at most maxConnections connections, and reconnects after the server went down', async () => {
    const before = mail.smtpConnections;
    const first = Array.from({ length: 8 }, (_, i) => `pool-${i}@example.com`);
    await Promise.all(first.map((to) => mailer.send(email(to))));
    for (const to of first) expect(mail.to(to)).toHaveLength(1);
    expect(mail.smtpConnections - before).toBeGreaterThanOrEqual(1);
    expect(mail.smtpConnections - before).toBeLessThanOrEqual(2);

    // Reused, not reopened, for the next message.
    const opened = mail.smtpConnections;
    await mailer.send(email('again@example.com'));
    expect(mail.smtpConnections).toBe(opened);

    // The server drops the pooled connections: the next send fails (nothing listens), and once it is back a
    // new connection carries the message.
    await mail.stopSmtp();
    await expect(mailer.send(email('down@example.com'))).rejects.toThrow(/ECONNREFUSED|connect|closed/i);
    await mail.startSmtp();
    await mailer.send(email('back@example.com'));
    expect(mail.to('back@example.com')).toHaveLength(1);
    expect(mail.to('down@example.com')).toHaveLength(0);
    expect(mail.smtpConnections).toBeGreaterThan(opened);
  });
});
