import type { LocalServices } from '@shop/runtime';
import { type LocalMail, startLocalMail } from './mailbox';

export { LocalMail, type LocalMailOptions, type ReceivedMail, startLocalMail } from './mailbox';

/**
 * The definition's `localServices`: with no SMTP_HOST, a local sink with a web mailbox (ports from
 * MAILBOX_SMTP_PORT / MAILBOX_HTTP_PORT, 1025 / 8025 by default, free ones under NODE_ENV=test); the subgraph is pointed
 * at it. With SMTP_HOST set, nothing starts.
 */
export async function localMailServices(
  env: Record<string, string | undefined>,
): Promise<LocalServices | undefined> {
  if (env.SMTP_HOST) return undefined;
  // Tests (NODE_ENV=test) take free ports unless told otherwise: several test supergraphs may run at once.
  const fallback = env.NODE_ENV === 'test' ? { smtp: 0, http: 0 } : { smtp: 1025, http: 8025 };
  const mail: LocalMail = await startLocalMail({
    smtpPort: Number(env.MAILBOX_SMTP_PORT || fallback.smtp),
    httpPort: Number(env.MAILBOX_HTTP_PORT || fallback.http),
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
