import type { LocalServices } from '@shop/runtime';
import { type LocalMail, startLocalMail } from './mailbox';

export { LocalMail, type LocalMailOptions, type ReceivedMail, startLocalMail } from './mailbox';

/**
 * The definition's `localServices`: with no SMTP_HOST, a local sink with a web mailbox (ports from
 * MAILBOX_SMTP_PORT / MAILBOX_HTTP_PORT, 1025 / 8025 by default, 0 for free ones); the subgraph is pointed
 * at it. With SMTP_HOST set, nothing starts.
 */
export async function localMailServices(
  env: Record<string, string | undefined>,
): Promise<LocalServices | undefined> {
  if (env.SMTP_HOST) return undefined;
  const mail: LocalMail = await startLocalMail({
    smtpPort: Number(env.MAILBOX_SMTP_PORT ?? 1025),
    httpPort: Number(env.MAILBOX_HTTP_PORT ?? 8025),
  });
  return {
    env: {
      SMTP_HOST: mail.host,
      SMTP_PORT: String(mail.smtpPort),
      SMTP_SECURE: 'false',
      // The ports it really got (tests ask for free ones and read the mailbox from here).
      MAILBOX_SMTP_PORT: String(mail.smtpPort),
      MAILBOX_HTTP_PORT: String(mail.httpPort),
    },
    describe: [`Mailbox (local)           http://localhost:${mail.httpPort}`],
    stop: () => mail.stop(),
  };
}
