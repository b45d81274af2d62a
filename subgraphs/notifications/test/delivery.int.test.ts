import { randomUUID } from 'node:crypto';
import { freePort, sampleOrderPlaced, waitFor } from '@shop/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalMail, startLocalMail } from '../src/local-mail';
import { uniqueEmail, useNotifications } from './support';

// The sink started here (the same module `localServices` runs), so the test can take its SMTP side down,
// slow it, and bring it back. Filled before the subgraph starts (useNotifications reads this object then).
const env: Record<string, string> = {
  NOTIFY_MAX_ATTEMPTS: '3',
  NOTIFY_RETRY_INITIAL_MS: '300',
  NOTIFY_RETRY_MAX_MS: '1000',
  SMTP_TIMEOUT_MS: '1500',
};
let mail: LocalMail;
beforeAll(async () => {
  mail = await startLocalMail({ smtpPort: await freePort(), httpPort: 0 });
  Object.assign(env, {
    SMTP_HOST: mail.host,
    SMTP_PORT: String(mail.smtpPort),
    MAILBOX_HTTP_PORT: String(mail.httpPort),
  });
});
afterAll(async () => {
  await mail?.stop();
});
const notifications = useNotifications({ env });

async function rowOf(eventId: string) {
  return notifications.prisma.notification.findFirst({ where: { eventId } });
}

describe('delivery: status, retries with backoff, admin retry', () => {
  it('SMTP down: retried with backoff, FAILED with retryCount and errorMessage; an admin retry sends it once SMTP is back', async () => {
    await mail.stopSmtp();
    try {
      const data = sampleOrderPlaced({ userEmail: uniqueEmail('down') });
      const event = await notifications.publish('order.placed', data);
      const failed = await waitFor('FAILED after every attempt', async () => {
        const row = await rowOf(event.id);
        return row?.status === 'FAILED' ? row : undefined;
      });
      expect(failed.retryCount).toBe(3);
      expect(failed.errorMessage).toMatch(/ECONNREFUSED|connect/i);
      expect(failed.sentAt).toBeNull();
      expect(mail.to(data.userEmail)).toHaveLength(0);

      await mail.startSmtp();
      const retried = await notifications.post<{
        retryNotification: { id: string; status: string; retryCount: number };
      }>(
        'mutation ($id: ID!) { retryNotification(id: $id) { id status retryCount } }',
        { id: failed.id },
        notifications.adminToken,
      );
      expect(retried.errors).toBeUndefined();
      expect(retried.data?.retryNotification).toMatchObject({
        id: failed.id,
        status: 'PENDING',
        retryCount: 0,
      });
      const sent = await waitFor('SENT after the retry', async () => {
        const row = await rowOf(event.id);
        return row?.status === 'SENT' ? row : undefined;
      });
      expect(sent.sentAt).toBeInstanceOf(Date);
      await waitFor('the email', () => mail.to(data.userEmail).length === 1);
      // Nothing more is sent afterwards.
      expect(mail.to(data.userEmail)).toHaveLength(1);
    } finally {
      await mail.startSmtp();
    }
  });

  it('SMTP back before the attempts are spent: SENT by the automatic retry, its failures counted', async () => {
    await mail.stopSmtp();
    try {
      const data = sampleOrderPlaced({ userEmail: uniqueEmail('flaky') });
      const event = await notifications.publish('order.placed', data);
      await waitFor('a failed attempt', async () => ((await rowOf(event.id))?.retryCount ?? 0) >= 1);
      await mail.startSmtp();
      const sent = await waitFor('SENT', async () => {
        const row = await rowOf(event.id);
        return row?.status === 'SENT' ? row : undefined;
      });
      expect(sent.retryCount).toBeGreaterThanOrEqual(1);
      expect(sent.errorMessage).toBeNull();
      expect(mail.to(data.userEmail)).toHaveLength(1);
    } finally {
      await mail.startSmtp();
    }
  });

  it('a slow SMTP server holds up no consumer: later events are recorded while an email is still on its way', async () => {
    mail.answerDelayMs = 1_000;
    try {
      const first = sampleOrderPlaced({ userEmail: uniqueEmail('slow-1') });
      const firstEvent = await notifications.publish('order.placed', first);
      await waitFor('the first email under way', async () => (await rowOf(firstEvent.id)) !== null);
      const lowStock = await notifications.publish('inventory.low-stock', {
        inventoryId: randomUUID(),
        productId: randomUUID(),
        sku: 'SLOW-1',
        availableQuantity: 1,
        reorderLevel: 5,
        reorderQuantity: 10,
      });
      const second = sampleOrderPlaced({ userEmail: uniqueEmail('slow-2') });
      const secondEvent = await notifications.publish('order.placed', second);
      await waitFor(
        'both later events recorded',
        async () => (await rowOf(lowStock.id)) && (await rowOf(secondEvent.id)),
      );
      // Recorded while the first email was still being accepted by the slow server.
      expect(mail.to(first.userEmail)).toHaveLength(0);
      await waitFor('all three sent', async () => {
        const rows = await notifications.prisma.notification.findMany({
          where: { eventId: { in: [firstEvent.id, lowStock.id, secondEvent.id] } },
        });
        return rows.length === 3 && rows.every((row) => row.status === 'SENT');
      });
    } finally {
      mail.answerDelayMs = 0;
    }
  });
});
