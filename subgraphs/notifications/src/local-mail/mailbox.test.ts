import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalMail, startLocalMail } from './mailbox';

let mail: LocalMail;
beforeAll(async () => {
  mail = await startLocalMail({ smtpPort: 0, httpPort: 0 });
});
afterAll(async () => {
  await mail.stop();
});

describe('the local SMTP sink and its web mailbox', () => {
  it('accepts any login, keeps the message, lists it and renders its HTML in a sandboxed frame', async () => {
    const transport = nodemailer.createTransport({
      host: mail.host,
      port: mail.smtpPort,
      auth: { user: 'any', pass: 'thing' },
    });
    await transport.sendMail({
      from: 'shop@example.com',
      to: 'someone@example.com',
      subject: 'Hello <there>',
      text: 'plain',
      html: '<p>Hi</p><script>alert(1)</script>',
    });
    transport.close();

    const base = `http://127.0.0.1:${mail.httpPort}`;
    const messages = (await (await fetch(`${base}/api/messages`)).json()) as { id: string; to: string[] }[];
    expect(messages).toEqual([
      expect.objectContaining({ to: ['someone@example.com'], subject: 'Hello <there>', text: 'plain' }),
    ]);
    const list = await (await fetch(base)).text();
    expect(list).toContain('Hello &lt;there&gt;');
    const page = await fetch(`${base}/messages/${messages[0]?.id}`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain('<iframe sandbox="" srcdoc="&lt;p&gt;Hi&lt;/p&gt;&lt;script&gt;');
    expect(html).not.toContain('<script>');
    expect((await fetch(`${base}/messages/00000000-0000-0000-0000-000000000000`)).status).toBe(404);
  });
});
